"""In a real browser, the right person signs: a 12-year-old in Washington is not offered to sign
their own release, and the form says why; the parent signs. (A post by the wrong person anyway
is refused naming the rule: tests/web/test_signers_web.py.)"""

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


def test_the_portal_offers_a_minor_no_signature_of_their_own_and_takes_the_parents(
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
    # When the release is opened to sign
    sign_in(page, live_url, person.email, person.password)
    page.goto(f"{live_url}/portal/consents/{draft.id}")
    # Then signing as the client is not offered, and the form names the rule
    assert page.get_by_label("I am the client", exact=True).count() == 0
    rule = page.locator("[data-required-signer=representative]")
    assert "164.502(g)(3)" in rule.inner_text()
    assert "RCW 26.28.010" in rule.inner_text()
    # And the parent's signature is taken (the box for their authority is open already)
    page.get_by_label("I am the client's parent").check()
    page.get_by_label("Your authority to sign for the client").fill("Mother of Mia, who is 12")
    page.get_by_label("Type your full name").fill("Ana Avery")
    page.locator("input[name=agree]").check()
    with stand_in_documents():
        page.get_by_role("button", name="Sign", exact=True).click()
        page.get_by_text("Your release is signed and active").wait_for()
    session.rollback()
    assert session.get(Consent, draft.id).status is ConsentStatus.ACTIVE
