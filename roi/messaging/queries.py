"""Scoped loaders for messages: a message is visible to its sender and its recipient only.

Any other clinician gets NotFound, never told apart from a message that does not exist (SECURITY
C1); clients and compliance may read no messages at all (Forbidden, whatever the id).
Compliance sees that a message went out, and under which consent, in the audit log; not its
content.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, selectinload

from roi.accounts.models import Provider
from roi.accounts.policy import Permission, require
from roi.actor import Actor
from roi.errors import NotFound
from roi.messaging.models import Message


class Box(StrEnum):
    INBOX = "inbox"
    SENT = "sent"


def _received_by(actor: Actor) -> ColumnElement[bool]:
    return Message.recipient_provider_id.in_(
        select(Provider.id).where(Provider.user_id == actor.user_id)
    )


def _visible(actor: Actor) -> ColumnElement[bool]:
    return or_(Message.sender_user_id == actor.user_id, _received_by(actor))


def message_for(session: Session, actor: Actor, message_id: int) -> Message:
    """A message the actor sent or received.

    Raises:
        NotFound: no such message, or not the actor's.
    """
    require(actor, Permission.READ_MESSAGES)
    message = session.scalar(
        select(Message)
        .where(Message.id == message_id, _visible(actor))
        .options(selectinload(Message.attachments), selectinload(Message.emergency))
    )
    if message is None:
        raise NotFound("message")
    return message


def messages_for(
    session: Session, actor: Actor, box: Box, *, client_id: int | None = None, limit: int = 100
) -> list[Message]:
    """The actor's inbox or sent box, newest first."""
    require(actor, Permission.READ_MESSAGES)
    where = _received_by(actor) if box is Box.INBOX else Message.sender_user_id == actor.user_id
    query = select(Message).where(where)
    if client_id is not None:
        query = query.where(Message.client_id == client_id)
    return list(
        session.scalars(
            query.options(selectinload(Message.attachments), selectinload(Message.emergency))
            .order_by(Message.sent_at.desc(), Message.id.desc())
            .limit(limit)
        )
    )


def unread_count(session: Session, actor: Actor) -> int:
    """How many received messages the actor has not opened yet."""
    require(actor, Permission.READ_MESSAGES)
    count = session.scalar(
        select(func.count())
        .select_from(Message)
        .where(_received_by(actor), Message.read_at.is_(None))
    )
    return int(count or 0)
