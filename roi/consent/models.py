"""Consents, their signatures and revocations, signing invitations.

Each lifecycle state is its own value (DESIGN.md): never fold them into "inactive". A signed
consent is immutable; changing one means a new consent that supersedes it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    SQLColumnExpression,
    String,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roi import i18n
from roi.accounts.models import Client, Organization, Provider, User
from roi.clock import day_start, now
from roi.db import Base, UTCDateTime, day_start_sql, new_uuid, str_enum

SEALED = {"sealed": True}
#: a consent whose "expires on" day is at most this many days away is "expiring soon"
EXPIRING_WITHIN_DAYS = 30


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


class ExpiryEventKind(StrEnum):
    """The kind of a consent's expiration event (164.508(c)(1)(v)): one roi sees happen itself,
    or another that a clinician records by hand."""

    #: the release permits exactly one disclosure; the gate expires it with that disclosure
    AFTER_FIRST_DISCLOSURE = "after_first_disclosure"
    #: it ends when the clinician records the client's discharge
    END_OF_TREATMENT = "end_of_treatment"
    #: any other event, described in `expiry_event` and recorded by hand
    OTHER = "other"


class RequiredSigner(StrEnum):
    """Who must sign a release (`roi.consent.signers.required_signer`)."""

    CLIENT = "client"
    REPRESENTATIVE = "representative"
    CLIENT_OR_REPRESENTATIVE = "client_or_representative"


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
    #: the language of the release's text (roi.i18n.LANGUAGES): the one the client reads and
    #: signs, the one its PDF is in
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    #: general | psychotherapy_notes | part2, copied from the template
    kind: Mapped[str] = mapped_column(String(30))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    purposes: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: sealed by roi.vault (Place("consents", "information_description_sealed", uuid))
    information_description_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)
    expires_on: Mapped[date | None] = mapped_column(Date)
    #: when `expires_on` ends the release: 00:00 of that day in its practice's time zone at
    #: signing (`expiry_instant`); None until then (`ends_by_date`)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expiry_event: Mapped[str | None] = mapped_column(String(300))
    #: what kind of event `expiry_event` is; None when the consent has only a date
    expiry_event_kind: Mapped[ExpiryEventKind | None] = mapped_column(str_enum(ExpiryEventKind, 30))
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, 10), default=Direction.ONE_WAY)
    #: who is expected to sign: the client, or a representative (then authority is required)
    signer_relationship: Mapped[SignerRelationship] = mapped_column(
        str_enum(SignerRelationship, 30), default=SignerRelationship.SELF
    )
    #: who had to sign, as decided at signing (`roi.consent.signers`); None before
    required_signer: Mapped[RequiredSigner | None] = mapped_column(str_enum(RequiredSigner, 30))
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
    #: the id of the client's own request (`ShareRequest`) this release answers; only such a
    #: release may use the purpose "at the request of the individual" (164.508(c)(1)(iv)). No
    #: database constraint: SQLite adds one to a table only by rebuilding it, which the rows of
    #: the tables that reference consents do not survive; drafting checks the request instead.
    share_request_id: Mapped[int | None] = mapped_column()
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
        """The consent's state at `at`, read from its timestamps: the Python form of the rule.

        Validity is half-open: a consent is active from the instant it was signed up to, not
        including, the first of its revocation, its supersession, its recorded expiration event
        and the start of its "expires on" day (`ends_by_date`; on a tie, in that order). Before
        signing it is a draft, then pending once sent, or voided once voided. `status_sql` is the
        SQL form.
        """
        if self.signed_at is None or at < self.signed_at:
            if self.voided_at is not None and at >= self.voided_at:
                return ConsentStatus.VOIDED
            if self.sent_at is not None and at >= self.sent_at:
                return ConsentStatus.PENDING_SIGNATURE
            return ConsentStatus.DRAFT
        ends = [
            (self.revoked_at, ConsentStatus.REVOKED),
            (self.superseded_at, ConsentStatus.SUPERSEDED),
            (self.expired_at, ConsentStatus.EXPIRED),
            (self.ends_by_date, ConsentStatus.EXPIRED),
        ]
        ended = [(when, state) for when, state in ends if when is not None and at >= when]
        if ended:
            return min(ended, key=lambda item: item[0])[1]
        recorded_ends = (self.revoked_at, self.superseded_at, self.expired_at)
        if self.status is not ConsentStatus.ACTIVE and not any(
            when is not None and when > at for when in recorded_ends
        ):
            # a signed row that is no longer active but holds no end time after `at`: fail closed
            return ConsentStatus(self.status)
        return ConsentStatus.ACTIVE

    @property
    def ends_by_date(self) -> datetime | None:
        """The instant the "expires on" day ends the consent: `expires_at`, fixed at signing in
        the practice's time zone; 00:00 UTC of the day for a row written without it (which in
        the Americas is before the day begins there: never late)."""
        if self.expires_at is not None:
            return self.expires_at
        return expiry_instant(self.expires_on) if self.expires_on is not None else None


def expiry_instant(expires_on: date, time_zone: str = "UTC") -> datetime:
    """A consent "expires on" a date: it is valid up to, not including, that day as it begins
    in `time_zone` (the practice's), as a UTC instant.

    A release "ends on May 1": a practice in California reads that as its own midnight, not
    00:00 UTC (5 p.m. on April 30 there).
    """
    return day_start(expires_on, time_zone)


#: a timestamp column, or an expression of one, in the SQL form of the state rule
_Instant = SQLColumnExpression[datetime | None]


def _after(end: _Instant, moment: _Instant) -> ColumnElement[bool]:
    """`end` is recorded and later than `moment` (never NULL, so it can be negated)."""
    return and_(end.is_not(None), end > moment)


def _first_end(end: _Instant, *others: _Instant) -> ColumnElement[bool]:
    """`end` comes no later than each recorded end in `others`."""
    return and_(*(or_(other.is_(None), end <= other) for other in others))


def status_sql(at: datetime) -> ColumnElement[str]:
    """`Consent.status_at(at)` as a SQL expression over the consents table: the same rule."""
    at = at.astimezone(UTC)
    moment = literal(at, UTCDateTime())
    c = Consent
    # `Consent.ends_by_date`: the instant fixed at signing, else 00:00 UTC of the day
    expiry: _Instant = func.coalesce(c.expires_at, day_start_sql(c.expires_on))
    date_passed = and_(expiry.is_not(None), expiry <= moment)
    revoked = and_(
        c.revoked_at <= moment, _first_end(c.revoked_at, c.superseded_at, c.expired_at, expiry)
    )
    superseded = and_(
        c.superseded_at <= moment,
        # a tie with the revocation went to the revocation, the branch before this one
        _first_end(c.superseded_at, c.revoked_at, c.expired_at, expiry),
    )
    ended_later = or_(
        *(_after(end, moment) for end in (c.revoked_at, c.superseded_at, c.expired_at))
    )
    unsigned = case(
        (c.voided_at <= moment, ConsentStatus.VOIDED.value),
        (c.sent_at <= moment, ConsentStatus.PENDING_SIGNATURE.value),
        else_=ConsentStatus.DRAFT.value,
    )
    return case(
        (or_(c.signed_at.is_(None), c.signed_at > moment), unsigned),
        (revoked, ConsentStatus.REVOKED.value),
        (superseded, ConsentStatus.SUPERSEDED.value),
        (or_(c.expired_at <= moment, date_passed), ConsentStatus.EXPIRED.value),
        (
            and_(c.status != ConsentStatus.ACTIVE, ~ended_later),
            cast(c.status, String),
        ),
        else_=ConsentStatus.ACTIVE.value,
    )


def has_status(status: ConsentStatus, at: datetime) -> ColumnElement[bool]:
    """Consents whose state at `at` is `status` (`status_sql`), as a WHERE clause."""
    return status_sql(at) == status.value


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
    #: password | api_token | email_link_dob_code | in_person (on the clinician's device,
    #: roi.consent.handover) | paper (`SIGNATURE_METHODS`)
    identity_method: Mapped[str] = mapped_column(String(40))
    template_version: Mapped[int]
    #: SHA-256 of the document the client was shown and agreed to
    shown_document_sha256: Mapped[str] = mapped_column(String(64))
    #: sealed JSON: signer name, authority, IP, user agent, assurance
    evidence_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)
    #: sealed PNG of the drawn signature, when one was drawn
    drawn_signature_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)
    #: sealed signed PDF of record; its SHA-256 is `pdf_sha256` (= consents.document_sha256)
    pdf_sealed: Mapped[bytes] = mapped_column(LargeBinary, deferred=True, info=SEALED)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    #: sealed HTML of exactly what the client was shown; for a release signed on paper, the
    #: scan of the paper as uploaded (`shown_document_sha256` is then the scan's digest). These
    #: two run to megabytes (a scan is up to 15 MB): loaded only when a document is opened, not
    #: whenever a page reads the signature
    shown_document_sealed: Mapped[bytes] = mapped_column(LargeBinary, deferred=True, info=SEALED)

    consent: Mapped[Consent] = relationship(back_populates="signature")

    @property
    def method(self) -> str:
        """How the signature was given (CONTRACT.md `signature_method`): portal, link,
        in_person or paper, read from how the signer's identity was checked."""
        return SIGNATURE_METHODS.get(self.identity_method, self.identity_method)


#: identity check → signing method (DESIGN.md "Signing method"): a password or an API token is
#: the client's own account; the emailed link comes with date of birth and a code
SIGNATURE_METHODS = {
    "password": "portal",
    "api_token": "portal",
    "email_link_dob_code": "link",
    "in_person": "in_person",
    "paper": "paper",
}


class Revocation(Base):
    """Who took the consent back, when and how; effective for every decision after it commits."""

    __tablename__ = "consent_revocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), unique=True)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: portal | api | link (by the client in roi); letter | fax | email | in_person | phone
    #: (received outside roi and recorded by staff, `OUTSIDE_METHODS`)
    method: Mapped[str] = mapped_column(String(20))
    #: sealed by roi.vault, optional
    reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)
    #: the day a revocation from outside roi reached the practice (None for one made in roi)
    received_on: Mapped[date | None] = mapped_column(Date)
    #: the scan of the letter, fax or email, sealed by roi.vault (Place("consent_revocations",
    #: "document_sealed", uuid)); its type is one of roi.documents.attachments.SCAN_TYPES, or
    #: text/plain for an email's own text. Loaded
    #: only when opened: every page that shows a release reads its revocation
    document_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True, info=SEALED)
    document_content_type: Mapped[str | None] = mapped_column(String(40))
    #: for a revocation by phone: the day its written confirmation arrived (its scan is then
    #: `document_sealed`); None while it is awaited
    confirmed_on: Mapped[date | None] = mapped_column(Date)

    @property
    def awaits_confirmation(self) -> bool:
        """A revocation by phone whose confirmation in writing has not arrived yet."""
        return self.method == OutsideMethod.PHONE.value and self.confirmed_on is None

    @property
    def from_outside(self) -> bool:
        """Received outside roi (a letter, a call...) and recorded by staff."""
        return self.method in OUTSIDE_METHODS

    consent: Mapped[Consent] = relationship(back_populates="revocation")


class OutsideMethod(StrEnum):
    """How a revocation received outside roi arrived (CONTRACT.md `method`)."""

    LETTER = "letter"
    FAX = "fax"
    EMAIL = "email"
    IN_PERSON = "in_person"
    PHONE = "phone"


OUTSIDE_METHODS = frozenset(m.value for m in OutsideMethod)


class LinkPurpose(StrEnum):
    """What an emailed link is for."""

    #: read and sign a release waiting for a signature (single use)
    SIGN = "sign"
    #: the signer's copy of a signed release, and revoking it while it is active
    SIGNED = "signed"


class SigningInvitation(Base):
    """An emailed link to a release, opened only with date of birth + a code: to sign it (single
    use, expiring), or once signed, to download the signed copy and revoke it (30 days)."""

    __tablename__ = "signing_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), index=True)
    purpose: Mapped[LinkPurpose] = mapped_column(
        str_enum(LinkPurpose, 10), default=LinkPurpose.SIGN, server_default=LinkPurpose.SIGN.value
    )
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: when the signature completed (single use) or the consent left pending_signature
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    code_sha256: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_attempts: Mapped[int] = mapped_column(default=0)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LinkRequest(Base):
    """A signer's request for new links to their signed releases, kept until `roi worker`
    answers it (`roi.consent.invitations.answer_link_requests`) and then deleted. The page that
    takes it writes this row whether or not the address is known, so neither its answer nor the
    time it takes tells anyone whether someone is a client."""

    __tablename__ = "link_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    #: sealed by roi.vault (Place("link_requests", "request_sealed", uuid)): the address asked
    #: about and the IP address that asked (for the audit entry of each link sent)
    request_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)
    #: answers that failed so far: each failure puts the next one off twice as long
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    #: no worker takes it before this (None: the first worker to come to it)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DeviceHandover(Base):
    """A release handed to the client on the clinician's device: while it lasts, the clinician's
    session reaches nothing but the device-signing pages, and only the clinician's password (and
    second factor) ends it."""

    __tablename__ = "device_handovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), index=True)
    clinician_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    #: the client's last request on the device; a minute without one locks the view
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    birth_date_failures: Mapped[int] = mapped_column(default=0)
    birth_date_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: idle | birth_date: the view offers only the hand-back until the clinician takes it back
    locked_because: Mapped[str | None] = mapped_column(String(20))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ShareRequestStatus(StrEnum):
    #: waiting for a clinician of the client's practice
    OPEN = "open"
    #: a clinician turned it into a release (the consent's `share_request_id` names it)
    PREPARED = "prepared"


class ShareRequest(Base):
    """A client's request, from the portal, to share their records with a provider: a directory
    entry, or a name and address they typed. Their note is sealed."""

    __tablename__ = "share_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    #: the client's practice, whose clinicians see the request
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    #: as typed, when the provider is not in the directory
    provider_name: Mapped[str | None] = mapped_column(String(200))
    provider_address: Mapped[str | None] = mapped_column(Text)
    #: sealed by roi.vault (Place("share_requests", "note_sealed", uuid)), optional
    note_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)
    status: Mapped[ShareRequestStatus] = mapped_column(
        str_enum(ShareRequestStatus, 20), default=ShareRequestStatus.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    prepared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    client: Mapped[Client] = relationship()
    provider: Mapped[Provider | None] = relationship()

    @property
    def recipient_name(self) -> str:
        """Who the client wants their records shared with, as the client named them."""
        return self.provider.name if self.provider is not None else (self.provider_name or "")


class Notification(Base):
    """An in-app notice to a user (a consent was signed, revoked, ...); text carries no PHI."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id"))
    #: as written for the user, in their account's language then
    text: Mapped[str] = mapped_column(Text)
    #: the same notice as a catalogue message (`i18n.Message.kept`), so a page in another
    #: language shows it in that language; None for notices written before it was kept
    words: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @classmethod
    def saying(
        cls, user_id: int, notice: i18n.Message, language: str | None, consent_id: int | None = None
    ) -> Notification:
        """A notice to `user_id`, written in `language` (theirs) and kept as a message."""
        return cls(
            user_id=user_id,
            consent_id=consent_id,
            text=i18n.translate(notice, i18n.supported(language)),
            words=notice.kept(),
        )

    @property
    def message(self) -> str:
        """The notice to show (with `translated`): its message when kept, else its text."""
        return i18n.Message.restored(self.words) if self.words else self.text


class RestrictionStatus(StrEnum):
    REQUESTED = "requested"
    AGREED = "agreed"
    DECLINED = "declined"
    TERMINATED = "terminated"


class Restriction(Base):
    """What a client asked roi not to share (45 CFR 164.522(a), 42 CFR 2.26): some categories,
    to one recipient, or both. Once agreed it wins over every consent, from `agreed_at` until
    `terminated_at` (half-open, as a consent's validity)."""

    __tablename__ = "restrictions"
    __table_args__ = (Index("ix_restrictions_client_id_status", "client_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    #: the client's organization, which agrees or declines
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    #: not to this recipient; None: to anyone
    recipient_provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    #: these categories; empty: everything (then a recipient is named)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: the care was paid in full out of pocket and the recipient is a health plan: the practice
    #: must agree (164.522(a)(1)(vi))
    paid_out_of_pocket: Mapped[bool] = mapped_column(default=False)
    #: sealed by roi.vault (Place("restrictions", "description_sealed", uuid)): the client's words
    description_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)
    status: Mapped[RestrictionStatus] = mapped_column(
        str_enum(RestrictionStatus, 20), default=RestrictionStatus.REQUESTED
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: portal (the client) | staff (recorded on the client's behalf)
    requested_via: Mapped[str] = mapped_column(String(10))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: sealed, optional (Place("restrictions", "decision_reason_sealed", uuid))
    decision_reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    terminated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: client | practice: a practice's termination holds only for what comes after it
    terminated_by: Mapped[str | None] = mapped_column(String(10))
    #: sealed, optional (Place("restrictions", "termination_reason_sealed", uuid))
    termination_reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)

    client: Mapped[Client] = relationship()
    recipient: Mapped[Provider | None] = relationship()

    @property
    def agreed_at(self) -> datetime | None:
        return self.decided_at if self.status in _AGREED_ONCE else None

    def in_force(self, at: datetime) -> bool:
        """Agreed at or before `at` and not terminated by then."""
        agreed = self.agreed_at
        if agreed is None or at < agreed:
            return False
        return self.terminated_at is None or at < self.terminated_at

    def covers(self, recipient_provider_id: int, categories: Collection[str]) -> bool:
        """Whether a disclosure of `categories` to this recipient is one the client asked not
        to be made."""
        if self.recipient_provider_id is not None and (
            self.recipient_provider_id != recipient_provider_id
        ):
            return False
        return not self.categories or bool(set(self.categories) & set(categories))


#: a terminated restriction was agreed before (only agreed ones can be terminated)
_AGREED_ONCE = frozenset({RestrictionStatus.AGREED, RestrictionStatus.TERMINATED})


class RestrictionMark(Base):
    """Whether a client has asked for any restriction, kept where a send locks it.

    A send locks its client's mark with the consents (`roi.consent.gate.lock_candidates`), and a
    new restriction updates it (`roi.consent.gate.mark_restricted`): so a send that waited for
    either reads the mark as the restriction left it, and one that finds it unset reads no
    restriction. One row per client, made by the first send about them (or the migration, or
    their first restriction); until then a send reads the restrictions as it would anyway.
    """

    __tablename__ = "restriction_marks"

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    restricted: Mapped[bool]
