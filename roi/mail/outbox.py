"""Write mail in the caller's transaction; deliver it later, once, with retries.

Delivery claims due items with a lease (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's
BEGIN IMMEDIATE serializes the claim), hands each to the transport outside any transaction, and
records the outcome. Workers on several hosts therefore never claim one item together. A worker
killed after handing a mail over but before recording it leaves the item to be taken again when
its lease ends: the mail goes out a second time with the same Message-ID, which is the price of
never losing one (SECURITY I4).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from roi import vault
from roi.clock import now
from roi.config import Settings
from roi.db import new_uuid, unit_of_work
from roi.errors import NotFound
from roi.mail import transport
from roi.mail.models import OutboxItem, OutboxStatus

logger = logging.getLogger(__name__)

#: attempts before an item is marked failed; with the back-off below, about an hour of retrying
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
#: how long a claimed item is a worker's own; far longer than one SMTP exchange (10 s timeouts)
LEASE = timedelta(minutes=5)
BATCH = 20


def retry_wait(attempts: int) -> timedelta:
    """How long background work that failed `attempts` times in a row waits before the next try:
    FIRST_RETRY, doubling up to LONGEST_WAIT (mail, and the link requests that lead to mail)."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)


@dataclass(frozen=True)
class Mail:
    """A mail without health information; `link` is a path (roi.mail.links), never a full URL."""

    to: str
    subject: str
    text: str
    link: str | None = None
    #: the paragraph after the link
    closing: str = ""

    def body(self, base_url: str) -> str:
        """The text as sent, with the link joined to the public base URL."""
        if self.link is None:
            return self.text
        return f"{self.text}\n\n{base_url}{self.link}\n\n{self.closing}".rstrip() + "\n"


@dataclass(frozen=True)
class Delivery:
    """What one pass of the worker did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


@dataclass(frozen=True)
class FailedMail:
    """A mail the worker gave up on, as an administrator sees it (no body: it may hold a link)."""

    id: int
    created_at: datetime
    attempts: int
    last_error: str | None
    to: str
    subject: str


def _place(uuid: str) -> vault.Place:
    return vault.Place("outbox_items", "message_sealed", uuid)


def enqueue(session: Session, mail: Mail, *, organization_id: int | None = None) -> OutboxItem:
    """Add `mail` to the caller's transaction; it is delivered only if that transaction commits."""
    item = outbox_item(mail, organization_id=organization_id)
    session.add(item)
    return item


def outbox_item(mail: Mail, *, organization_id: int | None = None) -> OutboxItem:
    """`mail` sealed into an outbox row that no session holds yet, for a caller that seals it
    before its write transaction (sealing needs no database) and adds it inside."""
    uuid = new_uuid()
    payload = {
        "to": mail.to,
        "subject": mail.subject,
        "text": mail.text,
        "link": mail.link,
        "closing": mail.closing,
    }
    return OutboxItem(
        uuid=uuid,
        organization_id=organization_id,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now(),
        message_sealed=vault.seal(json.dumps(payload).encode(), _place(uuid)),
    )


def _open(uuid: str, sealed: bytes) -> Mail:
    return Mail(**json.loads(vault.open_sealed(sealed, _place(uuid))))


@dataclass(frozen=True)
class _Claimed:
    id: int
    uuid: str
    created_at: datetime
    attempts: int
    message_sealed: bytes


def deliver_due(session: Session, settings: Settings, *, limit: int = BATCH) -> Delivery:
    """Deliver up to `limit` due mails; returns what happened to them."""
    sent = retried = failed = 0
    for claimed in _claim(session, limit):
        error = _attempt(settings, claimed)
        if error is None:
            _record_sent(session, claimed.id)
            sent += 1
        elif _record_failure(session, claimed, error):
            failed += 1
        else:
            retried += 1
    return Delivery(sent=sent, retried=retried, failed=failed)


def _attempt(settings: Settings, claimed: _Claimed) -> str | None:
    """Hand one claimed mail over; the class name of what went wrong, or None when it went out."""
    try:
        mail = _open(claimed.uuid, claimed.message_sealed)
    except vault.VaultError as error:
        # a key missing from this host's ring: the mail is retried and, if the ring stays wrong,
        # shown to the administrator as failed; the other mail still goes out
        logger.error("outbox item %s cannot be opened: %s", claimed.id, type(error).__name__)
        return type(error).__name__
    message = transport.compose(
        settings,
        ident=claimed.uuid,
        created_at=claimed.created_at,
        to=mail.to,
        subject=mail.subject,
        body=mail.body(settings.base_url),
    )
    try:
        transport.hand_over(
            settings, message, name=f"{claimed.created_at:%Y%m%dT%H%M%S}-{claimed.uuid}"
        )
    except transport.DELIVERY_ERRORS as error:
        # the class only: an SMTP error's text can quote the address
        logger.warning("outbox item %s not delivered: %s", claimed.id, type(error).__name__)
        return type(error).__name__
    return None


def _due(at: datetime) -> ColumnElement[bool]:
    return and_(
        OutboxItem.status == OutboxStatus.PENDING,
        OutboxItem.next_attempt_at <= at,
        or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until <= at),
    )


def any_due(session: Session) -> bool:
    """Whether a mail is due now: a read, where claiming one takes a write transaction (on
    SQLite the database's one write turn)."""
    return session.scalar(select(OutboxItem.id).where(_due(now())).limit(1)) is not None


def _claim(session: Session, limit: int) -> list[_Claimed]:
    with unit_of_work(session):
        at = now()
        items = session.scalars(
            select(OutboxItem)
            .where(_due(at))
            .order_by(OutboxItem.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        claimed = []
        for item in items:
            item.lease_until = at + LEASE
            item.attempts += 1
            claimed.append(
                _Claimed(item.id, item.uuid, item.created_at, item.attempts, item.message_sealed)
            )
    return claimed


def _record_sent(session: Session, item_id: int) -> None:
    with unit_of_work(session):
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id)
            .values(status=OutboxStatus.SENT, sent_at=now(), lease_until=None)
        )


def _record_failure(session: Session, claimed: _Claimed, error: str) -> bool:
    """Schedule the next attempt, or give up after the last; True when it gave up."""
    gave_up = claimed.attempts >= MAX_ATTEMPTS
    with unit_of_work(session):
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == claimed.id)
            .values(
                status=OutboxStatus.FAILED if gave_up else OutboxStatus.PENDING,
                next_attempt_at=now() + retry_wait(claimed.attempts),
                lease_until=None,
                last_error=error[:80],
            )
        )
    return gave_up


def failed_mail(session: Session, organization_id: int | None) -> list[FailedMail]:
    """The mails of one practice that the worker gave up on, newest first (none for someone of
    no practice)."""
    if organization_id is None:
        return []
    items = session.scalars(
        select(OutboxItem)
        .where(
            OutboxItem.organization_id == organization_id,
            OutboxItem.status == OutboxStatus.FAILED,
        )
        .order_by(OutboxItem.id.desc())
        .limit(200)
    ).all()
    shown = []
    for item in items:
        mail = _open(item.uuid, item.message_sealed)
        shown.append(
            FailedMail(
                item.id, item.created_at, item.attempts, item.last_error, mail.to, mail.subject
            )
        )
    return shown


def retry(session: Session, item_id: int, *, organization_id: int | None) -> None:
    """Give a failed mail of this practice a fresh round of attempts.

    Raises:
        NotFound: no failed mail of this practice has that id (or there is no practice).
    """
    if organization_id is None:
        raise NotFound("mail")  # mail of no practice has no practice administrator
    with unit_of_work(session):
        item = session.scalar(
            select(OutboxItem)
            .where(
                OutboxItem.id == item_id,
                OutboxItem.organization_id == organization_id,
                OutboxItem.status == OutboxStatus.FAILED,
            )
            .with_for_update()
        )
        if item is None:
            raise NotFound("mail")
        item.status = OutboxStatus.PENDING
        item.attempts = 0
        item.next_attempt_at = now()
        item.last_error = None
