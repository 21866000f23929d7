"""Message drafts: a message no release covers yet, kept while its author creates one.

"Create a release for this client" on the compose page keeps what was typed here, one draft per
author and client (keeping again replaces it). The author comes back to it from the client's page
or the messages page once the release is signed; sending that client a message discards it.
Nothing is disclosed by a draft: only its author sees it. Subject and body are sealed as a
message's are; attached files are not kept (the compose page says so).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from roi import vault
from roi.accounts.policy import Permission, require
from roi.actor import Actor
from roi.clock import now
from roi.consent.queries import client_for_disclosure
from roi.db import new_uuid, unit_of_work
from roi.errors import NotFound
from roi.messaging.models import MessageDraft
from roi.messaging.service import Outgoing


@dataclass(frozen=True)
class Kept:
    """A draft as the compose page starts from it."""

    draft: MessageDraft
    subject: str
    body: str


def keep(session: Session, actor: Actor, outgoing: Outgoing) -> MessageDraft:
    """Keep `outgoing` (without its files) as the actor's draft about its client.

    Raises:
        Forbidden: the actor may not send messages.
        NotFound: the client is not one the actor may disclose about.
    """
    require(actor, Permission.SEND_MESSAGES)
    client = client_for_disclosure(session, actor, outgoing.client_id)
    uuid = new_uuid()
    with unit_of_work(session):
        _delete(session, MessageDraft.user_id == actor.user_id, MessageDraft.client_id == client.id)
        draft = MessageDraft(
            uuid=uuid,
            user_id=actor.user_id,
            client_id=client.id,
            recipient_provider_id=outgoing.recipient_provider_id or None,
            reply_to_id=outgoing.reply_to_id,
            categories=sorted(set(outgoing.categories)),
            purpose=outgoing.purpose,
            subject_sealed=vault.seal(outgoing.subject.strip().encode(), _place(uuid, "subject")),
            body_sealed=vault.seal(outgoing.body.encode(), _place(uuid, "body")),
            saved_at=now(),
        )
        session.add(draft)
    return draft


def drafts_for(session: Session, actor: Actor, client_id: int | None = None) -> list[MessageDraft]:
    """The actor's drafts (about `client_id` only, when given), newest first."""
    require(actor, Permission.SEND_MESSAGES)
    query = select(MessageDraft).where(MessageDraft.user_id == actor.user_id)
    if client_id is not None:
        query = query.where(MessageDraft.client_id == client_id)
    return list(session.scalars(query.order_by(MessageDraft.saved_at.desc(), MessageDraft.id)))


def open_draft(session: Session, actor: Actor, draft_id: int) -> Kept:
    """One of the actor's drafts, opened.

    Raises:
        NotFound: not a draft of the actor's (another's is never told apart from none).
    """
    draft = _draft_for(session, actor, draft_id)
    return Kept(
        draft=draft,
        subject=vault.open_sealed(draft.subject_sealed, _place(draft.uuid, "subject")).decode(),
        body=vault.open_sealed(draft.body_sealed, _place(draft.uuid, "body")).decode(),
    )


def discard(session: Session, actor: Actor, draft_id: int) -> None:
    """Delete one of the actor's drafts.

    Raises:
        NotFound: not a draft of the actor's.
    """
    draft = _draft_for(session, actor, draft_id)
    with unit_of_work(session):
        _delete(session, MessageDraft.id == draft.id)


def sent_about(session: Session, actor: Actor, client_id: int) -> None:
    """The actor sent a message about `client_id`: their draft about that client is done."""
    with unit_of_work(session):
        _delete(session, MessageDraft.user_id == actor.user_id, MessageDraft.client_id == client_id)


def _draft_for(session: Session, actor: Actor, draft_id: int) -> MessageDraft:
    require(actor, Permission.SEND_MESSAGES)
    draft = session.get(MessageDraft, draft_id)
    if draft is None or draft.user_id != actor.user_id:
        raise NotFound("draft")
    return draft


def _delete(session: Session, *where: ColumnElement[bool]) -> None:
    # a draft is no record: never disclosed, seen by its author only; what is sent is the
    # message, kept with its audit entry
    session.execute(delete(MessageDraft).where(*where))


def _place(uuid: str, part: str) -> vault.Place:
    return vault.Place("message_drafts", f"{part}_sealed", uuid)
