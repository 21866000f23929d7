"""The outbox: a mail exists exactly when the change that caused it committed; the worker delivers
it once, retries with back-off, gives up visibly, and several workers never deliver one twice."""

from __future__ import annotations

import dataclasses
import logging
import threading
from datetime import timedelta
from email import message_from_bytes

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from roi import mail
from roi.actor import Role
from roi.clock import now
from roi.db import unit_of_work
from roi.errors import NotFound
from roi.mail.models import OutboxItem, OutboxStatus
from roi.mail.outbox import FIRST_RETRY, MAX_ATTEMPTS
from tests.factories import make_user
from tests.mail.test_transport import free_port

INVITATION = mail.Mail(
    to="casey@client.example",
    subject="A release is waiting for your signature",
    text="Open this link to read it:",
    link=mail.links.signing("tok3n"),
    closing="The link works once.",
)


def delivered(settings) -> list:
    folder = settings.instance_path / "outbox"
    return [message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def write(session: Session, message: mail.Mail = INVITATION, organization_id=None) -> None:
    with unit_of_work(session):
        mail.enqueue(session, message, organization_id=organization_id)


def test_a_committed_mail_is_delivered_once_with_its_link_from_the_base_url(session, settings):
    # Given a mail written in a committed transaction
    write(session)
    # When the worker runs twice
    first = mail.deliver_due(session, settings)
    second = mail.deliver_due(session, settings)
    # Then it went out once, and its link starts with ROI_BASE_URL
    assert (first.sent, second.sent) == (1, 0)
    [message] = delivered(settings)
    assert message["To"] == "casey@client.example"
    assert "https://roi.example.test/sign/tok3n" in message.get_payload()
    item = session.scalar(select(OutboxItem))
    assert item.status is OutboxStatus.SENT
    assert message["Message-ID"] == f"<{item.uuid}@localhost>"


def test_a_mail_of_a_rolled_back_change_never_exists(session, settings):
    # Given a change that fails after writing its mail
    def failing_change() -> None:
        with unit_of_work(session):
            mail.enqueue(session, INVITATION)
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    # Then there is nothing to deliver
    assert mail.deliver_due(session, settings).sent == 0
    assert session.scalar(select(func.count()).select_from(OutboxItem)) == 0
    assert delivered(settings) == []


def test_the_stored_mail_is_sealed(session, settings):
    write(session)
    stored = session.scalar(select(OutboxItem.message_sealed))
    assert b"casey@client.example" not in stored
    assert b"tok3n" not in stored


def test_a_failing_server_is_retried_with_back_off_then_given_up(
    session, settings, monkeypatch, caplog
):
    # Given a mail server that refuses connections
    unreachable = dataclasses.replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    monkeypatch.setattr("smtplib.SMTP.connect", _refuse)
    write(session, organization_id=None)
    caplog.set_level(logging.WARNING)
    # When the worker tries: each failure waits twice as long as the one before
    with time_machine.travel(now(), tick=False) as clock:
        assert mail.deliver_due(session, unreachable).retried == 1
        item = session.scalar(select(OutboxItem))
        assert item.attempts == 1
        assert item.next_attempt_at == now() + FIRST_RETRY
        # not due again before its time
        assert mail.deliver_due(session, unreachable) == mail.Delivery()
        clock.shift(FIRST_RETRY)
        assert mail.deliver_due(session, unreachable).retried == 1
        session.expire_all()
        assert session.scalar(select(OutboxItem)).next_attempt_at == now() + 2 * FIRST_RETRY
        # ... until the last attempt
        outcome = mail.Delivery()
        for _ in range(MAX_ATTEMPTS):
            clock.shift(timedelta(hours=1))
            outcome = mail.deliver_due(session, unreachable)
            if outcome.failed:
                break
    session.expire_all()
    item = session.scalar(select(OutboxItem))
    assert outcome.failed == 1
    assert item.status is OutboxStatus.FAILED
    assert item.attempts == MAX_ATTEMPTS
    assert item.last_error == "ConnectionRefusedError"
    # the log names the item, never the address
    assert "not delivered" in caplog.text
    assert "casey@client.example" not in caplog.text


def _refuse(self, *args, **kwargs):
    raise ConnectionRefusedError("refused")


def test_an_administrator_sees_their_practice_failed_mail_and_can_retry_it(session, settings):
    # Given a failed mail of practice 1 (organizations are made by the factories)
    admin = make_user(session, Role.ADMIN)
    other = make_user(session, Role.ADMIN, org="Northgate Psychiatry")
    write(session, organization_id=admin.user.organization_id)
    with unit_of_work(session):
        item = session.scalar(select(OutboxItem))
        item.status, item.attempts, item.last_error = OutboxStatus.FAILED, 8, "SMTPDataError"
    # Then their administrator sees it, the other practice's does not
    [failed] = mail.failed_mail(session, admin.user.organization_id)
    assert (failed.to, failed.subject, failed.attempts) == (
        "casey@client.example",
        INVITATION.subject,
        8,
    )
    assert mail.failed_mail(session, other.user.organization_id) == []
    with pytest.raises(NotFound):
        mail.retry(session, failed.id, organization_id=other.user.organization_id)
    # When their administrator tries again, the next pass delivers it
    mail.retry(session, failed.id, organization_id=admin.user.organization_id)
    assert mail.deliver_due(session, settings).sent == 1
    assert mail.failed_mail(session, admin.user.organization_id) == []


def test_a_worker_that_died_mid_delivery_is_taken_over_after_its_lease(session, settings):
    # Given a worker that claimed the mail, delivered it, and died before recording it
    write(session)
    [claimed] = mail.outbox._claim(session, 10)
    assert mail.deliver_due(session, settings).sent == 0  # still leased to the dead worker
    # When the lease has run out, another worker delivers it
    with time_machine.travel(now() + mail.outbox.LEASE, tick=False):
        assert mail.deliver_due(session, settings).sent == 1
    # Then the mail is delivered once, with the Message-ID it always had
    [message] = delivered(settings)
    assert message["Message-ID"] == f"<{claimed.uuid}@localhost>"


def test_two_workers_deliver_each_mail_exactly_once(engine, settings, monkeypatch):
    # Given 60 mails and two workers (threads with their own connections) starting together
    with Session(engine) as session, unit_of_work(session):
        for n in range(60):
            mail.enqueue(session, mail.Mail(to=f"p{n}@example.org", subject=f"n{n}", text="."))
    handed: list[str] = []
    lock = threading.Lock()
    original = mail.transport.hand_over

    def count(settings, message, *, name):
        with lock:
            handed.append(str(message["Message-ID"]))
        original(settings, message, name=name)

    monkeypatch.setattr(mail.transport, "hand_over", count)
    start = threading.Barrier(2)

    def work() -> None:
        with Session(engine) as own:
            start.wait()
            while mail.deliver_due(own, settings, limit=3).sent:
                pass

    workers = [threading.Thread(target=work) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    # Then every mail was handed over once
    assert len(handed) == 60
    assert len(set(handed)) == 60
    assert len(delivered(settings)) == 60


def test_a_mail_that_cannot_be_opened_is_retried_and_the_rest_still_goes_out(session, settings):
    # Given two mails, one of them sealed for another row (as if copied from elsewhere)
    write(session)
    write(session, mail.Mail(to="robin@client.example", subject="Second", text="."))
    with unit_of_work(session):
        first, second = session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
        first.message_sealed = second.message_sealed
    # When the worker runs
    outcome = mail.deliver_due(session, settings)
    # Then the good one is delivered, and the other waits for a retry, naming why
    assert (outcome.sent, outcome.retried) == (1, 1)
    assert [m["To"] for m in delivered(settings)] == ["robin@client.example"]
    session.expire_all()
    broken = session.get(OutboxItem, first.id)
    assert (broken.status, broken.last_error) == (OutboxStatus.PENDING, "IntegrityFailure")
