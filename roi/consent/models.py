"""Consents, their signatures and revocations, signing invitations.

Each lifecycle state is its own value (DESIGN.md): never fold them into "inactive". A signed
consent is immutable; changing one means a new consent that supersedes it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum

from sqlalchemy import JSON, Date, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roi.accounts.models import Client, Organization, Provider, User
from roi.clock import now
from roi.db import Base, UTCDateTime, new_uuid, str_enum

SEALED = {"sealed": True}


class ConsentStatus(StrEnum):
    DRAFT = "draft"
    PENDING_SIGNATURE = "pending_signature"
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    VOIDED = "voided"
    SUPERSEDED = "superseded"


class Direction(StrEnum):
    #: the discloser may share with the recipient
    ONE_WAY = "one_way"
    #: the two may share with each other
    TWO_WAY = "two_way"


class SignerRelationship(StrEnum):
    SELF = "self"
    PARENT = "parent"
    GUARDIAN = "guardian"
    PERSONAL_REPRESENTATIVE = "personal_representative"


class Consent(Base):
    """One release for one client: who may share what with whom, why, and until when."""

    __tablename__ = "consents"
    __table_args__ = (
        Index("ix_consents_client_id_status", "client_id", "status"),
        Index("ix_consents_recipient_provider_id_status", "recipient_provider_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    #: the disclosing organization and the clinician's own directory entry
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    discloser_provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    recipient_provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    template_id: Mapped[str] = mapped_column(String(80))
    template_version: Mapped[int]
    #: general | psychotherapy_notes | part2, copied from the template
    kind: Mapped[str] = mapped_column(String(30))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    purposes: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: sealed by roi.vault (Place("consents", "information_description_sealed", uuid))
    information_description_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)
    expires_on: Mapped[date | None] = mapped_column(Date)
    expiry_event: Mapped[str | None] = mapped_column(String(300))
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, 10), default=Direction.ONE_WAY)
    #: who is expected to sign: the client, or a representative (then authority is required)
    signer_relationship: Mapped[SignerRelationship] = mapped_column(
        str_enum(SignerRelationship, 30), default=SignerRelationship.SELF
    )
    #: draft → pending_signature → active → revoked | expired | superseded; or voided
    status: Mapped[ConsentStatus] = mapped_column(
        str_enum(ConsentStatus, 30), default=ConsentStatus.DRAFT, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: when the expiration event was recorded, and the day it occurred
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expiry_event_occurred_on: Mapped[date | None] = mapped_column(Date)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id"))
    #: SHA-256 of the signed PDF exactly as stored (CONTRACT.md `document_sha256`)
    document_sha256: Mapped[str | None] = mapped_column(String(64))

    client: Mapped[Client] = relationship()
    organization: Mapped[Organization] = relationship()
    discloser: Mapped[Provider] = relationship(foreign_keys=[discloser_provider_id])
    recipient: Mapped[Provider] = relationship(foreign_keys=[recipient_provider_id])
    created_by: Mapped[User] = relationship()
    signature: Mapped[Signature | None] = relationship(back_populates="consent", uselist=False)
    revocation: Mapped[Revocation | None] = relationship(back_populates="consent", uselist=False)

    def status_at(self, at: datetime) -> ConsentStatus:
        """The state at `at`: an active consent past its expiration date is expired (no job)."""
        if (
            self.status is ConsentStatus.ACTIVE
            and self.expires_on is not None
            and at >= expiry_instant(self.expires_on)
        ):
            return ConsentStatus.EXPIRED
        return ConsentStatus(self.status)


def expiry_instant(expires_on: date) -> datetime:
    """A consent "expires on" a date: it is valid up to, not including, that day (UTC)."""
    return datetime.combine(expires_on, time.min, tzinfo=UTC)


class Signature(Base):
    """The evidence of signing, and the PDF of record."""

    __tablename__ = "consent_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), unique=True)
    signer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    relationship_to_client: Mapped[SignerRelationship] = mapped_column(
        str_enum(SignerRelationship, 30)
    )
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: password | email_link_dob_code
    identity_method: Mapped[str] = mapped_column(String(40))
    template_version: Mapped[int]
    #: SHA-256 of the document the client was shown and agreed to
    shown_document_sha256: Mapped[str] = mapped_column(String(64))
    #: sealed JSON: signer name, authority, IP, user agent, assurance
    evidence_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)
    #: sealed PNG of the drawn signature, when one was drawn
    drawn_signature_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)
    #: sealed signed PDF of record; its SHA-256 is `pdf_sha256` (= consents.document_sha256)
    pdf_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    #: sealed HTML of exactly what the client was shown
    shown_document_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)

    consent: Mapped[Consent] = relationship(back_populates="signature")


class Revocation(Base):
    """Who took the consent back, when and how; effective for every decision after it commits."""

    __tablename__ = "consent_revocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), unique=True)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: portal | api | written (recorded by a clinician from a written request)
    method: Mapped[str] = mapped_column(String(20))
    #: sealed by roi.vault, optional
    reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)

    consent: Mapped[Consent] = relationship(back_populates="revocation")


class SigningInvitation(Base):
    """An emailed signing link: single use, expiring, opened only with date of birth + a code."""

    __tablename__ = "signing_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: when the signature completed (single use) or the consent left pending_signature
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    code_sha256: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_attempts: Mapped[int] = mapped_column(default=0)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Notification(Base):
    """An in-app notice to a user (a consent was signed, revoked, ...); text carries no PHI."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
