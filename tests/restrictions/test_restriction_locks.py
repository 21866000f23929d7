"""A send reads the client's restrictions only when their restriction mark says there are some
(`roi.consent.gate.lock_candidates`), and it locks the mark before the consents. A send that
waited for a new restriction's mark reads the mark as the restriction left it; a restriction asked
for while a send holds the mark waits for that send; a send waiting for the mark holds no consent.

PostgreSQL only: SQLite runs one writer at a time.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from roi.accounts.models import Client, Provider
from roi.clock import now
from roi.consent import gate, restrictions
from roi.consent.models import Consent, Restriction, RestrictionMark, RestrictionStatus
from roi.db import unit_of_work
from roi.errors import ConsentRequired
from tests.helpers import PATIENCE, until, waits_for_a_lock
from tests.messaging.test_send import send


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("SQLite runs one writer at a time")


def _ask(session: Session, referral) -> Restriction:
    new = restrictions.NewRestriction(
        recipient_provider_id=None,
        categories=("diagnosis",),
        description="Please do not share my diagnosis.",
    )
    return restrictions.request(
        session, referral.client_person.actor, referral.library, referral.client_id, new
    )


def _in_thread(engine, work, pid: list[int], outcome: list[object]) -> threading.Thread:
    def run() -> None:
        with Session(engine) as own:
            pid.append(own.scalar(text("SELECT pg_backend_pid()")))
            own.rollback()
            try:
                outcome.append(work(own))
            except BaseException as failed:  # reported by the test
                outcome.append(failed)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_send_that_waited_for_a_new_restriction_reads_it(engine, session, referral):
    referral.signed(session)
    send(session, referral)  # the first send about the client makes their mark: none yet
    client = session.get(Client, referral.client_id)
    organization_id = client.organization_id
    held, release = threading.Event(), threading.Event()

    def restrict() -> None:
        # a restriction written with its mark moved on, held open until the send waits for it
        # (agreed at once here, which the service would do in a second request)
        with Session(engine) as own, unit_of_work(own):
            gate.mark_restricted(own, own.get(Client, referral.client_id))
            own.add(
                Restriction(
                    client_id=referral.client_id,
                    organization_id=organization_id,
                    categories=["diagnosis"],
                    description_sealed=b"not read by the gate",
                    status=RestrictionStatus.AGREED,
                    requested_via="staff",
                    decided_at=now(),
                )
            )
            own.flush()
            held.set()
            release.wait(PATIENCE)

    restricting = threading.Thread(target=restrict)
    restricting.start()
    sender_pid: list[int] = []
    sent: list[object] = []
    try:
        assert held.wait(PATIENCE)
        # Given a send about the client waiting for their mark
        sender = _in_thread(engine, lambda own: send(own, referral), sender_pid, sent)
        with Session(engine) as watcher:
            until(lambda: waits_for_a_lock(watcher, sender_pid), "the send wait for the mark")
    finally:
        # When the restriction commits
        release.set()
        restricting.join(PATIENCE)
    sender.join(PATIENCE)
    assert not sender.is_alive()
    # Then the send reads the mark as the restriction left it, reads the restriction, and is
    # refused (a mark read as of before its wait would have let it through)
    [outcome] = sent
    assert isinstance(outcome, ConsentRequired), outcome
    assert [reason["code"] for reason in outcome.reasons] == ["restricted_by_agreement"]


def test_a_restriction_asked_for_while_a_send_holds_the_mark_waits_for_it(
    engine, session, referral
):
    referral.signed(session)
    send(session, referral)  # makes the mark
    asker_pid: list[int] = []
    asked: list[object] = []
    # Given a send that has locked the release and the client's mark
    with Session(engine) as sender, unit_of_work(sender):
        locked = gate.lock_candidates(
            sender,
            discloser=sender.scalars(
                select(Provider).where(Provider.user_id == referral.therapist.user.id)
            ).one(),
            recipient=sender.get(Provider, referral.recipient_id),
            client=sender.get(Client, referral.client_id),
        )
        assert locked.restrictions == []
        # When the client asks for a restriction meanwhile
        asker = _in_thread(engine, lambda own: _ask(own, referral), asker_pid, asked)
        with Session(engine) as watcher:
            until(
                lambda: not asker.is_alive() or waits_for_a_lock(watcher, asker_pid),
                "the request wait for the send",
            )
        # Then it waits for the send to end
        assert asked == []
    asker.join(PATIENCE)
    assert not asker.is_alive()
    [outcome] = asked
    assert isinstance(outcome, Restriction), outcome


def test_a_send_waiting_for_the_mark_holds_no_consent(engine, session, referral):
    # (so two sends whose consents overlap never hold one each of what the other waits for)
    referral.signed(session)
    send(session, referral)  # makes the mark
    sender_pid: list[int] = []
    sent: list[object] = []
    # Given the client's mark held, as a new restriction holds it while it is written
    with Session(engine) as holder, unit_of_work(holder):
        holder.scalars(
            select(RestrictionMark)
            .where(RestrictionMark.client_id == referral.client_id)
            .with_for_update()
        ).all()
        # When a send about the client waits for it
        sender = _in_thread(engine, lambda own: send(own, referral), sender_pid, sent)
        with Session(engine) as watcher:
            until(lambda: waits_for_a_lock(watcher, sender_pid), "the send wait for the mark")
            # Then it holds none of the client's consents meanwhile
            free = watcher.scalars(
                select(Consent.id)
                .where(Consent.client_id == referral.client_id)
                .with_for_update(nowait=True)
            ).all()
            assert free
            watcher.rollback()
    sender.join(PATIENCE)
    assert not sender.is_alive()
    assert not isinstance(sent[0], BaseException), sent
