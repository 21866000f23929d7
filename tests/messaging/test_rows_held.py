"""A send is not held up by a writer that takes turns on a row the send's new rows name.

A send writes its message, notice and mail in the statement that takes the audit head
(`roi.audit.record`'s `writing`), and PostgreSQL checks their foreign keys at the end of that
statement. A writer holding such a row FOR UPDATE, and then waiting for the head to record its own
entry, would deadlock with the send. The writers that take turns on a client or a clinician
(an accounting request being recorded, an emergency send counting toward its rate) lock FOR NO
KEY UPDATE, which keeps them in turn without holding up rows that name the client or clinician.

PostgreSQL only: SQLite runs one writer at a time, so the holder would hold the send's turn.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from roi import audit
from roi.accounts.models import Client, Provider
from roi.actor import Actor, Role
from roi.audit import Action
from roi.clock import now
from roi.compliance.accounting import client_for_accounting
from roi.db import unit_of_work
from roi.messaging import emergencies
from roi.messaging.models import Message
from tests.consent.conftest import Referral
from tests.factories import make_user
from tests.messaging.test_send import send

#: how long the holder waits for the send before it gives up (and the test fails)
PATIENCE_S = 10


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("SQLite runs one writer at a time")


def _send_while_held(
    engine: Engine,
    session: Session,
    referral: Referral,
    actor: Actor,
    hold: Callable[[Session], None],
) -> None:
    """Send while another transaction holds what `hold` locks; it then records an entry."""
    held, sent = threading.Event(), threading.Event()
    gave_up: list[bool] = []

    def holder() -> None:
        with Session(engine) as own, unit_of_work(own):
            hold(own)
            held.set()
            gave_up.append(not sent.wait(PATIENCE_S))
            audit.record(own, actor, Action.ACCOUNTING_REQUESTED, client_id=referral.client_id)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(PATIENCE_S)
        message = send(session, referral)
    finally:
        sent.set()
        thread.join()
    # Then the send went out while the row was held, and both entries are in the chain
    assert gave_up == [False]
    session.rollback()
    assert session.get(Message, message.id) is not None
    assert audit.verify(session).ok


def test_recording_an_accounting_request_does_not_hold_up_a_send_about_the_client(
    engine, session, referral
):
    officer = make_user(session, Role.COMPLIANCE, name="Priya Raman")

    def take_the_clients_turn(own: Session) -> None:
        client_for_accounting(own, officer.actor, referral.client_id, lock=True)

    referral.signed(session)
    _send_while_held(engine, session, referral, officer.actor, take_the_clients_turn)


def test_an_emergency_counting_its_rate_does_not_hold_up_a_send_by_the_clinician(
    engine, session, referral
):
    therapist = referral.therapist

    def take_the_clinicians_turn(own: Session) -> None:
        client = own.get(Client, referral.client_id)
        discloser = own.scalar(select(Provider).where(Provider.user_id == therapist.user.id))
        recipient = own.get(Provider, referral.recipient_id)
        assert client is not None
        assert discloser is not None
        assert recipient is not None
        refusal = emergencies.rate_refusal(
            own, therapist.actor, client=client, discloser=discloser, recipient=recipient, at=now()
        )
        assert refusal is None  # below the practice's rate: the emergency would go on

    referral.signed(session)
    _send_while_held(engine, session, referral, therapist.actor, take_the_clinicians_turn)
