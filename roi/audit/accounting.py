"""The accounting of disclosures' source of truth: the `disclosure.permitted` entries about one
client in a time range, read straight from the audit log (45 CFR 164.528, SECURITY G6).

This is the raw read only: ids, codes and times. Names, addresses and labels are added above
(`roi.compliance.accounting`), since this package sits below accounts and knows no directory.
Denied attempts (`disclosure.denied`) disclosed nothing and are never read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from roi.audit.actions import Action
from roi.audit.models import AuditEntry


@dataclass(frozen=True)
class PermittedDisclosure:
    """One `disclosure.permitted` entry, as the accounting needs it."""

    seq: int
    at: datetime
    client_id: int
    consent_id: int | None
    recipient_provider_id: int | None
    message_id: int | None
    #: category codes, sorted (as `roi.audit.record` stores them)
    categories: tuple[str, ...]
    #: the purpose code
    purpose: str | None


def permitted_disclosures(
    session: Session, client_id: int, *, start: datetime, end: datetime
) -> list[PermittedDisclosure]:
    """Every disclosure of `client_id` permitted at `start <= at < end`, oldest first.

    Raises:
        ValueError: a bound is a naive datetime (every stored time is UTC).
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the accounting's range must be aware UTC datetimes")
    # Only the columns the accounting prints: no ORM objects for what can be thousands of rows.
    rows = session.execute(
        select(
            AuditEntry.seq,
            AuditEntry.at,
            AuditEntry.client_id,
            AuditEntry.consent_id,
            AuditEntry.recipient_provider_id,
            AuditEntry.message_id,
            AuditEntry.categories,
            AuditEntry.purpose,
        )
        .where(
            AuditEntry.client_id == client_id,
            AuditEntry.action == Action.DISCLOSURE_PERMITTED,
            AuditEntry.at >= start,
            AuditEntry.at < end,
        )
        # In chain order: the (client_id, seq) index then yields the client's entries already
        # sorted, so no database scans the time index across every client (bench/README.md).
        .order_by(AuditEntry.seq)
    )
    found = [
        PermittedDisclosure(
            seq=row.seq,
            at=row.at,
            client_id=row.client_id,
            consent_id=row.consent_id,
            recipient_provider_id=row.recipient_provider_id,
            message_id=row.message_id,
            categories=tuple(row.categories or ()),
            purpose=row.purpose,
        )
        for row in rows
    ]
    # Oldest first. Times follow seq as closely as the clock allows; sorting by time here keeps
    # the order right even if a clock was ever set back.
    found.sort(key=lambda entry: (entry.at, entry.seq))
    return found
