"""Compliance's records: accounting requests, disclosures made outside roi, suspensions of the
accounting, and the practice's accounting fee.

45 CFR 164.528(c): act within 60 days of receipt, or extend once by at most 30 days with a
written statement of the reasons; the first accounting in any 12 months is free, a later one may
carry a fee the client is told in advance. A request is the compliance officer's own workflow
record: it changes no consent, message or audit entry. Free text (a note, a reason, what was
disclosed, a typed recipient) and every document are sealed by `roi.vault`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roi.accounts.models import Client
from roi.clock import now
from roi.db import Base, UTCDateTime, new_uuid, str_enum

SEALED = {"sealed": True}


class Channel(StrEnum):
    """How a request arrived."""

    PORTAL = "portal"
    WRITTEN = "written"
    PHONE = "phone"


class AccountingRequest(Base):
    __tablename__ = "accounting_requests"
    __table_args__ = (
        Index("ix_accounting_requests_client_id_received_on", "client_id", "received_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    #: the day the request reached the practice (its calendar's); the 60 days run from here
    received_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 20))
    #: the range of dates asked for, both days included
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    #: True: the 42 CFR 2.25 accounting of Part 2 disclosures (three years at most)
    part2: Mapped[bool] = mapped_column(default=False)
    #: sealed by roi.vault (Place("accounting_requests", "note_sealed", uuid)); staff's own words
    note_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)
    #: received_on + 60 days (164.528(c)(1))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    #: due_on + 30 days once extended; at most one extension (164.528(c)(1)(ii))
    extended_to: Mapped[date | None] = mapped_column(Date)
    #: sealed by roi.vault (Place("accounting_requests", "extension_reason_sealed", uuid))
    extension_reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the first request in any 12 months is free (164.528(c)(2)); later ones may carry a fee
    free: Mapped[bool] = mapped_column(default=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    fulfilled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: sealed by roi.vault (Place("accounting_requests", "report_sealed", uuid)); the PDF given
    report_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)
    #: hex SHA-256 of the report PDF, as given to the client
    report_sha256: Mapped[str | None] = mapped_column(String(64))
    #: how many disclosures the report lists
    report_entries: Mapped[int | None]
    #: the fee the client was told in advance, in cents (a request that is not free); None: free
    fee_cents: Mapped[int | None]
    #: when the client (or staff, for them) agreed to go ahead with the fee
    fee_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: when the client withdrew the request (it is then closed, never fulfilled)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the free request whose withdrawal made this one free (164.528(c)(2): the first accounting
    #: provided in 12 months is free, and a withdrawn one provided none)
    freed_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounting_requests.id"))
    #: the fee this request carried until it was made free, in cents (None: none was set)
    fee_dropped_cents: Mapped[int | None]

    client: Mapped[Client] = relationship()
    freed_by: Mapped[AccountingRequest | None] = relationship(remote_side=[id])

    @property
    def due(self) -> date:
        """The day the accounting is due: the extended date once extended."""
        return self.extended_to or self.due_on

    @property
    def fulfilled(self) -> bool:
        return self.fulfilled_at is not None

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def closed(self) -> bool:
        """Fulfilled or withdrawn: nothing more is done with it."""
        return self.fulfilled or self.withdrawn

    @property
    def refund_owed(self) -> bool:
        """Made free after the client had agreed to its fee: what they paid goes back to them."""
        agreed = self.fee_accepted_at is not None
        return self.freed_by_id is not None and bool(self.fee_dropped_cents) and agreed

    @property
    def awaiting_fee_answer(self) -> bool:
        """A fee was quoted and the client has not yet said whether to go ahead."""
        return bool(self.fee_cents) and self.fee_accepted_at is None and not self.closed

    def overdue(self, today: date) -> bool:
        return not self.closed and today > self.due

    def __repr__(self) -> str:
        return f"<AccountingRequest {self.id} client={self.client_id}>"


class DisclosureBasis(StrEnum):
    """Why a disclosure was made without going through roi's consent gate (CONTRACT.md)."""

    REQUIRED_BY_LAW = "required_by_law"
    PUBLIC_HEALTH = "public_health"
    ABUSE_NEGLECT = "abuse_neglect"
    HEALTH_OVERSIGHT = "health_oversight"
    JUDICIAL = "judicial"
    LAW_ENFORCEMENT = "law_enforcement"
    DECEDENTS = "decedents"
    RESEARCH = "research"
    SERIOUS_THREAT = "serious_threat"
    SPECIALIZED_GOVERNMENT = "specialized_government"
    WORKERS_COMPENSATION = "workers_compensation"
    #: made under the client's written authorization (excluded from HIPAA's accounting,
    #: 164.528(a)(1)(iv), listed by roi all the same)
    AUTHORIZATION = "authorization"


class OutsideDisclosure(Base):
    """A disclosure made outside roi (phone, fax, mail, in court), recorded by staff."""

    __tablename__ = "outside_disclosures"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    #: the day the information went out (the accounting lists it on this day)
    disclosed_on: Mapped[date] = mapped_column(Date)
    #: the recipient's directory entry, when they have one; otherwise the typed name and address
    recipient_provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    #: sealed by roi.vault (Place("outside_disclosures", "<column>", uuid))
    recipient_name_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)
    recipient_address_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)
    description_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)
    purpose_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)
    basis: Mapped[DisclosureBasis] = mapped_column(str_enum(DisclosureBasis, 40))
    #: it carried substance-use-disorder records (42 CFR Part 2): with the basis `authorization`,
    #: a disclosure under a Part 2 consent, which the Part 2 accounting lists (42 CFR 2.25)
    substance_use_records: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: the written request (a subpoena, an agency's letter), checked by content and sealed
    request_content_type: Mapped[str | None] = mapped_column(String(100))
    request_sha256: Mapped[str | None] = mapped_column(String(64))
    request_filename_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)
    request_content_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)

    client: Mapped[Client] = relationship()


class AccountingSuspension(Base):
    """An agency's statement that an accounting would impede its work (164.528(a)(2)): its
    disclosures stay out of the practice's accountings until `until`."""

    __tablename__ = "accounting_suspensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    #: the agency or official, as its statement names it
    agency: Mapped[str] = mapped_column(String(200))
    #: the agency's directory entry, when disclosures to it go through roi
    recipient_provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    #: the last day the suspension holds
    until: Mapped[date] = mapped_column(Date)
    #: a written statement; an oral one holds at most 30 days (164.528(a)(2)(ii))
    written: Mapped[bool]
    #: sealed by roi.vault (Place("accounting_suspensions", "statement_sealed", uuid)): the
    #: statement, with the identity of the official who made an oral one
    statement_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, info=SEALED)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


class AccountingSettings(Base):
    """A practice's own accounting settings: the fee for a repeat accounting."""

    __tablename__ = "accounting_settings"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    #: a reasonable, cost-based fee for a second accounting within 12 months (164.528(c)(2))
    repeat_fee_cents: Mapped[int] = mapped_column(default=0)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


__all__ = [
    "AccountingRequest",
    "AccountingSettings",
    "AccountingSuspension",
    "Channel",
    "DisclosureBasis",
    "OutsideDisclosure",
]
