"""What several lifecycle steps share: the sealed description, the end a signed release's date
sets, putting a signed release in force, notices to users, closing emailed links, and the words
for a state change that is refused."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from roi import audit, mail, vault
from roi.accounts.models import User
from roi.actor import Actor
from roi.audit import Action
from roi.clock import now
from roi.consent import notices
from roi.consent.models import (
    Consent,
    ConsentStatus,
    LinkPurpose,
    Notification,
    SigningInvitation,
    expiry_instant,
)
from roi.i18n import N_, Message

#: how long the emailed link to a signer's copy (and to revoking) works (164.508(c)(4))
COPY_LINK_LIFETIME = timedelta(days=30)


def description_place(consent: Consent) -> vault.Place:
    return vault.Place("consents", "information_description_sealed", consent.uuid)


def description_of(consent: Consent) -> str:
    """The consent's specific description of the information, unsealed."""
    if consent.information_description_sealed is None:
        return ""
    return vault.open_sealed(
        consent.information_description_sealed, description_place(consent)
    ).decode()


def date_end(consent: Consent) -> datetime | None:
    """When the release's "expires on" day ends it: 00:00 of that day in its practice's time
    zone (the day the client read on the form is the practice's). Signing fixes it on the
    consent (`Consent.expires_at`); until then it follows the practice's zone."""
    if consent.expires_at is not None:
        return consent.expires_at
    if consent.expires_on is None:
        return None
    return expiry_instant(consent.expires_on, consent.organization.time_zone)


def _close_invitations(session: Session, consent_id: int, at: datetime) -> None:
    """Signing links die once the consent leaves pending_signature (signed or voided)."""
    session.execute(
        update(SigningInvitation)
        .where(
            SigningInvitation.consent_id == consent_id,
            SigningInvitation.purpose == LinkPurpose.SIGN,
            SigningInvitation.used_at.is_(None),
        )
        .values(used_at=at)
    )


def _new_link(
    session: Session, consent: Consent, purpose: LinkPurpose, expires_at: datetime
) -> str:
    """A new emailed link to `consent`, in the caller's unit of work; its secret is returned
    (only its digest is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        SigningInvitation(
            consent_id=consent.id,
            purpose=purpose,
            token_sha256=hashlib.sha256(token.encode()).hexdigest(),
            expires_at=expires_at,
        )
    )
    return token


def activate(
    session: Session,
    actor: Actor,
    consent: Consent,
    *,
    signed_at: datetime,
    document_sha256: str,
    identity_method: str,
    detail: dict[str, str | int] | None = None,
) -> None:
    """Put `consent`, signed at `signed_at` with `document_sha256` as its document of record, in
    force, in the caller's unit of work: the signing audited (`identity_method` and `detail`
    with the document's digest), its clinicians told, and the client mailed the link to their
    copy (164.508(c)(4)). Whatever this signing closes (emailed links, a version it replaces)
    is the caller's: the two ways of signing close different things."""
    consent.status = ConsentStatus.ACTIVE
    consent.signed_at = signed_at
    consent.expires_at = date_end(consent)
    consent.document_sha256 = document_sha256
    for user_id in _clinician_users(consent):
        notify(session, user_id, consent, signed_notice(consent))
    mail_copy_link(session, consent)
    # last: on PostgreSQL the audit log's head is held from here to the commit
    audit.record(
        session,
        actor,
        Action.CONSENT_SIGNED,
        client_id=consent.client_id,
        consent_id=consent.id,
        recipient_provider_id=consent.recipient_provider_id,
        categories=consent.categories,
        detail={
            "identity_method": identity_method,
            "document_sha256": document_sha256,
            **(detail or {}),
        },
    )


def mail_copy_link(session: Session, consent: Consent) -> bool:
    """Mail the client a link to their signed copy (and to revoking it), valid 30 days, in the
    caller's unit of work; False when no address is on file."""
    if not consent.client.email:
        return False
    token = _new_link(session, consent, LinkPurpose.SIGNED, now() + COPY_LINK_LIFETIME)
    mail.enqueue(
        session, notices.copy_mail(consent, token), organization_id=consent.organization_id
    )
    return True


def notify(session: Session, user_id: int, consent: Consent, notice: Message) -> None:
    """Leave user `user_id` a notice about `consent`, written in their language as a mail is,
    and kept as a message for pages in another language."""
    language = session.scalar(select(User.language).where(User.id == user_id))
    session.add(Notification.saying(user_id, notice, language, consent_id=consent.id))


def signed_notice(consent: Consent) -> Message:
    """The clinicians' notice of a signature, naming the client (they know people, not
    numbers)."""
    return Message(
        "%(name)s signed release #%(number)s; it is active now.",
        name=consent.client.display_name,
        number=consent.id,
    )


def _clinician_users(consent: Consent) -> list[int]:
    users = [consent.created_by_id, consent.recipient.user_id]
    return sorted({u for u in users if u is not None})


STATE_WORDS = {
    ConsentStatus.DRAFT: N_("is still a draft"),
    ConsentStatus.PENDING_SIGNATURE: N_("is waiting for the client's signature"),
    ConsentStatus.ACTIVE: N_("is already signed and active"),
    ConsentStatus.REVOKED: N_("was revoked by the client"),
    ConsentStatus.EXPIRED: N_("has expired"),
    ConsentStatus.VOIDED: N_("was voided"),
    ConsentStatus.SUPERSEDED: N_("was replaced by a newer version"),
}
#: the refusal of each state change, by the verb the lifecycle names it with
REFUSALS = {
    "sent": N_("This release cannot be sent: it %(state)s."),
    "signed": N_("This release cannot be signed: it %(state)s."),
    "changed": N_("This release cannot be changed: it %(state)s."),
    "voided": N_("This release cannot be voided: it %(state)s."),
    "amended": N_("This release cannot be amended: it %(state)s."),
    "revoked": N_("This release cannot be revoked: it %(state)s."),
    "expired": N_("This release cannot be expired: it %(state)s."),
    "printed for signing": N_("This release cannot be printed for signing: it %(state)s."),
}


def state_refusal(consent: Consent, verb: str, at: datetime | None = None) -> Message:
    """Why `consent` cannot be `verb` (a key of REFUSALS) now, shown in the reader's language."""
    state = consent.status_at(at or now())
    return Message(REFUSALS[verb], state=Message(STATE_WORDS[state]))
