"""The accounting of disclosures' source of truth: the disclosure entries about one client in a
time range, read straight from the audit log (45 CFR 164.528, SECURITY G6).

Three actions are disclosures: `disclosure.permitted` (sent through roi under a consent),
`disclosure.emergency` (sent through roi without one, under an emergency basis) and
`disclosure.recorded` (made outside roi, recorded by staff afterwards). A recorded disclosure is
listed on the day it was made, which the compliance layer reads from its record; it cannot have
been made after it was recorded, so entries recorded before the range are never read.

This is the raw read only: ids, codes and times. Names, addresses and labels are added above
(`roi.compliance.accounting`), since this package sits below accounts and knows no directory.
Denied attempts (`disclosure.denied`) disclosed nothing and are never read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from roi.audit.actions import Action
from roi.audit.models import AuditEntry

#: the actions that are disclosures of a client's information
DISCLOSURE_ACTIONS = (
    Action.DISCLOSURE_PERMITTED,
    Action.DISCLOSURE_EMERGENCY,
    Action.DISCLOSURE_RECORDED,
)
#: where each action's `detail` names the record it comes from
RECORD_KEYS = {
    Action.DISCLOSURE_EMERGENCY: "emergency_disclosure_id",
    Action.DISCLOSURE_RECORDED: "outside_disclosure_id",
}


@dataclass(frozen=True)
class LoggedDisclosure:
    """One disclosure entry of the audit log, as the accounting needs it."""

    seq: int
    at: datetime
    action: Action
    client_id: int
    consent_id: int | None
    recipient_provider_id: int | None
    message_id: int | None
    #: category codes, sorted (as `roi.audit.record` stores them)
    categories: tuple[str, ...]
    #: the purpose code
    purpose: str | None
    #: the emergency or outside basis from `detail`; None for a consented disclosure
    basis: str | None = None
    #: the emergency or outside disclosure's record id, from `detail`
    record_id: int | None = None


def logged_disclosures(
    session: Session, client_id: int, *, start: datetime, end: datetime
) -> list[LoggedDisclosure]:
    """Every disclosure entry of `client_id` that may fall in `start <= at < end`, oldest first:
    those logged in the range, and outside disclosures recorded from `start` on (the caller
    keeps those made in the range, by their own date).

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
            AuditEntry.action,
            AuditEntry.detail,
        )
        .where(
            AuditEntry.client_id == client_id,
            AuditEntry.at >= start,
            or_(
                and_(
                    AuditEntry.action.in_(
                        (Action.DISCLOSURE_PERMITTED, Action.DISCLOSURE_EMERGENCY)
                    ),
                    AuditEntry.at < end,
                ),
                AuditEntry.action == Action.DISCLOSURE_RECORDED,
            ),
        )
        # In chain order: the (client_id, seq) index then yields the client's entries already
        # sorted, so no database scans the time index across every client (bench/README.md).
        .order_by(AuditEntry.seq)
    )
    found = [
        LoggedDisclosure(
            seq=row.seq,
            at=row.at,
            action=Action(row.action),
            client_id=row.client_id,
            consent_id=row.consent_id,
            recipient_provider_id=row.recipient_provider_id,
            message_id=row.message_id,
            categories=tuple(row.categories or ()),
            purpose=row.purpose,
            basis=_detail_str(row.detail, "basis"),
            record_id=_detail_int(row.detail, RECORD_KEYS.get(Action(row.action))),
        )
        for row in rows
    ]
    # Oldest first. Times follow seq as closely as the clock allows; sorting by time here keeps
    # the order right even if a clock was ever set back.
    found.sort(key=lambda entry: (entry.at, entry.seq))
    return found


def _detail_str(detail: object, key: str) -> str | None:
    value = detail.get(key) if isinstance(detail, dict) else None
    return value if isinstance(value, str) else None


def _detail_int(detail: object, key: str | None) -> int | None:
    value = detail.get(key) if isinstance(detail, dict) and key else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
