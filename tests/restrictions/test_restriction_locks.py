"""A restriction asked for while a send is deciding waits for that send: the send read whether the
client has any restriction once, in the statement that locked its consents, and does not look
again. Asked for first, it holds the send until it is written, and the send then reads it.

PostgreSQL only: SQLite runs one writer at a time.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from roi.accounts.models import Client, Provider
from roi.consent import gate, restrictions
from roi.consent.models import Restriction
from roi.db import unit_of_work
from tests.helpers import PATIENCE, until, waits_for_a_lock


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("SQLite runs one writer at a time")


def _provider(session: Session, person) -> Provider:
    return session.scalars(select(Provider).where(Provider.user_id == person.user.id)).one()


def _lock_as_a_send(session: Session, referral) -> gate.Locked:
    return gate.lock_candidates(
        session,
        discloser=_provider(session, referral.therapist),
        recipient=_provider(session, referral.psychiatrist),
        client=session.get(Client, referral.client_id),
    )


def _ask(session: Session, referral) -> Restriction:
    new = restrictions.NewRestriction(
        recipient_provider_id=None,
        categories=("diagnosis",),
        description="Please do not share my diagnosis.",
    )
    return restrictions.request(
        session, referral.client_person.actor, referral.library, referral.client_id, new
    )


def test_a_restriction_asked_for_during_a_send_is_written_after_it(engine, session, referral):
    referral.signed(session)
    asked: list[int] = []
    failures: list[BaseException] = []
    asker_pid: list[int] = []

    def ask() -> None:
        with Session(engine) as own:
            asker_pid.append(own.scalar(text("SELECT pg_backend_pid()")))
            try:
                found = _ask(own, referral)
                asked.append(found.id)
            except BaseException as failed:  # reported by the test below
                failures.append(failed)

    # Given a send that has locked the client's consents and found no restriction
    with Session(engine) as sender, unit_of_work(sender):
        assert _lock_as_a_send(sender, referral).restrictions == []
        # When the client asks for a restriction meanwhile
        asker = threading.Thread(target=ask)
        asker.start()
        with Session(engine) as watcher:
            until(
                lambda: not asker.is_alive() or waits_for_a_lock(watcher, asker_pid),
                "the request wait for the send",
            )
        # Then it is not written behind the send's back: it waits for the send to end
        assert asked == []
        assert failures == []
    asker.join(PATIENCE)
    assert not asker.is_alive()
    assert failures == []
    assert len(asked) == 1


def test_a_send_after_a_restriction_was_asked_for_reads_it_locked(engine, session, referral):
    referral.signed(session)
    asked = _ask(session, referral)
    # A send now finds it (requested: it changes no decision until it is agreed) and reads it
    # under its lock, so an agreement made while the send decides waits for the send
    with Session(engine) as sender, unit_of_work(sender):
        assert [r.id for r in _lock_as_a_send(sender, referral).restrictions] == [asked.id]
