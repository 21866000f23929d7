"""Stored and reflected XSS in a real browser (SECURITY D5): no dialog ever opens, and no
element of the hostile names exists in the page."""

from __future__ import annotations

import pytest

from roi.actor import Role
from tests.browser_plugin import sign_in
from tests.factories import make_client, make_provider, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCRIPT = '"><script>alert(1)</script>'
IMG = "<img src=x onerror=alert(2)>"
PROVIDER = '"><script>alert(3)</script><img src=x onerror=alert(4)>'
SEARCH = "<img src=x onerror=alert(5)>"


def test_hostile_names_open_no_dialog(live_url, page, session):
    # Given a client and a directory entry whose names are script and an onerror image
    clinician = make_user(session, Role.CLINICIAN, name="<script>alert(6)</script>")
    stored = make_client(session, clinician, given_name=SCRIPT, family_name=IMG)
    make_provider(session, clinician, name=PROVIDER)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, live_url, clinician.email, clinician.password)
    # When the clinician opens the client list, the client, the directory and a directory search
    for url in (
        "/clinician/clients",
        f"/clinician/clients/{stored.id}",
        "/clinician/directory",
        f"/clinician/directory?q={SEARCH}",
    ):
        page.goto(f"{live_url}{url}")
        page.wait_for_load_state("load")
        # Then the names are shown as text
        body = page.locator("main").inner_text()
        assert "alert(" in body, url
        # And none of their markup became an element
        assert page.locator("main script, main img").count() == 0, url
        assert page.evaluate("document.scripts.length") == 0, url
    # And no dialog ever opened: a page's load waits for its scripts and its images' error
    # handlers, and an open dialog holds the load until the handler above dismisses it, so each
    # goto has seen any dialog before it returned
    assert dialogs == []
