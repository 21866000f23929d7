"""The release form's live completeness check, and long names on the pages around it, in the
system Chromium at phone width."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from roi.accounts import service
from roi.accounts.models import PasskeyCredential
from tests.authenticator import add_passkey
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


def test_long_names_and_addresses_wrap_on_a_phone(live_url, page, session, clinician):
    # Given a client with a long family name and address, and a passkey with a long name
    record = make_client(
        session,
        clinician,
        given_name="Maximiliana",
        family_name="Wolfeschlegelsteinhausenbergerdorff",
        email="maximiliana.wolfeschlegelsteinhausen@counseling-example.org",
    )
    service.add_provider(
        session,
        clinician.actor,
        service.NewProvider(
            "Bartholomew Wolfeschlegelsteinhausenbergerdorff",
            "MD",
            "Northwestern Interdisciplinary Neuropsychiatric Associates",
            "1 Lake St",
            "bartholomew.wolfeschlegelsteinhausen@neuropsychiatric-example.org",
        ),
    )
    add_passkey(session, clinician.user.id)
    session.execute(update(PasskeyCredential).values(name="Workstation" + "FrontDesk" * 8))
    session.commit()
    page.set_viewport_size({"width": 375, "height": 812})
    sign_in(page, live_url, clinician.email, clinician.password)
    # Then the pages that show them wrap them: nothing is wider than the phone
    pages = ("/clinician/clients", f"/clinician/clients/{record.id}", "/clinician/directory")
    for path in (*pages, "/account/passkeys"):
        page.goto(live_url + path)
        assert "Wolfeschlegel" in page.content() or path not in pages
        width = page.evaluate("document.documentElement.scrollWidth")
        wide = page.evaluate(WIDER_THAN_THE_SCREEN) if width > 375 else []
        assert width <= 375, f"{path} is {width} px wide on a 375 px phone: {wide}"


#: the innermost elements reaching past the screen's right edge, for the assertion's message
WIDER_THAN_THE_SCREEN = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > innerWidth
    && ![...e.children].some(c => c.getBoundingClientRect().right > innerWidth))
  .slice(0, 5).map(e => e.tagName + '.' + e.className + ': ' + e.textContent.slice(0, 40))"""
