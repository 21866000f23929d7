"""In-office signing in a real browser: the clinician hands their screen to the client, who sees
only the release (no navigation), confirms their date of birth, draws and signs; the clinician
takes the screen back with their password and an authenticator code, after a minute without a
touch has locked it (static/js/device.js, with the page's clock and the server's moved on)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from roi.clock import now
from roi.consent.models import Consent, ConsentStatus
from tests.browser.test_sign_flow import draw_signature
from tests.browser_plugin import LIVE_APPS, sign_in
from tests.factories import stand_in_documents
from tests.helpers import totp_code
from tests.web.test_device_signing import pending

pytestmark = [pytest.mark.browser]

BIRTH_DATE = date(1984, 7, 9)


def test_a_client_signs_on_the_clinicians_device_and_the_clinician_takes_it_back(
    page, live_url, session, clinician, tmp_path
):
    consent = pending(session, clinician, given_name="Noor", birth_date=BIRTH_DATE)
    problems: list[str] = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.clock.install()
    # The clinician opens the release and hands the device to the client
    sign_in(page, live_url, clinician.email, clinician.password)
    page.goto(f"{live_url}/clinician/consents/{consent.id}")
    with page.expect_navigation():
        page.get_by_role("button", name="Hand to client").click()
    assert page.url == f"{live_url}/device"
    assert page.locator("nav").count() == 0
    assert clinician.user.name not in page.content()
    # Typing another address leads back to the device view
    page.goto(f"{live_url}/clinician/")
    assert page.url == f"{live_url}/device"
    # The client confirms their date of birth, reads, draws and signs
    page.get_by_label("Your date of birth", exact=True).fill(BIRTH_DATE.isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Sign this release")).to_be_visible()
    expect(page.locator("canvas.pad")).to_be_visible()
    page.screenshot(path=str(tmp_path / "device-sign.png"))
    page.get_by_label("Type your full name").fill("Noor Haddad")
    draw_signature(page)
    page.get_by_label(re.compile("I agree to sign this form electronically")).check()
    with stand_in_documents(), page.expect_navigation():
        page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("heading", name="Thank you, the release is signed")).to_be_visible()
    # A minute without a touch locks the screen: only the hand-back is offered
    with time_machine.travel(now() + timedelta(seconds=61)), page.expect_navigation():
        page.clock.run_for(61_000)
    expect(page.get_by_role("heading", name="This screen is locked")).to_be_visible()
    page.screenshot(path=str(tmp_path / "device-locked.png"))
    page.goto(f"{live_url}/clinician/")
    assert page.url == f"{live_url}/device"
    # The clinician takes the device back with their password and a code
    with page.expect_navigation():
        page.get_by_role("link", name="Hand back to clinician").first.click()
    page.get_by_label("Clinician's password").fill(clinician.password)
    page.get_by_label("Code from the authenticator app").fill(
        totp_code(LIVE_APPS[live_url], clinician.email)  # type: ignore[arg-type]
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Take the device back").click()
    assert page.url == f"{live_url}/clinician/consents/{consent.id}"
    assert "You have the device back." in page.content()
    expect(page.locator("nav.primary-nav")).to_be_visible()
    session.rollback()
    stored = session.get(Consent, consent.id)
    assert stored.status is ConsentStatus.ACTIVE
    assert stored.signature.identity_method == "in_person"
    assert not [p for p in problems if "Content Security Policy" in p]
