"""In a real browser, roi refuses a signature by the wrong person: a 12-year-old in Washington
cannot sign their own release; the parent can. The refusal names the rule."""

from __future__ import annotations

import pytest

from roi.actor import Role
from roi.clock import now
from roi.consent import representation
from roi.consent.models import Consent, ConsentStatus
from tests.browser_plugin import sign_in
from tests.factories import (
    make_client_user,
    make_user,
    release_waiting_for_signature,
    stand_in_documents,
)

pytestmark = [pytest.mark.browser]


def test_the_portal_refuses_a_minor_signing_alone_and_takes_the_parents_signature(
    page, live_url, session, clinician
):
    # Given a Washington practice, a client who is 12 and a release waiting for a signature
    admin = make_user(session, Role.ADMIN, name="Alex Morgan")
    representation.set_practice_state(session, admin.actor, "WA")
    today = now().date()
    record, person = make_client_user(
        session, clinician, given_name="Mia", birth_date=today.replace(year=today.year - 12, day=1)
    )
    draft = release_waiting_for_signature(session, clinician, record)
    # When the child signs as the client
    sign_in(page, live_url, person.email, person.password)
    page.goto(f"{live_url}/portal/consents/{draft.id}")
    page.get_by_label("Type your full name").fill("Mia Avery")
    page.get_by_label("I am the client", exact=True).check()
    page.locator("input[name=agree]").check()
    page.get_by_role("button", name="Sign", exact=True).click()
    # Then roi refuses, naming the rule at the top of the page
    refusal = page.get_by_role("alert").get_by_text("The client cannot sign this release alone")
    refusal.wait_for()
    assert "164.502(g)(3)" in page.content()
    assert "RCW 26.28.010" in page.content()
    session.rollback()
    assert session.get(Consent, draft.id).status is ConsentStatus.PENDING_SIGNATURE
    # And the parent's signature is taken
    page.get_by_label("I am the client's parent").check()
    page.locator("details.representative").evaluate("d => d.open = true")
    page.get_by_label("Your authority to sign for the client").fill("Mother of Mia, who is 12")
    page.get_by_label("Type your full name").fill("Ana Avery")
    page.locator("input[name=agree]").check()
    with stand_in_documents():
        page.get_by_role("button", name="Sign", exact=True).click()
        page.get_by_text("Your release is signed and active").wait_for()
    session.rollback()
    assert session.get(Consent, draft.id).status is ConsentStatus.ACTIVE
