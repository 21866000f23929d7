"""The accounting of disclosures read from the audit log (45 CFR 164.528, SECURITY G6)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from roi.accounts.models import Client, Provider
from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.clock import now
from roi.compliance import accounting, disclosures
from roi.compliance.accounting import Shown
from roi.consent import lifecycle
from roi.consent.models import Direction
from roi.errors import ConsentRequired, Forbidden, Invalid, NotFound
from roi.messaging import service
from tests.accounting.conftest import (
    clock_at,
    disclose,
    outside,
    pdf_text,
    permitted_entries,
    sign_part2,
    squeeze,
    years_ago,
)
from tests.consent.conftest import CALIFORNIA, in_california
from tests.factories import make_client_user, make_user
from tests.helpers import login_as


def ids(found: accounting.Accounting) -> list[int | None]:
    return [row.message_id for row in found.rows]


def test_default_window_is_six_years_an_entry_one_day_older_is_out(
    session, library, referral, officer
):
    # one day throughout: the window ends today, which must not turn over
    with clock_at(now()):
        # Given a consent signed a little over six years ago, and disclosures just outside and just
        # inside the six-year window, and one today
        with clock_at(years_ago(6, days=5)):
            referral.signed(session)
        with clock_at(years_ago(6, days=1)):
            too_old = disclose(session, referral, subject="too old")
        with clock_at(years_ago(6, days=-1)):
            inside = disclose(session, referral, subject="just inside")
        referral.signed(session)
        recent = disclose(session, referral, subject="today")
        # When compliance asks for the accounting without a range
        found = accounting.accounting(session, officer.actor, library, referral.client_id)
        # Then it covers six years up to today: the oldest disclosure is out, the others in
        assert found.period.until == now().date()
        assert found.period.since == years_ago(6).date()
        assert ids(found) == [inside.id, recent.id]
        assert too_old.id not in ids(found)


def test_a_chosen_range_lists_only_its_days_both_ends_included(session, library, referral, officer):
    # Given disclosures on three different days
    with clock_at(now() - timedelta(days=30)):
        referral.signed(session)
        first = disclose(session, referral)
    with clock_at(now() - timedelta(days=20)):
        second = disclose(session, referral)
    with clock_at(now() - timedelta(days=10)):
        third = disclose(session, referral)
    day = lambda m: m.sent_at.date()  # noqa: E731
    # When the range is exactly the second one's day, then the second and third's days
    only_second = accounting.accounting(
        session, officer.actor, library, referral.client_id, since=day(second), until=day(second)
    )
    later = accounting.accounting(
        session, officer.actor, library, referral.client_id, since=day(second), until=day(third)
    )
    # Then each lists exactly the disclosures of its days
    assert ids(only_second) == [second.id]
    assert ids(later) == [second.id, third.id]
    assert first.id not in ids(later)


def test_g6_the_accounting_equals_the_permit_entries_for_the_client_in_the_range(
    session, library, referral, second_referral, officer
):
    # Given disclosures of two clients over several months, denials and other audit traffic
    with clock_at(now() - timedelta(days=200)):
        referral.signed(session)
        second_referral.signed(session)
    sent = []
    for days in (190, 150, 120, 90, 60, 30, 1):
        with clock_at(now() - timedelta(days=days)):
            sent.append(disclose(session, referral, categories=("diagnosis", "medications")))
            disclose(session, second_referral)
            with pytest.raises(ConsentRequired):
                disclose(session, referral, categories=("assessments",))
    since, until = (now() - timedelta(days=160)).date(), (now() - timedelta(days=45)).date()
    # When compliance asks for the first client over a range in the middle
    found = accounting.accounting(
        session, officer.actor, library, referral.client_id, since=since, until=until
    )
    # Then the rows are exactly the permit entries for that client in that range, field by field
    expected = permitted_entries(session, referral.client_id, since, until)
    assert len(expected) == 4
    assert [(r.seq, r.at, r.consent_id, r.message_id) for r in found.rows] == [
        (e.seq, e.at, e.consent_id, e.message_id) for e in expected
    ]
    assert {r.recipient.provider_id for r in found.rows} == {referral.recipient_id}
    assert set(ids(found)) == {m.id for m in sent[1:5]}


def test_denied_disclosures_are_never_listed(session, library, referral, officer):
    # Given a disclosure, then a revoked consent and a denied attempt
    consent = referral.signed(session)
    allowed = disclose(session, referral)
    lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
    with pytest.raises(ConsentRequired):
        disclose(session, referral)
    with pytest.raises(ConsentRequired):
        disclose(session, referral, categories=("hiv",))
    # When the accounting is made
    found = accounting.accounting(session, officer.actor, library, referral.client_id)
    # Then only the permitted disclosure is in it, though denials are in the log
    assert ids(found) == [allowed.id]
    session.rollback()
    denied = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == Action.DISCLOSURE_DENIED,
            AuditEntry.client_id == referral.client_id,
        )
    ).all()
    assert len(denied) == 2


def test_another_clients_disclosures_are_never_listed(
    session, library, referral, second_referral, officer
):
    # Given disclosures about two clients of the same practice to the same recipient
    referral.signed(session)
    second_referral.signed(session)
    mine = disclose(session, referral)
    theirs = disclose(session, second_referral)
    # When each accounting is made
    first = accounting.accounting(session, officer.actor, library, referral.client_id)
    second = accounting.accounting(session, officer.actor, library, second_referral.client_id)
    # Then each holds its own client's disclosure only
    assert ids(first) == [mine.id]
    assert ids(second) == [theirs.id]


def test_what_the_practice_received_under_a_two_way_release_is_not_its_disclosure(
    session, library, referral, officer
):
    # Given a two-way release: the therapist sends, and the psychiatrist elsewhere writes back
    referral.signed(session, direction=Direction.TWO_WAY)
    made = disclose(session, referral)
    therapist_entry = session.scalar(
        select(Provider.id).where(Provider.user_id == referral.therapist.user.id)
    )
    received = service.send(
        session,
        referral.psychiatrist.actor,
        library,
        service.Outgoing(
            client_id=referral.client_id,
            recipient_provider_id=therapist_entry,
            categories=("diagnosis",),
            purpose="treatment",
            subject="Re: Referral summary",
            body="Seen today; plan attached.",
        ),
    )
    # When the therapist's practice makes the client's accounting
    found = accounting.accounting(session, officer.actor, library, referral.client_id)
    # Then it lists what the practice disclosed, not what it received (164.528(a)): the
    # psychiatrist's practice made that disclosure
    assert ids(found) == [made.id]
    assert received.id not in ids(found)
    assert all(row.recipient.provider_id != therapist_entry for row in found.rows)


def test_rows_name_the_recipient_and_describe_what_and_why_without_opening_messages(
    session, library, referral, officer, monkeypatch
):
    # Given a disclosure of two categories for treatment
    referral.signed(session)
    disclose(session, referral, categories=("medications", "diagnosis"))
    session.rollback()
    provider = session.get(Provider, referral.recipient_id)
    provider.credentials = "MD"
    provider.address = "400 River Road\nSpringfield, IL 62702"
    session.commit()
    # When the accounting is made, with message opening made impossible
    from roi import vault

    def refuse(*args, **kwargs):
        raise AssertionError("the accounting opened a sealed value")

    monkeypatch.setattr(vault, "open_sealed", refuse)
    found = accounting.accounting(session, officer.actor, library, referral.client_id)
    # Then the row says who, what and why in the form's words
    (row,) = found.rows
    assert row.recipient.name == "Samuel Okafor, MD"
    assert row.recipient.organization == "Northgate Psychiatry"
    assert row.recipient.address == "400 River Road\nSpringfield, IL 62702"
    assert row.description == "Diagnosis and treatment summary; Medications and prescriptions"
    assert row.purpose == "Your treatment and continuity of care"
    assert row.part2 is False
    assert found.client_name == "Jordan Avery"
    assert found.practice == "Riverside Counseling"


def test_part2_accounting_covers_three_years_and_only_sud_disclosures(
    session, library, referral, officer
):
    # Given a Part 2 disclosure four years ago, then a general and a Part 2 one two years ago
    with clock_at(years_ago(4)):
        sign_part2(session, referral)
        old_sud = disclose(session, referral, categories=("sud_diagnosis",))
    with clock_at(years_ago(2)):
        referral.signed(session)
        sign_part2(session, referral)
        general = disclose(session, referral, categories=("diagnosis",))
        sud = disclose(session, referral, categories=("sud_treatment", "sud_diagnosis"))
    # When the Part 2 accounting is made without a range
    part2 = accounting.accounting(session, officer.actor, library, referral.client_id, part2=True)
    # Then it covers three years and lists only the SUD disclosure inside them
    assert part2.part2 is True
    assert part2.period.since == years_ago(3).date()
    assert ids(part2) == [sud.id]
    assert part2.rows[0].description == (
        "Substance use diagnosis; Substance use treatment and progress (42 CFR Part 2 records)"
    )
    # And the six-year accounting lists all three, the SUD ones marked
    full = accounting.accounting(session, officer.actor, library, referral.client_id)
    assert ids(full) == [old_sud.id, general.id, sud.id]
    assert [row.part2 for row in full.rows] == [True, False, True]


def test_access_compliance_of_the_org_yes_other_org_404_clinician_403_client_own_only(
    session, library, referral, second_referral, officer, foreign_officer
):
    referral.signed(session)
    disclose(session, referral)
    client_id = referral.client_id
    # compliance of the client's organization
    assert len(accounting.accounting(session, officer.actor, library, client_id).rows) == 1
    # compliance of another organization: not found, as if it did not exist
    with pytest.raises(NotFound):
        accounting.accounting(session, foreign_officer.actor, library, client_id)
    with pytest.raises(NotFound):
        accounting.accounting(session, officer.actor, library, 999_999)
    # clinicians (even the client's own therapist) have no accounting
    for clinician in (referral.therapist, referral.psychiatrist):
        with pytest.raises(Forbidden):
            accounting.accounting(session, clinician.actor, library, client_id)
    # an administrator neither
    admin = make_user(session, Role.ADMIN, org=None)
    with pytest.raises(Forbidden):
        accounting.accounting(session, admin.actor, library, client_id)
    # the client themself: their own, and no one else's
    own = accounting.accounting(session, referral.client_person.actor, library, client_id)
    assert len(own.rows) == 1
    with pytest.raises(NotFound):
        accounting.accounting(
            session, second_referral.client_person.actor, library, referral.client_id
        )


def test_clients_to_choose_are_the_officers_organizations_only(
    session, referral, second_referral, officer, foreign_officer
):
    _, elsewhere = make_client_user(session, referral.psychiatrist, given_name="Noor")
    mine = {c.id for c in accounting.clients_for_accounting(session, officer.actor)}
    assert mine == {referral.client_id, second_referral.client_id}
    theirs = {c.id for c in accounting.clients_for_accounting(session, foreign_officer.actor)}
    assert theirs == {elsewhere.actor.client_id}


def test_viewing_and_exporting_are_audited_with_ids_range_and_format_only(
    session, library, referral, officer
):
    referral.signed(session)
    disclose(session, referral)
    since, until = (now() - timedelta(days=3)).date(), now().date()
    accounting.accounting(
        session, officer.actor, library, referral.client_id, since=since, until=until
    )
    accounting.export(
        session,
        officer.actor,
        library,
        referral.client_id,
        file_format=Shown.CSV,
        part2=True,
    )
    session.rollback()
    viewed, exported = (
        session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        ).one()
        for action in (Action.AUDIT_VIEWED, Action.AUDIT_EXPORTED)
    )
    assert viewed.client_id == exported.client_id == referral.client_id
    assert viewed.actor_id == officer.user.id
    assert viewed.detail == {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "format": "page",
        "part2": False,
        "entries": 1,
        "withheld": 0,
    }
    assert exported.detail["format"] == "csv"
    assert exported.detail["part2"] is True
    assert exported.detail["entries"] == 0
    assert "Jordan" not in str(exported.detail)
    assert "Avery" not in str(viewed.detail)


def test_a_backwards_range_is_refused(session, library, referral, officer):
    with pytest.raises(Invalid) as refused:
        accounting.accounting(
            session,
            officer.actor,
            library,
            referral.client_id,
            since=now().date(),
            until=now().date() - timedelta(days=1),
        )
    assert "since" in refused.value.fields


def test_a_summary_counts_the_days_the_client_lived(session, library, referral, officer):
    # Given a client of a practice in California, told at 8 p.m. there on the Saturday before
    # the clocks spring forward and on that Sunday: 23 hours apart, the next day in UTC
    in_california(session, referral)
    saturday = datetime(2027, 3, 13, 20, tzinfo=CALIFORNIA)
    with clock_at(saturday - timedelta(days=3)):
        referral.signed(session)
    for moment in (saturday, saturday + timedelta(hours=23)):
        with clock_at(moment):
            disclose(session, referral)
    # When the summarized accounting is made the next day
    with clock_at(saturday + timedelta(days=2)):
        found = accounting.accounting(
            session, officer.actor, library, referral.client_id, summarized=True
        )
        pdf = squeeze(pdf_text(accounting.to_pdf(found)))
    # Then they were daily, and the last was on the Sunday there, not on UTC's Monday
    assert squeeze("2 disclosures, about every day; the last on March 14, 2027") in pdf


def test_a_summary_of_days_only_ends_on_the_last_day_recorded(session, library, referral, officer):
    # Given a practice in California that recorded two reports made outside roi, by their day
    in_california(session, referral)
    first, last = now().date() - timedelta(days=10), now().date() - timedelta(days=3)
    for day in (first, last):
        disclosures.record(session, officer.actor, outside(referral, disclosed_on=day))
    # When the summarized accounting is made, its PDF and CSV give the last report's own day
    found = accounting.accounting(
        session, officer.actor, library, referral.client_id, summarized=True
    )
    pdf = squeeze(pdf_text(accounting.to_pdf(found)))
    assert squeeze(f"the last on {last:%B} {last.day}, {last.year}") in pdf
    _, row = csv.reader(io.StringIO(accounting.to_csv(found).decode("utf-8-sig")))
    assert (row[0], row[-2], row[-1]) == (first.isoformat(), "2", last.isoformat())


def test_the_period_is_days_of_the_practices_calendar(client, session, library, referral, officer):
    # Given a practice in California whose client reads times in New York, and disclosures at
    # 10 p.m. in California on the evening before a month and on its last evening (the next day
    # in UTC and in New York), and one at 1 a.m. just after it
    in_california(session, referral)
    session.get(Client, referral.client_id).time_zone = "America/New_York"
    session.commit()
    first = (now().date().replace(day=1) - timedelta(days=1)).replace(day=1)
    last = now().date().replace(day=1) - timedelta(days=1)
    with clock_at(datetime.combine(first, time(), tzinfo=CALIFORNIA) - timedelta(days=2)):
        referral.signed(session)
    sent = {}
    for name, day, hour in (("before", first - timedelta(days=1), 22), ("last", last, 22)):
        with clock_at(datetime.combine(day, time(hour), tzinfo=CALIFORNIA)):
            sent[name] = disclose(session, referral).id
    with clock_at(datetime.combine(last + timedelta(days=1), time(1), tzinfo=CALIFORNIA)):
        disclose(session, referral)
    # When compliance asks for last month
    found = accounting.accounting(
        session, officer.actor, library, referral.client_id, since=first, until=last
    )
    # Then the month is the practice's: its last evening is in, the evening before it is not
    assert ids(found) == [sent["last"]]
    assert (found.calendar_zone, found.time_zone) == (CALIFORNIA.key, "America/New_York")
    # And the page names the calendar it reads the days on
    login_as(client, officer.email, officer.password)
    page = client.get(
        f"/compliance/accounting/clients/{referral.client_id}",
        query_string={"since": first.isoformat(), "until": last.isoformat()},
    ).get_data(as_text=True)
    assert "(both days included, Pacific Time)" in page
    # and the form's days are not labelled UTC's
    assert "UTC" not in page
