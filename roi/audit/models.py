"""The audit log's tables: `audit_entries` (append-only, hash-chained) and `audit_head`.

Nothing here has a foreign key: an entry must outlive the rows it names (retention, DESIGN.md) and
must never be changed or removed by a cascade. Entries carry ids, codes and reasons only, never
free-text health information (STYLE.md 6).

`audit_head` is one row holding the last entry's seq and hash. Every writer locks it first (by
moving its seq on, `UPDATE ... RETURNING`), which is what keeps concurrent writers from forking the
chain or leaving a gap on PostgreSQL; on SQLite the writer's BEGIN IMMEDIATE serializes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Connection,
    Index,
    Integer,
    String,
    Table,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from roi.audit.actions import Action, Outcome
from roi.audit.schema import GENESIS_HASH, HEAD_ID, install_triggers_on_create
from roi.db import Base, UTCDateTime, str_enum

#: an id column: BIGINT on PostgreSQL, INTEGER on SQLite (whose INTEGER is 64-bit anyway)
_Id = BigInteger().with_variant(Integer(), "sqlite")


class AuditEntry(Base):
    """One security-relevant event. Written only by `roi.audit.record`; never updated or deleted."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_client_id_seq", "client_id", "seq"),
        Index("ix_audit_entries_action_seq", "action", "seq"),
        Index("ix_audit_entries_at", "at"),
        # the disclosure log filtered by action and dates, and a client's accounting, stay
        # index range reads at a million entries (bench/log_bench.py, bench/accounting_bench.py)
        Index("ix_audit_entries_action_at", "action", "at"),
        Index("ix_audit_entries_client_id_action_at", "client_id", "action", "at"),
    )

    #: 1, 2, 3, … with no gaps: assigned from `audit_head`, never by the database
    seq: Mapped[int] = mapped_column(_Id, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: the acting user; None for the system (CLI, background work) and anonymous requests
    actor_id: Mapped[int | None] = mapped_column(_Id)
    #: a plain string, not an enum column: an old entry must stay readable if a role is renamed
    actor_role: Mapped[str] = mapped_column(String(20))
    organization_id: Mapped[int | None] = mapped_column(_Id)
    action: Mapped[Action] = mapped_column(str_enum(Action, 40))
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome, 20))
    client_id: Mapped[int | None] = mapped_column(_Id)
    consent_id: Mapped[int | None] = mapped_column(_Id)
    recipient_provider_id: Mapped[int | None] = mapped_column(_Id)
    message_id: Mapped[int | None] = mapped_column(_Id)
    #: the user an account event is about (created, disabled, password changed)
    subject_user_id: Mapped[int | None] = mapped_column(_Id)
    #: category codes from the form template, sorted
    categories: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    #: a purpose code
    purpose: Mapped[str | None] = mapped_column(String(100))
    #: the gate's reason codes for a decision
    reasons: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    #: a small object of ids and codes; never free text
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    request_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    #: the previous entry's `hash`; 64 zeros for seq 1
    prev_hash: Mapped[str] = mapped_column(String(64))
    #: hex HMAC-SHA256 (audit key) over the canonical encoding of this entry + `prev_hash`
    hash: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditEntry {self.seq} {self.action}>"


class AuditHead(Base):
    """The chain's head: the last entry's seq and hash (0 and 64 zeros while the log is empty)."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint(f"id = {HEAD_ID}", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(_Id)
    hash: Mapped[str] = mapped_column(String(64))


def _insert_head_row(target: Table, connection: Connection, **kw: object) -> None:
    # create_all must leave a usable log: the writers lock this row, so it has to exist.
    connection.execute(target.insert().values(id=HEAD_ID, seq=0, hash=GENESIS_HASH))


event.listen(AuditHead.__table__, "after_create", _insert_head_row)
install_triggers_on_create(AuditEntry.__table__)
