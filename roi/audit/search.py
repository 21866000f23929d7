"""Filtered, newest-first reads of the audit log, a page at a time: the disclosure log's engine.

Pages are keyset-paginated on `seq`, never OFFSET: a page is "the `limit` newest entries below
the cursor", so the thousandth page costs what the first costs, and entries appended while someone
pages cannot shift, repeat or skip a row (seq only grows). The cursor is the last seq seen.

Who may see which entries is not decided here: this package sits below `roi.accounts` and knows no
organization or client model, so the caller passes its scope as a SQL predicate.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select, true, union_all
from sqlalchemy.orm import Session

from roi.audit.actions import Action, Outcome
from roi.audit.models import AuditEntry

#: the largest page a caller may ask for; exports walk several pages
MAX_LIMIT = 1000
#: seq is a signed 64-bit integer; a larger number names no entry (and SQLite refuses to bind it)
MAX_SEQ = 2**63 - 1


@dataclass(frozen=True)
class EntryFilter:
    """Which entries to read. Every field narrows; an empty filter reads everything in scope.

    `since` is inclusive and `until` exclusive, so consecutive ranges neither overlap nor gap.
    """

    client_id: int | None = None
    recipient_provider_id: int | None = None
    actor_id: int | None = None
    #: any of these actions; empty means every action
    actions: tuple[Action, ...] = ()
    outcome: Outcome | None = None
    since: datetime | None = None
    until: datetime | None = None

    def predicate(self, *, with_actions: bool = True) -> ColumnElement[bool]:
        """The filter as one SQL condition on `AuditEntry` (optionally leaving actions out)."""
        conditions: list[ColumnElement[bool]] = []
        if self.client_id is not None:
            conditions.append(AuditEntry.client_id == self.client_id)
        if self.recipient_provider_id is not None:
            conditions.append(AuditEntry.recipient_provider_id == self.recipient_provider_id)
        if self.actor_id is not None:
            conditions.append(AuditEntry.actor_id == self.actor_id)
        if with_actions and self.actions:
            conditions.append(AuditEntry.action.in_(sorted(set(self.actions))))
        if self.outcome is not None:
            conditions.append(AuditEntry.outcome == self.outcome)
        if self.since is not None:
            conditions.append(AuditEntry.at >= self.since)
        if self.until is not None:
            conditions.append(AuditEntry.at < self.until)
        return and_(true(), *conditions)


@dataclass(frozen=True)
class Page:
    """One page of entries, newest first; `next_before` is the cursor of the next (older) page,
    None on the last page."""

    entries: list[AuditEntry]
    next_before: int | None


def query(
    entry_filter: EntryFilter,
    *,
    scope: ColumnElement[bool] | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Select[Any]:
    """The SELECT behind `page`: in scope, matching the filter, below the cursor, newest first.

    Typed `Select[Any]`: its type parameters differ between SQLAlchemy 2.0 and 2.1.
    """
    conditions = [entry_filter.predicate(with_actions=False)]
    if scope is not None:
        conditions.append(scope)
    if before is not None and before <= MAX_SEQ:
        conditions.append(AuditEntry.seq < before)
    seq = AuditEntry.seq
    actions = sorted(set(entry_filter.actions))
    if len(actions) <= 1:
        # `=`, not a one-item IN: the (action, seq) index is then walked backwards, no sort.
        if actions:
            conditions.append(AuditEntry.action == actions[0])
        return select(AuditEntry).where(*conditions).order_by(seq.desc()).limit(limit)
    # Several actions: one walk of the (action, seq) index per action, each stopping after
    # `limit` rows, merged by seq. A plain IN leaves the planner free to read every row of
    # every action and sort them, which grows with the log rather than with the page.
    branches = [
        select(seq)
        .where(*conditions, AuditEntry.action == action)
        .order_by(seq.desc())
        .limit(limit)
        .subquery()
        for action in actions
    ]
    newest = union_all(*(select(branch.c.seq) for branch in branches))
    return select(AuditEntry).where(seq.in_(newest)).order_by(seq.desc()).limit(limit)


def page(
    session: Session,
    entry_filter: EntryFilter,
    *,
    scope: ColumnElement[bool] | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Page:
    """The `limit` newest matching entries with seq below `before` (all of them when None).

    One row more than the page is read, so the last page says so without a second query.

    Raises:
        ValueError: `limit` is not between 1 and MAX_LIMIT.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    rows = list(session.scalars(query(entry_filter, scope=scope, before=before, limit=limit + 1)))
    if len(rows) > limit:
        return Page(rows[:limit], rows[limit - 1].seq)
    return Page(rows, None)


def walk(
    session: Session,
    entry_filter: EntryFilter,
    *,
    scope: ColumnElement[bool] | None = None,
    batch_size: int = 500,
) -> Iterator[Sequence[AuditEntry]]:
    """Every matching entry, newest first, in batches (for exports); each batch is one query."""
    before: int | None = None
    while True:
        batch = page(session, entry_filter, scope=scope, before=before, limit=batch_size)
        if batch.entries:
            yield batch.entries
        if batch.next_before is None:
            return
        before = batch.next_before


def by_seq(
    session: Session, seq: int, *, scope: ColumnElement[bool] | None = None
) -> AuditEntry | None:
    """The entry `seq` if it exists and is in scope; None otherwise (the two are not told apart)."""
    if not 1 <= seq <= MAX_SEQ:
        return None
    statement = select(AuditEntry).where(AuditEntry.seq == seq)
    if scope is not None:
        statement = statement.where(scope)
    return session.scalar(statement)


def newest(
    session: Session, action: Action, *, scope: ColumnElement[bool] | None = None
) -> AuditEntry | None:
    """The newest entry of one action (walks the (action, seq) index from its end)."""
    found = page(session, EntryFilter(actions=(action,)), scope=scope, limit=1).entries
    return found[0] if found else None
