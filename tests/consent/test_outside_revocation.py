"""Revocations received outside roi (letter, fax, email, in person, phone), recorded by staff of
the disclosing practice: effective when recorded; disclosures made between the day it arrived
and the recording are listed for compliance (SECURITY E10)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine
from sqlalchemy import select

from roi import vault
from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.clock import now
from roi.compliance import overview
from roi.consent import gate, lifecycle
from roi.consent.models import ConsentStatus, OutsideMethod
from roi.documents.attachments import Upload
from roi.errors import Forbidden, Invalid, NotFound, WrongState
from roi.mail import outbox
from roi.mail.models import OutboxItem
from roi.messaging import service
from tests.consent.conftest import CALIFORNIA, TOKYO, in_california, practice_in
from tests.factories import make_user
from tests.messaging.test_send import outgoing

SCAN = Upload("letter.pdf", "application/pdf", b"%PDF-1.7\n" + b"1 0 obj << >> endobj\n" * 5)


def received(days_ago: int = 0, **changes: object) -> lifecycle.ReceivedRevocation:
    values: dict[str, object] = {
        "method": OutsideMethod.LETTER,
        "received_on": now().date() - timedelta(days=days_ago),
        "document": SCAN,
    }
    values.update(changes)
    return lifecycle.ReceivedRevocation(**values)  # type: ignore[arg-type]


def decision(session, referral, consent):
    return gate.decide(
        session,
        referral.library,
        discloser=consent.discloser,
        recipient=consent.recipient,
        client=consent.client,
        categories=["diagnosis"],
        purposes=["treatment"],
        at=now(),
    )


def test_a_letter_received_two_days_ago_stops_disclosures_when_recorded(session, referral):
    # E10. Given a release signed a week ago and used three days ago and yesterday
    start = now()
    with time_machine.travel(start - timedelta(days=7), tick=False):
        consent = referral.signed(session)
    with time_machine.travel(start - timedelta(days=3), tick=False):
        before_receipt = service.send(
            session, referral.therapist.actor, referral.library, outgoing(referral)
        )
    with time_machine.travel(start - timedelta(days=1), tick=False):
        after_receipt = service.send(
            session, referral.therapist.actor, referral.library, outgoing(referral)
        )
    assert decision(session, referral, consent).permitted
    # When the therapist records a letter of revocation received two days ago, with its scan
    letter = received(2)
    revoked = lifecycle.record_revocation(session, referral.therapist.actor, consent.id, letter)
    # Then the gate denies from the recording on, naming the revocation
    assert revoked.status_at(now()) is ConsentStatus.REVOKED
    denied = decision(session, referral, consent)
    assert not denied.permitted
    assert "consent_revoked" in [r.code for r in denied.reasons]
    # And the revocation keeps how it arrived, the day, who recorded it and the sealed scan
    revocation = revoked.revocation
    assert revocation.method == "letter"
    assert revocation.received_on == letter.received_on
    assert revocation.revoked_by_id == referral.therapist.user.id
    assert revocation.document_sealed is not None
    assert SCAN.content not in revocation.document_sealed
    place = vault.Place("consent_revocations", "document_sealed", revocation.uuid)
    assert vault.open_sealed(revocation.document_sealed, place) == SCAN.content
    # And compliance sees the disclosure made after the letter arrived, not the one before
    officer = make_user(session, Role.COMPLIANCE)
    listed = overview.disclosures_before_recording(session, officer.actor)
    assert [row.message_id for row in listed] == [after_receipt.id]
    assert before_receipt.id not in [row.message_id for row in listed]
    assert listed[0].received_on == revocation.received_on
    assert listed[0].method == "letter"
    # And the step is audited with its method and day
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.CONSENT_REVOKED)
    ).one()
    assert entry.actor_id == referral.therapist.user.id
    assert entry.detail == {"method": "letter", "received_on": revocation.received_on.isoformat()}


def test_the_days_entered_are_read_on_the_practices_calendar(session, referral):
    # Given a practice in California, and a release the client signed at 7 p.m. there (the next
    # day in UTC)
    in_california(session, referral)
    evening = datetime.combine(now().date() + timedelta(days=2), time(19), tzinfo=CALIFORNIA)
    with time_machine.travel(evening, tick=False):
        consent = referral.signed(session)
    # When, an hour later, the therapist records the client's call of that evening
    with time_machine.travel(evening + timedelta(hours=1), tick=False):
        call = received(method=OutsideMethod.PHONE, received_on=evening.date(), document=None)
        revoked = lifecycle.record_revocation(session, referral.therapist.actor, consent.id, call)
    # Then it is taken (not "signed after that day", not "in the future")
    assert revoked.status is ConsentStatus.REVOKED


def test_a_letter_received_this_morning_east_of_utc_is_not_in_the_future(session, referral):
    # Given a practice in Tokyo, half an hour into a day that has not begun in UTC
    practice_in(session, referral, TOKYO)
    morning = datetime.combine(now().date() + timedelta(days=2), time(0, 30), tzinfo=TOKYO)
    with time_machine.travel(morning - timedelta(days=1), tick=False):
        consent = referral.signed(session)
    with time_machine.travel(morning, tick=False):
        # When a letter that arrived this morning is recorded
        letter = received(received_on=morning.date())
        revoked = lifecycle.record_revocation(session, referral.therapist.actor, consent.id, letter)
        # Then it is taken; tomorrow there still is the future
        assert revoked.status is ConsentStatus.REVOKED
        other = referral.signed(session)
        with pytest.raises(Invalid) as refused:
            lifecycle.record_revocation(
                session,
                referral.therapist.actor,
                other.id,
                received(received_on=morning.date() + timedelta(days=1)),
            )
        assert set(refused.value.fields) == {"received_on"}


def test_compliance_sees_what_was_sent_since_the_letters_day_began_where_the_practice_is(
    session, referral
):
    # Given a practice in Tokyo and a release signed yesterday there
    practice_in(session, referral, TOKYO)
    morning = datetime.combine(now().date() + timedelta(days=2), time(0, 30), tzinfo=TOKYO)
    with time_machine.travel(morning - timedelta(days=1), tick=False):
        consent = referral.signed(session)
    # When a message goes out half an hour into the day (the day before, in UTC) and a letter
    # that arrived that morning is recorded at nine
    with time_machine.travel(morning, tick=False):
        early = service.send(
            session, referral.therapist.actor, referral.library, outgoing(referral)
        )
    with time_machine.travel(morning + timedelta(hours=8, minutes=30), tick=False):
        letter = received(received_on=morning.date())
        lifecycle.record_revocation(session, referral.therapist.actor, consent.id, letter)
    # Then compliance sees the message: it left on the day the letter was in the practice's hands
    officer = make_user(session, Role.COMPLIANCE)
    listed = overview.disclosures_before_recording(session, officer.actor)
    assert [row.message_id for row in listed] == [early.id]


def test_what_was_sent_the_evening_before_the_letters_day_is_not_listed(session, referral):
    # Given a practice in California and a release signed two days ago there
    in_california(session, referral)
    evening = datetime.combine(now().date() + timedelta(days=2), time(20), tzinfo=CALIFORNIA)
    with time_machine.travel(evening - timedelta(days=2), tick=False):
        consent = referral.signed(session)
    # When a message goes out at 8 p.m. (already the next day in UTC), and a letter that arrived
    # the next morning is recorded that day
    with time_machine.travel(evening, tick=False):
        service.send(session, referral.therapist.actor, referral.library, outgoing(referral))
    with time_machine.travel(evening + timedelta(hours=14), tick=False):
        letter = received(received_on=evening.date() + timedelta(days=1))
        lifecycle.record_revocation(session, referral.therapist.actor, consent.id, letter)
    # Then compliance is not told it went out after the letter arrived: it did not
    officer = make_user(session, Role.COMPLIANCE)
    assert overview.disclosures_before_recording(session, officer.actor) == []


def test_compliance_of_the_practice_may_record_one(session, referral):
    consent = referral.signed(session)
    officer = make_user(session, Role.COMPLIANCE)
    revoked = lifecycle.record_revocation(
        session, officer.actor, consent.id, received(method=OutsideMethod.FAX, document=None)
    )
    assert revoked.revocation.method == "fax"
    assert revoked.revocation.revoked_by_id == officer.user.id


def test_a_phone_call_stops_disclosures_and_asks_the_client_to_write(session, referral):
    consent = referral.signed(session)
    pending = session.scalar(select(OutboxItem.id).order_by(OutboxItem.id.desc()).limit(1)) or 0
    lifecycle.record_revocation(
        session,
        referral.therapist.actor,
        consent.id,
        received(0, method=OutsideMethod.PHONE, document=None, reason="Moving away"),
    )
    assert not decision(session, referral, consent).permitted
    queued = [
        outbox._open(item.uuid, item.message_sealed)
        for item in session.scalars(select(OutboxItem).where(OutboxItem.id > pending))
    ]
    to_client = [m for m in queued if m.to == "jordan@client.example"]
    assert len(to_client) == 1
    text = to_client[0].subject + to_client[0].text
    assert "confirm" in text
    assert "in writing" in text
    # no PHI: neither the client's name, nor the recipient, nor what the release covered
    for phi in ("Jordan", "Avery", "Okafor", "diagnosis", "Moving away"):
        assert phi not in text


# Each case's fields are made when the test runs: "tomorrow" is tomorrow then, not when the suite
# was collected (a run can cross midnight).
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (lambda: {"received_on": now().date() + timedelta(days=1)}, "received_on"),
        (
            lambda: {"document": Upload("letter.pdf", "application/pdf", b"MZ\x90\x00 not a pdf")},
            "document",
        ),
        (lambda: {"document": Upload("letter.txt", "text/plain", b"I revoke")}, "document"),
        (lambda: {"reason": "x" * 1001}, "reason"),
    ],
)
def test_refusals_name_the_field(session, referral, changes, field):
    consent = referral.signed(session)
    with pytest.raises(Invalid) as refused:
        lifecycle.record_revocation(
            session, referral.therapist.actor, consent.id, received(**changes())
        )
    assert field in refused.value.fields
    assert session.get(type(consent), consent.id).status is ConsentStatus.ACTIVE


def test_only_the_disclosing_practice_records_one(session, referral):
    consent = referral.signed(session)
    # the recipient psychiatrist sees the active release but did not receive the letter
    with pytest.raises(NotFound):
        lifecycle.record_revocation(session, referral.psychiatrist.actor, consent.id, received())
    elsewhere = make_user(session, Role.COMPLIANCE, org="Northgate Psychiatry")
    with pytest.raises(NotFound):
        lifecycle.record_revocation(session, elsewhere.actor, consent.id, received())
    with pytest.raises(Forbidden):
        lifecycle.record_revocation(session, referral.client_person.actor, consent.id, received())
    assert session.get(type(consent), consent.id).status is ConsentStatus.ACTIVE


def test_a_revoked_release_cannot_be_revoked_again(session, referral):
    consent = referral.signed(session)
    lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
    with pytest.raises(WrongState):
        lifecycle.record_revocation(session, referral.therapist.actor, consent.id, received())


def test_the_letter_confirming_a_phone_call_completes_it(session, referral):
    # Given a release revoked by phone, awaiting the client's letter
    consent = referral.signed(session)
    called = lifecycle.record_revocation(
        session,
        referral.therapist.actor,
        consent.id,
        received(method=OutsideMethod.PHONE, document=None),
    )
    revoked_at = called.revoked_at
    officer = make_user(session, Role.COMPLIANCE)
    awaiting = overview.phone_revocations_awaiting_confirmation(session, officer.actor)
    assert [row.consent_id for row in awaiting] == [consent.id]
    # When the letter arrives and is recorded with its scan
    confirmed = lifecycle.record_revocation(
        session, officer.actor, consent.id, received(method=OutsideMethod.LETTER)
    )
    # Then the revocation keeps the time of the call, and is confirmed
    revocation = confirmed.revocation
    assert confirmed.revoked_at == revoked_at
    assert revocation.method == "phone"
    assert revocation.confirmed_on == now().date()
    assert revocation.document_content_type == "application/pdf"
    assert overview.phone_revocations_awaiting_confirmation(session, officer.actor) == []
    assert (
        session.scalars(
            select(AuditEntry).where(AuditEntry.action == Action.CONSENT_REVOCATION_CONFIRMED)
        )
        .one()
        .consent_id
        == consent.id
    )
    # And nothing more can be recorded on it
    with pytest.raises(WrongState):
        lifecycle.record_revocation(session, officer.actor, consent.id, received())
