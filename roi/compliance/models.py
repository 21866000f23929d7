"""Accounting requests: a client's request for an accounting of disclosures, and its answer.

45 CFR 164.528(c): act within 60 days of receipt, or extend once by at most 30 days with a
written statement of the reasons; the first accounting in any 12 months is free. A request is
the compliance officer's own workflow record: it changes no consent, message or audit entry.
Free text (the note, the extension's reason) and the report itself are sealed by `roi.vault`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String
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
    #: the day the request reached the practice (UTC); the 60 days run from here
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

    client: Mapped[Client] = relationship()

    @property
    def due(self) -> date:
        """The day the accounting is due: the extended date once extended."""
        return self.extended_to or self.due_on

    @property
    def fulfilled(self) -> bool:
        return self.fulfilled_at is not None

    def overdue(self, today: date) -> bool:
        return not self.fulfilled and today > self.due

    def __repr__(self) -> str:
        return f"<AccountingRequest {self.id} client={self.client_id}>"


__all__ = ["AccountingRequest", "Channel"]
