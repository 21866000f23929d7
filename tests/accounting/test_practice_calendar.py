"""The days compliance enters and a client's request is stamped with are days of the practice's
calendar, not UTC's: east of UTC a day begins hours before it does in UTC."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine

from roi.clock import now
from roi.compliance import accounting, disclosures, requests
from roi.compliance.models import Channel
from roi.errors import Invalid
from tests.accounting.conftest import disclose, outside
from tests.consent.conftest import CALIFORNIA, TOKYO, in_california, practice_in
from tests.helpers import api_token, bearer, login_as, logout


def tokyo_morning() -> datetime:
    """Half an hour into a day in Tokyo, when UTC is still on the day before."""
    return datetime.combine(now().date() + timedelta(days=2), time(0, 30), tzinfo=TOKYO)


def test_a_disclosure_made_this_morning_east_of_utc_is_not_in_the_future(
    session, referral, officer
):
    # Given a practice in Tokyo, half an hour into its day
    practice_in(session, referral, TOKYO)
    morning = tokyo_morning()
    with time_machine.travel(morning, tick=False):
        # When compliance records a disclosure made this morning there, it is taken
        found = disclosures.record(
            session, officer.actor, outside(referral, disclosed_on=morning.date())
        )
        assert found.disclosed_on == morning.date()
        # And one dated tomorrow there is still refused
        with pytest.raises(Invalid) as refused:
            disclosures.record(
                session,
                officer.actor,
                outside(referral, disclosed_on=morning.date() + timedelta(days=1)),
            )
        assert set(refused.value.fields) == {"disclosed_on"}


def test_a_clients_request_is_received_on_the_practices_day(session, referral):
    # Given a practice in Tokyo, half an hour into its day
    practice_in(session, referral, TOKYO)
    morning = tokyo_morning()
    with time_machine.travel(morning, tick=False):
        # When the client asks for their accounting in the portal
        found = requests.ask(session, referral.client_person.actor)
    # Then it was received that day there (its 60 days run from it), not the day before (UTC)
    assert found.received_on == morning.date()


def test_a_request_is_not_overdue_on_the_evening_of_its_due_day(client, session, referral, officer):
    # Given a practice in California and a request due today there
    in_california(session, referral)
    evening = datetime.combine(now().date() + timedelta(days=2), time(20), tzinfo=CALIFORNIA)
    received = evening.date() - timedelta(days=60)
    with time_machine.travel(evening, tick=False):
        found = requests.record(
            session,
            officer.actor,
            requests.NewRequest(referral.client_id, received, Channel.WRITTEN),
        )
        assert found.due == evening.date()
        # When compliance looks at 8 p.m. there (the next day in UTC)
        token = api_token(client, officer.email, officer.password)
        answer = client.get(f"/api/v1/accounting-requests/{found.id}", headers=bearer(token))
        login_as(client, officer.email, officer.password)
        page = client.get(f"/compliance/accounting/requests/{found.id}").get_data(as_text=True)
    # Then it is due today, not overdue
    assert answer.get_json()["status"] == "open"
    assert "due today" in page
    assert "overdue" not in page


def test_the_forms_offer_the_practices_today(client, session, referral, officer):
    # Given a practice in Tokyo, half an hour into its day (the day before in UTC)
    practice_in(session, referral, TOKYO)
    morning = tokyo_morning()
    with time_machine.travel(morning, tick=False):
        # When compliance opens the form for a request that arrived by letter
        login_as(client, officer.email, officer.password)
        page = client.get("/compliance/accounting/requests/new").get_data(as_text=True)
        logout(client)
        # And the therapist opens the client's page
        login_as(client, referral.therapist.email, referral.therapist.password)
        client_page = client.get(f"/clinician/clients/{referral.client_id}").get_data(as_text=True)
    # Then both offer today there as the day
    assert f'value="{morning.date().isoformat()}"' in page
    assert f'value="{morning.date().isoformat()}"' in client_page


@pytest.mark.parametrize(
    ("zone", "hour", "days_late", "late"),
    [
        # 8 p.m. on the due day in California: the next day in UTC, on time all the same
        (CALIFORNIA, 20, 0, False),
        # 8 a.m. the day after the due day in Tokyo: still the due day in UTC, late all the same
        (TOKYO, 8, 1, True),
    ],
    ids=["california evening", "tokyo morning"],
)
def test_a_fulfilled_request_is_late_by_the_practices_calendar(
    client, session, library, referral, officer, zone, hour, days_late, late
):
    # Given a request due on a day of the practice's calendar
    practice_in(session, referral, zone)
    due = now().date() + timedelta(days=2)
    sent = datetime.combine(due + timedelta(days=days_late), time(hour), tzinfo=zone)
    with time_machine.travel(sent, tick=False):
        found = requests.record(
            session,
            officer.actor,
            requests.NewRequest(referral.client_id, due - timedelta(days=60), Channel.WRITTEN),
        )
        assert found.due == due
        # When compliance sends the accounting then
        requests.fulfil(session, officer.actor, library, found.id)
        login_as(client, officer.email, officer.password)
        page = client.get("/compliance/accounting/requests").get_data(as_text=True)
    # Then the list marks it late only when it went out after the due day there
    assert ("(late)" in page) is late
    assert requests.fulfilled_late(found) is late


def test_a_disclosure_known_only_by_its_day_is_listed_on_that_day(
    session, library, referral, officer
):
    # Given a California practice whose therapist sent a message at 6 p.m. on the 4th there
    # (2 a.m. on the 5th in UTC)
    in_california(session, referral)
    fourth = now().date() - timedelta(days=10)
    with time_machine.travel(datetime.combine(fourth, time(9), tzinfo=CALIFORNIA), tick=False):
        referral.signed(session)
    with time_machine.travel(datetime.combine(fourth, time(18), tzinfo=CALIFORNIA), tick=False):
        sent = disclose(session, referral)
    # And a subpoena answered on the 5th, recorded by its day only
    fifth = fourth + timedelta(days=1)
    disclosures.record(session, officer.actor, outside(referral, disclosed_on=fifth))
    # When compliance builds the accounting of both days
    found = accounting.accounting(
        session, officer.actor, library, referral.client_id, since=fourth, until=fifth
    )
    # Then the message of the 4th comes before the subpoena of the 5th, as their days read
    assert [(row.message_id, row.day_in(CALIFORNIA.key)) for row in found.rows] == [
        (sent.id, fourth),
        (None, fifth),
    ]
