"""Accounting requests (45 CFR 164.528(c)): 60 days, one 30-day extension with a written reason,
the first in 12 months free, fulfilled once with a sealed report."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from roi import vault
from roi.audit import Action, AuditEntry
from roi.clock import now
from roi.compliance import requests
from roi.compliance.accounting import years_before
from roi.compliance.models import AccountingRequest, Channel
from roi.errors import Forbidden, Invalid, NotFound, WrongState
from tests.accounting.conftest import clock_at, disclose, pdf_text, sign_part2, squeeze, years_ago


def new(client_id: int, received_on: date | None = None, **changes) -> requests.NewRequest:
    return requests.NewRequest(
        client_id=client_id,
        received_on=received_on or now().date(),
        channel=changes.pop("channel", Channel.WRITTEN),
        **changes,
    )


def audited(session, action: Action) -> list[AuditEntry]:
    session.rollback()
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_request_is_due_60_days_after_receipt_and_covers_six_years_by_default(
    session, referral, officer
):
    received = now().date() - timedelta(days=3)
    found = requests.record(session, officer.actor, new(referral.client_id, received))
    assert found.due_on == received + timedelta(days=60)
    assert found.due == found.due_on
    assert found.extended_to is None
    assert found.period_end == received
    assert found.period_start == years_before(received, 6)
    assert found.free is True
    (entry,) = audited(session, Action.ACCOUNTING_REQUESTED)
    assert entry.client_id == referral.client_id
    assert entry.detail["accounting_request_id"] == found.id
    assert entry.detail["channel"] == "written"


def test_one_30_day_extension_with_a_written_reason(session, referral, officer):
    found = requests.record(session, officer.actor, new(referral.client_id))
    # Without a reason it is refused (422)
    with pytest.raises(Invalid) as refused:
        requests.extend(session, officer.actor, found.id, "   ")
    assert "reason" in refused.value.fields
    # With one, the deadline moves 30 days and the reason is kept (sealed)
    extended = requests.extend(
        session, officer.actor, found.id, "Records from 2021 are being retrieved from archive."
    )
    assert extended.extended_to == extended.due_on + timedelta(days=30)
    assert extended.due == extended.extended_to
    assert requests.extension_reason_of(extended) == (
        "Records from 2021 are being retrieved from archive."
    )
    session.rollback()
    raw = session.execute(
        text("SELECT extension_reason_sealed FROM accounting_requests WHERE id = :id"),
        {"id": found.id},
    ).scalar_one()
    assert b"archive" not in bytes(raw)
    # A second extension is refused (409), with a clear message
    with pytest.raises(WrongState) as again:
        requests.extend(session, officer.actor, found.id, "Still waiting.")
    assert "already extended once" in again.value.message
    assert "single 30-day extension" in again.value.message
    (entry,) = audited(session, Action.ACCOUNTING_EXTENDED)
    assert entry.detail == {
        "accounting_request_id": found.id,
        "extended_to": extended.extended_to.isoformat(),
    }


def test_an_extension_must_come_within_the_first_60_days(session, referral, officer):
    received = now().date() - timedelta(days=61)
    found = requests.record(session, officer.actor, new(referral.client_id, received))
    assert found.overdue(now().date())
    with pytest.raises(WrongState, match="within the first 60 days"):
        requests.extend(session, officer.actor, found.id, "Too late to ask.")


def test_the_first_request_in_12_months_is_free_later_ones_may_carry_a_fee(
    session, referral, second_referral, officer
):
    today = now().date()
    first = requests.record(session, officer.actor, new(referral.client_id, today - timedelta(400)))
    second = requests.record(
        session, officer.actor, new(referral.client_id, today - timedelta(300))
    )
    third = requests.record(session, officer.actor, new(referral.client_id, today - timedelta(30)))
    fourth = requests.record(session, officer.actor, new(referral.client_id, today))
    other_client = requests.record(session, officer.actor, new(second_referral.client_id, today))
    # 400 days ago: free; 300: within 12 months of it; 30: more than 12 months after the free
    # one (the one in between was not free); today: within 12 months of that one
    assert [first.free, second.free, third.free, fourth.free] == [True, False, True, False]
    # another client's count is their own
    assert other_client.free is True


def test_a_withdrawn_request_leaves_the_free_one_and_a_late_recorded_letter_keeps_its_day(
    session, referral, officer
):
    today = now().date()
    # Given the client asked and withdrew: no accounting was provided
    asked = requests.record(session, officer.actor, new(referral.client_id, today - timedelta(20)))
    assert asked.free is True
    requests.withdraw(session, officer.actor, asked.id)
    # When they ask again, then this one is the free one (164.528(c)(2))
    again = requests.record(session, officer.actor, new(referral.client_id, today - timedelta(10)))
    assert again.free is True
    # And a letter received before both, recorded only now, is free as it was on its day
    letter = requests.record(session, officer.actor, new(referral.client_id, today - timedelta(40)))
    assert letter.free is True
    # while one more in the same 12 months may carry a fee
    assert requests.record(session, officer.actor, new(referral.client_id, today)).free is False


def test_fulfilling_attaches_the_report_sealed_with_its_sha256(session, library, referral, officer):
    # Given a disclosure and a request covering it
    referral.signed(session)
    message = disclose(session, referral)
    found = requests.record(session, officer.actor, new(referral.client_id))
    # When it is fulfilled
    done = requests.fulfil(session, officer.actor, library, found.id)
    # Then the report is stored sealed, its SHA-256 matches, and it lists the disclosure
    assert done.fulfilled_at is not None
    assert done.report_entries == 1
    session.rollback()
    row = session.get(AccountingRequest, found.id)
    assert not bytes(row.report_sealed).startswith(b"%PDF")
    pdf = vault.open_sealed(
        row.report_sealed, vault.Place("accounting_requests", "report_sealed", row.uuid)
    )
    assert pdf.startswith(b"%PDF-")
    assert hashlib.sha256(pdf).hexdigest() == row.report_sha256
    text_ = squeeze(pdf_text(pdf))
    assert squeeze(f"Accounting request #{found.id}") in text_
    assert squeeze("Samuel Okafor") in text_
    # And it can be downloaded again, byte for byte, as often as needed (each audited)
    again, data = requests.report(session, officer.actor, found.id)
    assert data == pdf
    assert hashlib.sha256(requests.report(session, officer.actor, found.id)[1]).hexdigest() == (
        row.report_sha256
    )
    assert len(audited(session, Action.AUDIT_EXPORTED)) == 2
    (fulfilled,) = audited(session, Action.ACCOUNTING_FULFILLED)
    assert fulfilled.detail["sha256"] == row.report_sha256
    assert fulfilled.detail["entries"] == 1
    assert message.id  # the message is not named in the audit detail: ids of the request only


def test_a_request_is_fulfilled_once(session, library, referral, officer):
    found = requests.record(session, officer.actor, new(referral.client_id))
    requests.fulfil(session, officer.actor, library, found.id)
    with pytest.raises(WrongState, match="already fulfilled"):
        requests.fulfil(session, officer.actor, library, found.id)
    with pytest.raises(WrongState, match="already fulfilled"):
        requests.extend(session, officer.actor, found.id, "late")
    assert len(audited(session, Action.ACCOUNTING_FULFILLED)) == 1


def test_an_open_request_has_no_report_yet(session, referral, officer):
    found = requests.record(session, officer.actor, new(referral.client_id))
    with pytest.raises(WrongState, match="not fulfilled yet"):
        requests.report(session, officer.actor, found.id)


def test_the_report_covers_the_range_asked_for(session, library, referral, officer):
    with clock_at(now() - timedelta(days=40)):
        referral.signed(session)
        old = disclose(session, referral)
    recent = disclose(session, referral)
    found = requests.record(
        session,
        officer.actor,
        new(referral.client_id, since=now().date() - timedelta(days=10)),
    )
    done = requests.fulfil(session, officer.actor, library, found.id)
    assert done.report_entries == 1
    pdf = requests.report(session, officer.actor, found.id)[1]
    assert squeeze("1 entry,") in squeeze(pdf_text(pdf))
    assert old.id != recent.id


def test_a_part2_request_covers_three_years_and_sud_disclosures_only(
    session, library, referral, officer
):
    referral.signed(session)
    sign_part2(session, referral)
    disclose(session, referral, categories=("diagnosis",))
    disclose(session, referral, categories=("sud_diagnosis",))
    found = requests.record(session, officer.actor, new(referral.client_id, part2=True))
    assert found.period_start == years_ago(3).date()
    with pytest.raises(Invalid) as too_far:
        requests.record(
            session,
            officer.actor,
            new(referral.client_id, part2=True, since=years_ago(4).date()),
        )
    assert "three" in too_far.value.fields["since"] or "3" in too_far.value.fields["since"]
    done = requests.fulfil(session, officer.actor, library, found.id)
    assert done.report_entries == 1


def test_ranges_outside_the_window_or_in_the_future_are_refused(session, referral, officer):
    today = now().date()
    cases = [
        (new(referral.client_id, today + timedelta(days=1)), "received_on"),
        (new(referral.client_id, since=years_ago(7).date()), "since"),
        (new(referral.client_id, until=today + timedelta(days=5)), "until"),
        (new(referral.client_id, since=today, until=today - timedelta(days=2)), "since"),
        (new(referral.client_id, note="x" * (requests.MAX_NOTE + 1)), "note"),
    ]
    for request, field in cases:
        with pytest.raises(Invalid) as refused:
            requests.record(session, officer.actor, request)
        assert field in refused.value.fields, field
    session.rollback()
    assert session.scalars(select(AccountingRequest)).all() == []


def test_who_may_manage_requests(session, library, referral, officer, foreign_officer):
    found = requests.record(session, officer.actor, new(referral.client_id))
    # another organization's compliance: not found, whatever they try
    with pytest.raises(NotFound):
        requests.record(session, foreign_officer.actor, new(referral.client_id))
    for attempt in (
        lambda: requests.request_for(session, foreign_officer.actor, found.id),
        lambda: requests.extend(session, foreign_officer.actor, found.id, "reason"),
        lambda: requests.fulfil(session, foreign_officer.actor, library, found.id),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert requests.open_requests(session, foreign_officer.actor) == []
    # clinicians and clients cannot record, extend or fulfil
    for person in (referral.therapist, referral.client_person):
        with pytest.raises(Forbidden):
            requests.record(session, person.actor, new(referral.client_id))
        with pytest.raises(Forbidden):
            requests.extend(session, person.actor, found.id, "reason")
    # the client sees their own request
    assert requests.request_for(session, referral.client_person.actor, found.id).id == found.id


def test_open_requests_are_ordered_by_due_date(session, referral, second_referral, officer):
    today = now().date()
    late = requests.record(session, officer.actor, new(referral.client_id, today - timedelta(50)))
    soon = requests.record(
        session, officer.actor, new(second_referral.client_id, today - timedelta(55))
    )
    fresh = requests.record(session, officer.actor, new(referral.client_id, today))
    requests.extend(session, officer.actor, soon.id, "Waiting for the archive.")
    found = requests.open_requests(session, officer.actor)
    # soon was due first (in 5 days) but is extended to 35 days; late is due in 10, fresh in 60
    assert [r.id for r in found] == [late.id, soon.id, fresh.id]
    assert [r.due for r in found] == sorted(r.due for r in found)
    assert all(hasattr(r, name) for r in found for name in ("received_on", "free", "client_id"))


def test_a_client_asks_in_the_portal_once_at_a_time(session, library, referral, officer):
    client = referral.client_person.actor
    found = requests.ask(session, client, part2=False, note="Please email it to me.")
    assert found.channel is Channel.PORTAL
    assert found.received_on == now().date()
    assert found.client_id == referral.client_id
    assert requests.note_of(found) == "Please email it to me."
    with pytest.raises(WrongState, match="already asked"):
        requests.ask(session, client)
    requests.fulfil(session, officer.actor, library, found.id)
    again = requests.ask(session, client)
    assert again.free is False
    # and downloads their answer
    _, pdf = requests.report(session, client, found.id)
    assert pdf.startswith(b"%PDF-")
    with pytest.raises(Forbidden):
        requests.ask(session, officer.actor)


def test_months_before_keeps_the_day_or_takes_the_months_last():
    assert requests.months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert requests.months_before(date(2026, 1, 15), 12) == date(2025, 1, 15)
    assert requests.months_before(date(2024, 2, 29), 12) == date(2023, 2, 28)
    assert requests.months_before(date(2026, 11, 30), -3) == date(2027, 2, 28)
