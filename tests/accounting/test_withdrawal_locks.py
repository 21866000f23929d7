"""Withdrawing the free accounting request locks the client's row before it takes the audit head,
the order in which recording a request takes them: a withdrawal and a request recorded at the
same moment take turns, and neither deadlocks the other (nor holds up every writer of the log
while it waits).

PostgreSQL only: SQLite runs one writer at a time.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from roi import audit
from roi.audit import Action
from roi.clock import now
from roi.compliance import requests
from roi.compliance.accounting import client_for_accounting
from roi.compliance.models import Channel
from roi.db import unit_of_work
from tests.helpers import PATIENCE, until, waits_for_a_lock


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("SQLite runs one writer at a time")


def test_a_withdrawal_and_a_request_recorded_meanwhile_take_turns(
    engine, session, referral, officer
):
    requests.set_repeat_fee(session, officer.actor, 2500)
    free = requests.record(
        session,
        officer.actor,
        requests.NewRequest(
            client_id=referral.client_id, received_on=now().date(), channel=Channel.PHONE
        ),
    )
    failures: list[BaseException] = []
    withdrawer_pid: list[int] = []

    def withdraw() -> None:
        with Session(engine) as own:
            withdrawer_pid.append(own.scalar(text("SELECT pg_backend_pid()")))
            try:
                requests.withdraw(own, referral.client_person.actor, free.id)
            except BaseException as failed:  # reported by the test below
                failures.append(failed)

    # Given a writer holding the client's lock, as recording a request does before its entry
    with Session(engine) as holder, unit_of_work(holder):
        client_for_accounting(holder, officer.actor, referral.client_id, lock=True)
        # When the client withdraws their free request meanwhile, and it waits for that lock
        withdrawer = threading.Thread(target=withdraw)
        withdrawer.start()
        with Session(engine) as watcher:
            until(
                lambda: not withdrawer.is_alive() or waits_for_a_lock(watcher, withdrawer_pid),
                "the withdrawal wait for the client's lock",
            )
        # Then the holder still takes the audit head for its own entry: the withdrawal did not
        # take it before waiting (had it, PostgreSQL would end one of them as a deadlock)
        audit.record(holder, officer.actor, Action.RECORD_VIEWED, client_id=referral.client_id)
    withdrawer.join(PATIENCE)
    assert not withdrawer.is_alive()
    # And the withdrawal went through after it
    assert failures == []
    session.rollback()
    assert requests.request_for(session, officer.actor, free.id).withdrawn
