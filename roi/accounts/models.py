"""Account records. Nothing here is sealed: names and contact details are needed to search and to
address mail, and carry no health information; free text that can is sealed where it is stored."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
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
    #: emergency disclosures one clinician may send in 24 hours; above it they are refused and
    #: compliance is alerted (the practice sets it)
    emergency_sends_per_day: Mapped[int] = mapped_column(default=3, server_default="3")


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

    organization: Mapped[Organization] = relationship()

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


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
    #: logout | idle_timeout | absolute_timeout | password_changed | account_disabled
    end_reason: Mapped[str | None] = mapped_column(String(30))


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


class LoginFailure(Base):
    """One failed sign-in, counted per account key and per IP within a window (SECURITY A2).

    Kept in the database so every gunicorn worker and host sees the same count. Keys are
    digests: the table never holds an email address or an IP in the clear.
    """

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_scope_key_at", "scope", "key_sha256", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: account | ip
    scope: Mapped[str] = mapped_column(String(10))
    key_sha256: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


__all__ = [
    "ApiToken",
    "Client",
    "LoginFailure",
    "Organization",
    "Provider",
    "SessionRecord",
    "User",
]
