"""A forgotten password in a real browser: "Forgot your password?", the emailed link, a new
password, and signing in with it (SECURITY A7)."""

from __future__ import annotations

import re

import pytest

from tests.browser_plugin import sign_in
from tests.helpers import delivered_mail

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LINK = re.compile(r"https://roi\.example\.test(/password-reset/[A-Za-z0-9_\-]+)")
NEW_PASSWORD = "amber lantern quietly folding"


def test_a_clinician_resets_a_forgotten_password(app, live_url, page, clinician):
    # Given the sign-in page, When the clinician follows "Forgot your password?"
    page.goto(f"{live_url}/login")
    with page.expect_navigation():
        page.get_by_role("link", name="Forgot your password?").click()
    # And asks for a link
    page.get_by_label("Email").fill(clinician.email)
    with page.expect_navigation():
        page.get_by_role("button", name="Send the link").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Check your email"
    # Then a mail brings a link on the public base URL
    (mail,) = [m for m in delivered_mail(app) if m["To"] == clinician.email]
    match = LINK.search(mail.get_content())
    assert match
    # When they open it and choose a new password
    page.goto(f"{live_url}{match.group(1)}")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Set the password").click()
    # Then they are asked to sign in (not signed in by the link), and the new password works
    assert page.url == f"{live_url}/login"
    assert "Sign in" in page.content()
    sign_in(page, live_url, clinician.email, NEW_PASSWORD)
    assert page.url == f"{live_url}/clinician/"
    # And the link is dead now
    response = page.goto(f"{live_url}{match.group(1)}")
    assert response is not None
    assert response.status == 400
