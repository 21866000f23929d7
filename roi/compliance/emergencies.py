"""Compliance's review of emergency disclosures: the queue of those not yet reviewed, each
reviewed with a note, and the alerts raised when a clinician reached the practice's emergency
rate.

An officer sees the emergency disclosures their organization's clinicians sent (only the client's
own practice discloses in an emergency, so these are also their clients'); another practice's
record is "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, selectinload

from roi import audit, vault
from roi.accounts.models import User
from roi.accounts.policy import Permission, require
from roi.actor import Actor
from roi.audit import Action, AuditEntry
from roi.clock import now
from roi.compliance.scope import officer_scope
from roi.consent.emergency import EmergencyBasis
from roi.db import unit_of_work
from roi.errors import Invalid, NotFound, WrongState
from roi.i18n import Message
from roi.messaging.emergencies import emergency_text
from roi.messaging.models import EmergencyDisclosure

MAX_NOTE = 2000
#: how far back the overview shows rate alerts
ALERTS_SHOWN_FOR = timedelta(days=30)


@dataclass(frozen=True)
class Entry:
    """One emergency disclosure as compliance reviews it, its sealed texts opened."""

    id: int
    message_id: int
    at: datetime
    sender: str
    recipient: str
    client_id: int
    client_name: str
    basis: EmergencyBasis
    nature: str
    recipient_personnel: str
    client_told: bool
    client_not_told_reason: str
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None


@dataclass(frozen=True)
class RateAlert:
    """A clinician refused for reaching the practice's emergency rate."""

    at: datetime
    clinician: str
    limit: int


def queue(session: Session, actor: Actor, *, reviewed: bool | None = None) -> list[Entry]:
    """The organization's emergency disclosures, newest first; `reviewed` keeps only those
    reviewed (True) or waiting (False). Looking is audited (`audit.viewed`, SECURITY G7).

    Raises:
        Forbidden: the actor does not review emergency disclosures.
    """
    require(actor, Permission.REVIEW_EMERGENCY_DISCLOSURES)
    query = _visible(actor)
    if reviewed is not None:
        query = query.where(
            EmergencyDisclosure.reviewed_at.is_not(None)
            if reviewed
            else EmergencyDisclosure.reviewed_at.is_(None)
        )
    found = list(
        session.scalars(
            query.order_by(EmergencyDisclosure.at.desc(), EmergencyDisclosure.id.desc())
        )
    )
    entries = [_entry(session, record) for record in found]
    with unit_of_work(session):
        audit.record(session, actor, Action.AUDIT_VIEWED, detail={"view": "emergency_disclosures"})
    return entries


def waiting_count(session: Session, actor: Actor) -> int:
    """How many of the organization's emergency disclosures wait for review."""
    require(actor, Permission.REVIEW_EMERGENCY_DISCLOSURES)
    count = session.scalar(
        select(func.count()).select_from(
            _visible(actor).where(EmergencyDisclosure.reviewed_at.is_(None)).subquery()
        )
    )
    return int(count or 0)


def review(session: Session, actor: Actor, disclosure_id: int, note: str) -> Entry:
    """Record compliance's review of one emergency disclosure, with its note; audited as
    `disclosure.emergency_reviewed`.

    Raises:
        Forbidden: the actor does not review emergency disclosures.
        NotFound: not one of the organization's emergency disclosures.
        Invalid: no note, or one too long.
        WrongState: already reviewed.
    """
    require(actor, Permission.REVIEW_EMERGENCY_DISCLOSURES)
    note = note.strip()
    if not note or len(note) > MAX_NOTE or "\x00" in note:
        raise Invalid(
            {
                "note": Message(
                    "Write what you found, in under %(most)s characters.",
                    most=format(MAX_NOTE, ","),
                )
            }
        )
    with unit_of_work(session):
        record = session.scalar(
            _visible(actor).where(EmergencyDisclosure.id == disclosure_id).with_for_update()
        )
        if record is None:
            raise NotFound("emergency disclosure")
        if record.reviewed_at is not None:
            raise WrongState(f"emergency disclosure {record.id} was already reviewed")
        record.reviewed_at = now()
        record.reviewed_by_id = actor.user_id
        record.review_note_sealed = vault.seal(
            note.encode(),
            vault.Place("emergency_disclosures", "review_note_sealed", record.uuid),
        )
        audit.record(
            session,
            actor,
            Action.DISCLOSURE_EMERGENCY_REVIEWED,
            client_id=record.client_id,
            recipient_provider_id=record.recipient_provider_id,
            message_id=record.message_id,
            detail={"emergency_disclosure_id": record.id},
        )
        session.flush()
        return _entry(session, record)


def rate_alerts(session: Session, actor: Actor, *, at: datetime | None = None) -> list[RateAlert]:
    """Emergency sends refused for the practice's rate in the last 30 days, newest first.

    Raises:
        Forbidden: the actor does not review emergency disclosures.
    """
    require(actor, Permission.REVIEW_EMERGENCY_DISCLOSURES)
    since = (at or now()) - ALERTS_SHOWN_FOR
    rows = session.execute(
        select(AuditEntry.at, AuditEntry.detail, User.name)
        .join(User, User.id == AuditEntry.actor_id, isouter=True)
        .where(
            AuditEntry.action == Action.DISCLOSURE_EMERGENCY_RATE_EXCEEDED,
            AuditEntry.at >= since,
            officer_scope(actor),
        )
        .order_by(AuditEntry.seq.desc())
    ).all()
    return [
        RateAlert(
            at=row.at, clinician=row.name or "Unknown", limit=int((row.detail or {})["limit"])
        )
        for row in rows
    ]


def _in_organization(actor: Actor) -> ColumnElement[bool]:
    return EmergencyDisclosure.organization_id == actor.organization_id


def _visible(actor: Actor) -> Select[EmergencyDisclosure]:
    return (
        select(EmergencyDisclosure)
        .where(_in_organization(actor))
        .options(
            selectinload(EmergencyDisclosure.client),
            selectinload(EmergencyDisclosure.sender_provider),
            selectinload(EmergencyDisclosure.recipient),
        )
    )


def _entry(session: Session, record: EmergencyDisclosure) -> Entry:
    reviewer = (
        session.scalar(select(User.name).where(User.id == record.reviewed_by_id))
        if record.reviewed_by_id
        else None
    )
    return Entry(
        id=record.id,
        message_id=record.message_id,
        at=record.at,
        sender=record.sender_provider.name,
        recipient=record.recipient.name,
        client_id=record.client_id,
        client_name=record.client.display_name,
        basis=record.basis,
        nature=emergency_text(record, "nature_sealed"),
        recipient_personnel=emergency_text(record, "recipient_personnel_sealed"),
        client_told=record.client_told,
        client_not_told_reason=emergency_text(record, "client_not_told_reason_sealed"),
        reviewed_at=record.reviewed_at,
        reviewed_by=reviewer,
        review_note=emergency_text(record, "review_note_sealed") or None,
    )
