"""Compliance fixtures: the consent referral, its practice's compliance officer, another
practice's officer, and disclosures made the real way (the gate, `messaging.service.send`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from roi.accounts.models import Provider
from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.errors import ConsentRequired
from roi.messaging import service
from roi.messaging.models import Message
from tests.consent.conftest import Referral, library, referral
from tests.factories import Person, make_client, make_user

__all__ = ["Referral", "library", "referral"]

OTHER_PRACTICE = "Northgate Psychiatry"


@pytest.fixture
def officer(session, referral) -> Person:
    """Compliance at the therapist's practice (Riverside Counseling)."""
    return make_user(session, Role.COMPLIANCE, name="Priya Raman")


@pytest.fixture
def other_officer(session, referral) -> Person:
    """Compliance at the psychiatrist's practice."""
    return make_user(session, Role.COMPLIANCE, org=OTHER_PRACTICE, name="Lena Ortiz")


def outgoing(referral: Referral, **changes: object) -> service.Outgoing:
    base = service.Outgoing(
        client_id=referral.client_id,
        recipient_provider_id=referral.recipient_id,
        categories=("diagnosis",),
        purpose="treatment",
        subject="Referral summary",
        body="Diagnosis and current plan.",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def disclose(session: Session, referral: Referral, **changes: object) -> Message:
    """The therapist sends a message the gate permits."""
    return service.send(
        session, referral.therapist.actor, referral.library, outgoing(referral, **changes)
    )


def attempt_denied(session: Session, referral: Referral, **changes: object) -> list[str]:
    """The therapist tries a disclosure the gate denies; returns the reason codes."""
    with pytest.raises(ConsentRequired) as refused:
        service.send(
            session, referral.therapist.actor, referral.library, outgoing(referral, **changes)
        )
    return [reason["code"] for reason in refused.value.reasons]


def entries(session: Session, *actions: Action) -> list[AuditEntry]:
    session.rollback()
    query = select(AuditEntry).order_by(AuditEntry.seq)
    if actions:
        query = query.where(AuditEntry.action.in_(actions))
    return list(session.scalars(query))


def last_seq(session: Session) -> int:
    session.rollback()
    return session.scalar(select(func.max(AuditEntry.seq))) or 0


@dataclass
class Seeded:
    """A practice's disclosure history, and another practice's, side by side."""

    referral: Referral
    consent_id: int
    permitted: list[Message]
    denied_reasons: list[str]
    #: the psychiatrist's own practice: a client and a denied attempt about them
    foreign_client_id: int
    foreign_seqs: list[int]


@pytest.fixture
def seeded(session, referral, officer, other_officer) -> Seeded:
    # Given an active consent for diagnosis and medications, for treatment
    consent = referral.signed(session)
    # And two disclosures under it, one blocked attempt, and the recipient opening a message
    first = disclose(session, referral)
    second = disclose(session, referral, categories=("medications",), subject="Medications")
    denied = attempt_denied(session, referral, categories=("assessments",))
    service.open_message(session, referral.psychiatrist.actor, first.id)
    # And a second client of the practice, with no disclosures yet
    make_client(session, referral.therapist, given_name="Maya", family_name="Chen")
    # And, at the other practice, a client of their own and an attempt about them with no consent
    before = last_seq(session)
    foreign = make_client(session, referral.psychiatrist, given_name="Ruth", family_name="Ellison")
    therapist_provider = session.scalar(
        select(Provider).where(Provider.user_id == referral.therapist.user.id)
    )
    with pytest.raises(ConsentRequired):
        service.send(
            session,
            referral.psychiatrist.actor,
            referral.library,
            service.Outgoing(
                client_id=foreign.id,
                recipient_provider_id=therapist_provider.id,
                categories=("diagnosis",),
                purpose="treatment",
                subject="Question",
                body="About Ruth.",
            ),
        )
    foreign_seqs = list(range(before + 1, last_seq(session) + 1))
    return Seeded(referral, consent.id, [first, second], denied, foreign.id, foreign_seqs)
