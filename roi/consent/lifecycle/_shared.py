"""What several lifecycle steps share: the sealed description, notices to users, closing
emailed links, and the words for a state change that is refused."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from roi import vault
from roi.clock import now
from roi.consent.models import (
    Consent,
    ConsentStatus,
    Notification,
    SigningInvitation,
)


def description_place(consent: Consent) -> vault.Place:
    return vault.Place("consents", "information_description_sealed", consent.uuid)


def description_of(consent: Consent) -> str:
    """The consent's specific description of the information, unsealed."""
    if consent.information_description_sealed is None:
        return ""
    return vault.open_sealed(
        consent.information_description_sealed, description_place(consent)
    ).decode()


def _close_invitations(session: Session, consent_id: int, at: datetime) -> None:
    """Emailed links die once the consent leaves pending_signature (signed or voided)."""
    session.execute(
        update(SigningInvitation)
        .where(SigningInvitation.consent_id == consent_id, SigningInvitation.used_at.is_(None))
        .values(used_at=at)
    )


def _notify(session: Session, user_id: int, consent: Consent, text: str) -> None:
    session.add(Notification(user_id=user_id, consent_id=consent.id, text=text))


def _clinician_users(consent: Consent) -> list[int]:
    users = [consent.created_by_id, consent.recipient.user_id]
    return sorted({u for u in users if u is not None})


STATE_WORDS = {
    ConsentStatus.DRAFT: "is still a draft",
    ConsentStatus.PENDING_SIGNATURE: "is waiting for the client's signature",
    ConsentStatus.ACTIVE: "is already signed and active",
    ConsentStatus.REVOKED: "was revoked by the client",
    ConsentStatus.EXPIRED: "has expired",
    ConsentStatus.VOIDED: "was voided",
    ConsentStatus.SUPERSEDED: "was replaced by a newer version",
}


def _state_message(consent: Consent, verb: str, at: datetime | None = None) -> str:
    state = consent.status_at(at or now())
    return f"This release cannot be {verb}: it {STATE_WORDS[state]}."
