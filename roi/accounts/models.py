"""Account records. Names and contact details are not sealed: they are needed to search and to
address mail, and carry no health information; free text that can is sealed where it is stored.
The one sealed column here is a TOTP secret, which must be read back to check a code."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Text, and_, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roi.actor import Role
from roi.clock import now
from roi.db import Base, UTCDateTime, new_uuid, str_enum


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    #: clinicians, compliance staff and admins must sign in with a second factor
    mfa_required_for_staff: Mapped[bool] = mapped_column(default=True, server_default=true())
    #: two-letter code of the state whose law decides who signs for a minor (rules/signers.toml)
    state: Mapped[str | None] = mapped_column(String(2))
    #: emergency disclosures one clinician may send in 24 hours; above it they are refused and
    #: compliance is alerted (the practice sets it)
    emergency_sends_per_day: Mapped[int] = mapped_column(default=3, server_default="3")
    #: the IANA time zone the practice works in: pages, mails and documents show its local time
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    #: as typed by the person; `email_key` (lower-cased) is what makes it unique
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, 20), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    #: argon2id, PHC string format
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    #: the language the person picked (roi.i18n.LANGUAGES); None until they pick one
    language: Mapped[str | None] = mapped_column(String(8))
    #: an IANA time zone of their own; None means the practice's
    time_zone: Mapped[str | None] = mapped_column(String(64))

    organization: Mapped[Organization | None] = relationship()


class Client(Base):
    """A person in care at an organization; may be linked to a client user who signs online."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    #: the day the clinician recorded the end of treatment (releases ending then expired with it)
    discharged_on: Mapped[date | None] = mapped_column(Date)
    #: a minor who consented to their own care under state law (45 CFR 164.502(g)(3)(i))
    own_care_consent: Mapped[bool] = mapped_column(default=False)
    #: the language the client reads (roi.i18n.LANGUAGES); None until known
    language: Mapped[str | None] = mapped_column(String(8))
    #: an IANA time zone of their own; None means the practice's
    time_zone: Mapped[str | None] = mapped_column(String(64))

    organization: Mapped[Organization] = relationship()
    #: the personal representative on record now (guardian or other), if any
    representative: Mapped[ClientRepresentative | None] = relationship(
        primaryjoin=lambda: and_(
            ClientRepresentative.client_id == Client.id, ClientRepresentative.ended_at.is_(None)
        ),
        uselist=False,
        viewonly=True,
    )

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class RepresentativeKind(StrEnum):
    #: appointed by a court; signs instead of the adult client
    GUARDIAN = "guardian"
    #: any other personal representative (a health-care power of attorney, ...)
    OTHER = "other"


class ClientRepresentative(Base):
    """A personal representative of a client, recorded by the clinician with the document that
    gives their authority (sealed by roi.vault); ended, never deleted."""

    __tablename__ = "client_representatives"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[RepresentativeKind] = mapped_column(str_enum(RepresentativeKind, 20))
    name: Mapped[str] = mapped_column(String(200))
    #: the authority document (court order, power of attorney), sealed, and its type; a scan of
    #: up to 15 MB, loaded only when opened (every signing page reads the representative)
    document_sealed: Mapped[bytes] = mapped_column(
        LargeBinary, deferred=True, info={"sealed": True}
    )
    document_type: Mapped[str] = mapped_column(String(40))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Provider(Base):
    """A provider directory entry, shared by every organization of the installation."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200))
    credentials: Mapped[str] = mapped_column(String(100), default="")
    #: the practice's name as the directory shows it; `organization_id` when it uses roi
    organization_name: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    address: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str | None] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    #: a disabled entry is kept (releases name it) but can no longer be chosen as a recipient
    active: Mapped[bool] = mapped_column(default=True, server_default=true())


class SessionRecord(Base):
    """A browser session on the server: the cookie carries only a random token whose digest is
    here, so ending the record ends the session even if the cookie was copied (SECURITY B2)."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: while set, the password is checked and the second factor is not: `verify` (a code is
    #: due) or `enrol` (a staff member must set one up first); the session can do nothing else
    second_step: Mapped[str | None] = mapped_column(String(10))
    #: wrong codes at the second step of this session; too many end it (SECURITY A5)
    second_step_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    #: the passkey challenge this session was last given (base64url), used up by its answer
    passkey_challenge: Mapped[str | None] = mapped_column(String(100))
    #: logout | idle_timeout | absolute_timeout | password_changed | password_reset |
    #: account_disabled | ended_by_user | mfa_failed
    end_reason: Mapped[str | None] = mapped_column(String(30))
    #: the browser's User-Agent at sign-in, cut short; shown summarized on "Your sessions"
    user_agent: Mapped[str | None] = mapped_column(String(300))


class ApiToken(Base):
    """A bearer token: only its SHA-256 is stored (it is checked on every request, and is long
    and random, so a slow hash would add cost and no safety)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PasswordLink(Base):
    """An emailed link to set a password: a reset the user asked for, or an administrator's
    invitation. Only the token's SHA-256 is stored (it is long and random, like an API token),
    so the table never holds a working link; it works once, until `expires_at`."""

    __tablename__ = "password_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: reset | invitation
    purpose: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginFailure(Base):
    """One failed sign-in, counted per account key and per IP within a window (SECURITY A2).

    The same counter paces what an attacker could repeat against an account: reset requests
    (scopes `reset`, `reset_ip`, counted whether or not they fail), a signer's requests for
    their links again (`links`, `links_ip`, counted likewise) and wrong current passwords on the
    change form (scope `change`, keyed by the user id).

    Kept in the database so every gunicorn worker and host sees the same count. Keys are
    digests: the table never holds an email address or an IP in the clear.
    """

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_scope_key_at", "scope", "key_sha256", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: account | ip | reset | reset_ip | links | links_ip | change
    scope: Mapped[str] = mapped_column(String(10))
    key_sha256: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


class TotpCredential(Base):
    """An authenticator app's shared secret (RFC 6238). Unconfirmed until a code from the app has
    been checked; a user has at most one confirmed and one unconfirmed."""

    __tablename__ = "totp_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: sealed by roi.vault (Place("totp_credentials", "secret_sealed", uuid)): the base32 secret
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary, info={"sealed": True})
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the time step of the last code accepted; a code of that step or an earlier one is refused,
    #: so a code works once (SECURITY A4, RFC 6238 section 5.2)
    last_used_step: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


class RecoveryCode(Base):
    """A single-use recovery code. Only its SHA-256 is stored: each code is 80 random bits, so no
    one can search for it from the digest and a slow hash (tried against ten codes at every
    attempt) would add cost and no safety, as for API tokens."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PasskeyCredential(Base):
    """A passkey (WebAuthn public key credential) registered as a second factor. The public key
    is not secret, so nothing here is sealed."""

    __tablename__ = "passkey_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: base64url, as the browser names it
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    #: the authenticator's counter at the last use; a lower one means a cloned authenticator
    sign_count: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


__all__ = [
    "ApiToken",
    "Client",
    "ClientRepresentative",
    "LoginFailure",
    "Organization",
    "PasskeyCredential",
    "PasswordLink",
    "Provider",
    "RecoveryCode",
    "RepresentativeKind",
    "SessionRecord",
    "TotpCredential",
    "User",
]
