"""A letter of revocation recorded in the system Chromium: the therapist uploads its scan on the
release's page, the release is revoked at once, and the next disclosure is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from babel.dates import format_date
from sqlalchemy import select

from roi.accounts.models import Provider
from roi.clock import now
from roi.consent import gate, lifecycle
from roi.consent.library import FormLibrary
from roi.consent.models import Consent, ConsentStatus
from tests.browser_plugin import sign_in
from tests.consent.conftest import FORMS, identity, signature
from tests.factories import make_client_user, stand_in_documents

pytestmark = pytest.mark.browser

LETTER = b"%PDF-1.7\n" + b"1 0 obj << >> endobj\n" * 5


def test_a_therapist_records_a_letter_of_revocation(
    live_url, page, session, clinician, other_clinician, tmp_path
):
    # Given an active release from the therapist's practice to a psychiatrist elsewhere
    library = FormLibrary.load(FORMS)
    record, person = make_client_user(session, clinician, given_name="Ana", email="ana@x.example")
    recipient = session.scalar(select(Provider).where(Provider.user_id == other_clinician.user.id))
    draft = lifecycle.create(
        session,
        clinician.actor,
        lifecycle.ConsentFields(
            client_id=record.id,
            template_id="general-authorization",
            recipient_provider_id=recipient.id,
            categories=("diagnosis",),
            purposes=("treatment",),
            information_description="Diagnosis and a treatment summary since 2025.",
            expires_on=now().date() + timedelta(days=180),
        ),
        library,
    )
    lifecycle.send_for_signature(
        session, clinician.actor, draft.id, library, invitation_lifetime=timedelta(days=7)
    )
    with stand_in_documents():
        consent = lifecycle.sign_as_client(
            session, person.actor, draft.id, signature(), identity(person), library
        )
    letter = tmp_path / "letter-from-ana.pdf"
    letter.write_bytes(LETTER)
    received_on = now().date()
    # When the therapist records the letter, received today, with its scan
    sign_in(page, live_url, clinician.email, clinician.password)
    page.goto(f"{live_url}/clinician/consents/{consent.id}")
    form = page.locator("section", has=page.get_by_role("heading", name="Record a revocation"))
    form.get_by_label("How it arrived").select_option("letter")
    form.get_by_label("Received on").fill(received_on.isoformat())
    form.get_by_label("Scan of the letter").set_input_files(str(letter))
    form.get_by_label("I understand: from the moment I record it").check()
    with page.expect_navigation():
        form.get_by_role("button", name="Record the revocation").click()
    # Then the page says it is recorded, and the release's history names the letter
    page.get_by_text("The revocation is recorded").wait_for()
    day = format_date(received_on, "long", locale="en")
    assert f"Revocation received by letter on {day}" in page.content()
    assert page.get_by_role("heading", name="Record a revocation").count() == 0
    # And the gate refuses the next disclosure
    session.rollback()
    stored = session.get(Consent, consent.id)
    assert stored.status is ConsentStatus.REVOKED
    assert stored.revocation.received_on == received_on
    decision = gate.decide(
        session,
        library,
        discloser=stored.discloser,
        recipient=stored.recipient,
        client=stored.client,
        categories=["diagnosis"],
        purposes=["treatment"],
        at=now(),
    )
    assert not decision.permitted
