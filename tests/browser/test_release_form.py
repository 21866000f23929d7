"""The release form's live completeness check, in the system Chromium at phone width."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser_plugin import sign_in
from tests.factories import make_client

pytestmark = pytest.mark.browser


def test_missing_elements_update_as_the_clinician_fills_the_form(
    live_url, page, session, clinician, other_clinician
):
    # Given a clinician on a new general release at 375 px
    record = make_client(session, clinician, given_name="Ana")
    page.set_viewport_size({"width": 375, "height": 812})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, live_url, clinician.email, clinician.password)
    page.goto(
        f"{live_url}/clinician/clients/{record.id}/consents/new?template_id=general-authorization"
    )
    live = page.locator(".live-check")
    # Then the live list names what is missing before anything is saved
    live.get_by_text("Give each purpose of the disclosure").wait_for()
    # When a purpose is ticked, that line goes away
    page.locator("input[name='purposes'][value='treatment']").check()
    # (a locator assertion waits from Playwright's own world: wait_for_function would compile its
    # predicate inside the page, which roi's CSP forbids)
    expect(live).not_to_contain_text("Give each purpose")
    assert "Choose who may receive" in live.text_content()
    assert not [e for e in errors if "Content Security Policy" in e]
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
