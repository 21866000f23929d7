"""The days compliance enters and a client's request is stamped with are days of the practice's
calendar, not UTC's: east of UTC a day begins hours before it does in UTC."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine

from roi.clock import now
from roi.compliance import disclosures, requests
from roi.errors import Invalid
from tests.accounting.conftest import outside
from tests.consent.conftest import TOKYO, practice_in


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
