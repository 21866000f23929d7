"""Expiration events roi sees itself (issue 12 item 8): a release that permits one disclosure,
and releases that end with the client's discharge."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine
from sqlalchemy import select

from roi.actor import Role
from roi.audit import AuditEntry
from roi.clock import now
from roi.compliance import overview
from roi.consent import lifecycle
from roi.consent.models import ConsentStatus, ExpiryEventKind
from roi.errors import ConsentRequired, Invalid, NotFound, WrongState
from roi.messaging import service
from tests.consent.conftest import TOKYO, practice_in
from tests.factories import make_user
from tests.helpers import login_as

ONCE = ExpiryEventKind.AFTER_FIRST_DISCLOSURE
END = ExpiryEventKind.END_OF_TREATMENT
COURT_CASE = "the end of the court case"


def outgoing(referral) -> service.Outgoing:
    return service.Outgoing(
        client_id=referral.client_id,
        recipient_provider_id=referral.recipient_id,
        categories=("diagnosis",),
        purpose="treatment",
        subject="Referral",
        body="Summary attached.",
    )


def send(session, referral):
    return service.send(session, referral.therapist.actor, referral.library, outgoing(referral))


def test_a_release_for_one_disclosure_is_worded_and_permits_exactly_one(session, referral):
    # Given a release that lasts until it has been shared once, with no date
    consent = referral.signed(session, expiry_event_kind=ONCE, expires_on=None)
    assert consent.expiry_event == "once the information has been sent to Samuel Okafor one time"
    # When the therapist sends twice
    first = send(session, referral)
    with pytest.raises(ConsentRequired) as refused:
        send(session, referral)
    # Then the first went out under it, the second is refused because it expired with the first
    assert first.consent_id == consent.id
    assert [(r["code"], r["consent_id"]) for r in refused.value.reasons] == [
        ("consent_expired", consent.id)
    ]
    session.refresh(consent)
    assert consent.status_at(now()) is ConsentStatus.EXPIRED
    assert consent.expired_at == first.sent_at
    expired = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "consent.expired")
    ).all()
    assert [(e.consent_id, e.message_id) for e in expired] == [(consent.id, first.id)]


def test_an_ordinary_release_is_not_used_up(session, referral):
    referral.signed(session)
    send(session, referral)
    send(session, referral)


def test_discharge_ends_exactly_the_releases_that_last_until_the_end_of_treatment(
    session, referral
):
    # Given two releases until the end of treatment, one until another event, one with a date
    ending = [referral.signed(session, expiry_event_kind=END, expires_on=None) for _ in range(2)]
    other = referral.signed(session, expiry_event=COURT_CASE, expires_on=None)
    dated = referral.signed(session)
    pending = referral.sent(session, expiry_event_kind=END, expires_on=None)
    assert ending[0].expiry_event == "the end of your treatment with Riverside Counseling"
    assert other.expiry_event_kind is ExpiryEventKind.OTHER
    # When the therapist records the discharge
    today = now().date()
    expired = lifecycle.record_discharge(
        session, referral.therapist.actor, referral.client_id, today
    )
    # Then exactly those two expired, at once, on that day; the others are untouched
    assert expired == [c.id for c in ending]
    for consent in ending:
        session.refresh(consent)
        assert consent.status_at(now()) is ConsentStatus.EXPIRED
        assert consent.expiry_event_occurred_on == today
    for consent in (other, dated):
        session.refresh(consent)
        assert consent.status_at(now()) is ConsentStatus.ACTIVE
    session.refresh(pending)
    assert pending.status is ConsentStatus.PENDING_SIGNATURE
    assert pending.client.discharged_on == today
    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.client_id == referral.client_id)
        .order_by(AuditEntry.seq)
    ).all()
    assert actions.count("consent.expired") == 2
    assert actions[-1] == "client.discharged"


def test_discharge_is_refused_in_the_future_and_outside_the_practice(session, referral):
    with pytest.raises(Invalid) as future:
        lifecycle.record_discharge(
            session, referral.therapist.actor, referral.client_id, now().date() + timedelta(1)
        )
    assert set(future.value.fields) == {"on"}
    with pytest.raises(NotFound):
        lifecycle.record_discharge(
            session, referral.psychiatrist.actor, referral.client_id, now().date()
        )


def test_a_discharge_this_morning_east_of_utc_is_not_in_the_future(session, referral):
    # Given a practice in Tokyo, half an hour into a day that has not begun in UTC
    practice_in(session, referral, TOKYO)
    morning = datetime.combine(now().date() + timedelta(days=3), time(0, 30), tzinfo=TOKYO)
    with time_machine.travel(morning - timedelta(days=1), tick=False):
        ending = referral.signed(session, expiry_event_kind=END, expires_on=None)
    with time_machine.travel(morning, tick=False):
        # When the therapist records that treatment ended today there, it is taken
        expired = lifecycle.record_discharge(
            session, referral.therapist.actor, referral.client_id, morning.date()
        )
    assert expired == [ending.id]


def test_an_event_this_morning_east_of_utc_is_not_in_the_future(session, referral):
    # Given a practice in Tokyo and a release until another event, half an hour into a day
    # that has not begun in UTC
    practice_in(session, referral, TOKYO)
    morning = datetime.combine(now().date() + timedelta(days=3), time(0, 30), tzinfo=TOKYO)
    with time_machine.travel(morning - timedelta(days=1), tick=False):
        consent = referral.signed(session, expiry_event=COURT_CASE, expires_on=None)
    with time_machine.travel(morning, tick=False):
        # When the therapist records that the event happened today there, it is taken
        ended = lifecycle.record_expiry_event(
            session, referral.therapist.actor, consent.id, morning.date()
        )
        assert ended.expiry_event_occurred_on == morning.date()
        # And tomorrow there is still the future
        other = referral.signed(session, expiry_event=COURT_CASE, expires_on=None)
        with pytest.raises(Invalid) as refused:
            lifecycle.record_expiry_event(
                session, referral.therapist.actor, other.id, morning.date() + timedelta(days=1)
            )
    assert set(refused.value.fields) == {"occurred_on"}


def test_a_release_written_the_morning_after_a_discharge_east_of_utc_can_be_signed(
    session, referral
):
    # Given a practice in Tokyo that recorded yesterday that treatment ended yesterday
    practice_in(session, referral, TOKYO)
    morning = datetime.combine(now().date() + timedelta(days=3), time(8), tzinfo=TOKYO)
    yesterday = morning.date() - timedelta(days=1)
    with time_machine.travel(morning - timedelta(hours=12), tick=False):
        lifecycle.record_discharge(session, referral.therapist.actor, referral.client_id, yesterday)
    # When the client comes back this morning (still yesterday in UTC) and a release until the
    # end of the new treatment is written and signed
    with time_machine.travel(morning, tick=False):
        waiting = referral.sent(session, expiry_event_kind=END, expires_on=None)
        signed = referral.sign(session, waiting)
    # Then it is active: it was written after the discharge, on a later day there
    assert signed.status is ConsentStatus.ACTIVE


def test_a_release_whose_end_came_while_it_waited_cannot_be_signed(session, referral):
    # Given a release until the end of treatment, waiting for the client's signature
    waiting = referral.sent(session, expiry_event_kind=END, expires_on=None)
    # When the discharge is recorded before the client signs
    today = now().date()
    lifecycle.record_discharge(session, referral.therapist.actor, referral.client_id, today)
    # Then it cannot be signed: it would permit disclosures after treatment ended
    with pytest.raises(WrongState, match=f"treatment ended on {today.isoformat()}"):
        referral.sign(session, waiting)
    session.rollback()
    session.refresh(waiting)
    assert waiting.status is ConsentStatus.PENDING_SIGNATURE


def test_a_release_written_before_a_discharge_recorded_late_cannot_be_signed(session, referral):
    start = now()
    # Given a release until the end of treatment written two days after treatment ended
    with time_machine.travel(start - timedelta(days=3), tick=False):
        waiting = referral.sent(session, expiry_event_kind=END, expires_on=None)
    # When the discharge is recorded today, as of five days ago
    ended_on = (start - timedelta(days=5)).date()
    lifecycle.record_discharge(session, referral.therapist.actor, referral.client_id, ended_on)
    # Then the release can no longer be signed: it would permit after treatment ended
    with pytest.raises(WrongState, match=f"treatment ended on {ended_on.isoformat()}"):
        referral.sign(session, waiting)


def test_a_release_whose_end_date_passed_while_it_waited_cannot_be_signed(session, referral):
    ends = now().date() + timedelta(days=3)
    waiting = referral.sent(session, expires_on=ends)
    with (
        time_machine.travel(now() + timedelta(days=3), tick=False),
        pytest.raises(WrongState, match=f"it ended on {ends.isoformat()}"),
    ):
        referral.sign(session, waiting)
    session.rollback()
    session.refresh(waiting)
    assert waiting.status is ConsentStatus.PENDING_SIGNATURE


def test_a_release_written_after_a_discharge_is_signed_for_the_new_course_of_treatment(
    session, referral
):
    # Given a client discharged some weeks ago who came back for care
    lifecycle.record_discharge(
        session, referral.therapist.actor, referral.client_id, now().date() - timedelta(days=30)
    )
    # When a new release until the end of treatment is written and signed, then it is active
    signed = referral.signed(session, expiry_event_kind=END, expires_on=None)
    assert signed.status is ConsentStatus.ACTIVE


def test_compliance_sees_disclosures_made_after_the_end_event_before_it_was_recorded(
    client, session, referral
):
    start = now()
    # Given a release until the end of treatment, and one used up by its one disclosure
    with time_machine.travel(start - timedelta(days=10), tick=False):
        ending = referral.signed(session, expiry_event_kind=END, expires_on=None)
    with time_machine.travel(start - timedelta(days=5), tick=False):
        before_discharge = send(session, referral)
    with time_machine.travel(start - timedelta(days=2), tick=False):
        after_discharge = send(session, referral)
    # When the discharge of three days ago is recorded today
    discharged_on = (start - timedelta(days=3)).date()
    lifecycle.record_discharge(session, referral.therapist.actor, referral.client_id, discharged_on)
    referral.signed(session, expiry_event_kind=ONCE, expires_on=None)
    used = send(session, referral)
    # Then compliance sees the disclosure made after the discharge day, and only that one
    officer = make_user(session, Role.COMPLIANCE)
    listed = overview.disclosures_after_expiry_event(session, officer.actor)
    assert [row.message_id for row in listed] == [after_discharge.id]
    assert (listed[0].consent_id, listed[0].occurred_on) == (ending.id, discharged_on)
    assert before_discharge.id not in [row.message_id for row in listed]
    assert used.id not in [row.message_id for row in listed]
    # And the overview page says so, with the day the release ended
    login_as(client, officer.email, officer.password)
    page = client.get("/compliance/").get_data(as_text=True)
    assert "Disclosed after a release had ended" in page
    assert f"message #{after_discharge.id}" in page
    # while another practice's officer sees none of it
    stranger = make_user(session, Role.COMPLIANCE, org="Elsewhere Clinic")
    assert overview.disclosures_after_expiry_event(session, stranger.actor) == []
