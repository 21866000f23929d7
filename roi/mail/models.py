"""The outbox: one row per mail, written in the transaction of the change that caused it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from roi.clock import now
from roi.db import Base, UTCDateTime, new_uuid, str_enum

SEALED = {"sealed": True}


class OutboxStatus(StrEnum):
    #: waiting for its first delivery or a retry
    PENDING = "pending"
    SENT = "sent"
    #: gave up after the last attempt; an administrator can try again
    FAILED = "failed"


class OutboxItem(Base):
    __tablename__ = "outbox_items"
    __table_args__ = (Index("ix_outbox_items_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: also the mail's Message-ID, so a repeated delivery is recognisably the same mail
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    #: the practice whose administrator sees the mail when it fails (None: instance-wide)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus, 10), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    #: a worker that claimed the item delivers it until then; after that another may take it over
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the class of the last delivery error (never its text: it may quote the address)
    last_error: Mapped[str | None] = mapped_column(String(80))
    #: sealed by roi.vault (Place("outbox_items", "message_sealed", uuid)): address, subject, text
    message_sealed: Mapped[bytes] = mapped_column(LargeBinary, info=SEALED)
