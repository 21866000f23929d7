"""`record()`: the only code that writes the audit log (warehouse's record_event).

It joins the caller's transaction and never commits, so an action and its audit entry commit
together or not at all (SECURITY G3). It first flushes the caller's pending writes, then moves the
head row on by one (`UPDATE ... SET seq = seq + 1 RETURNING`, in the statement that writes the
caller's new rows when it gives them, `writing`), which locks it: on PostgreSQL
concurrent writers take turns on that row lock, and one that waited advances from the head its
predecessor committed, so the chain never forks and seq never skips; on SQLite the caller's BEGIN
IMMEDIATE (`roi.db.unit_of_work`) already serialized them. On PostgreSQL the entry and the head's
new hash are then written by one statement, so a writer holds the head for two round trips before
its COMMIT: every writer waits on that lock, so what it costs bounds how fast roi can act.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from roi.actor import Actor
from roi.audit.actions import Action, Outcome
from roi.audit.chain import entry_hash
from roi.audit.models import AuditEntry, AuditHead
from roi.audit.schema import GENESIS_HASH, HEAD_ID
from roi.clock import now
from roi.db import Base, insert_or_not, insert_rows

logger = logging.getLogger(__name__)

#: `detail` is for a few ids and codes; anything bigger is a sign free text is going in
MAX_DETAIL_CHARS = 2000
_Scalar = str | int | bool | None


class Written(Protocol):
    """A row `record()` writes before its entry and the entry names: its id is set once written."""

    @property
    def id(self) -> int: ...


def record(
    session: Session,
    actor: Actor,
    action: Action,
    *,
    outcome: Outcome = Outcome.SUCCESS,
    client_id: int | None = None,
    consent_id: int | None = None,
    recipient_provider_id: int | None = None,
    message_id: int | Written | None = None,
    subject_user_id: int | None = None,
    categories: Iterable[str] | None = None,
    purpose: str | None = None,
    reasons: Iterable[str] | None = None,
    detail: Mapping[str, Any] | None = None,
    writing: Sequence[Base] = (),
) -> AuditEntry:
    """Append an entry to the chain in the caller's transaction, after its pending writes.

    `writing`: new rows to write first (`roi.db.insert_rows`), on PostgreSQL in the statement
    that takes the entry's place in the chain: one round trip less. PostgreSQL checks their
    foreign keys at the end of that statement, with the head already taken, so a writer that
    holds a row they name FOR UPDATE and then records an entry would deadlock with this one:
    lock such rows FOR NO KEY UPDATE (`with_for_update(key_share=True)`), which keeps other such
    writers out without holding up new rows that name them. The entry may name one of the rows
    by passing the row itself (`message_id=message`).

    Never commits. Returns the entry as written (the session does not hold it).

    Raises:
        ValueError: `detail` is not a small object of ids and codes, a text holds a NUL, or
            `message_id` is a row that `writing` does not hold.
        KeyRingError: no key ring is loaded, so the entry cannot be chained (fails closed).
    """
    values: dict[str, Any] = {
        "actor_id": actor.user_id,
        "actor_role": str(actor.role),
        "organization_id": actor.organization_id,
        "action": Action(action),
        "outcome": Outcome(outcome),
        "client_id": client_id,
        "consent_id": consent_id,
        "recipient_provider_id": recipient_provider_id,
        "subject_user_id": subject_user_id,
        "categories": _codes(sorted(categories)) if categories is not None else None,
        "purpose": _text(purpose),
        "reasons": _codes(list(reasons)) if reasons is not None else None,
        "detail": _detail(detail) if detail is not None else None,
        "request_id": _text(actor.request_id),
        "ip": _text(actor.ip),
    }
    if not isinstance(message_id, int | None) and not any(message_id is row for row in writing):
        raise ValueError("an audit entry names a row itself only when it writes it")
    # the caller's rows first, so the head is held for as little as the entry itself needs
    session.flush()
    values["seq"], values["prev_hash"] = _advance_head(session, writing)
    # a row of `writing` has its id now
    values["message_id"] = message_id if isinstance(message_id, int | None) else message_id.id
    # Taken after the lock, so times follow seq as closely as the clock allows.
    values["at"] = now()
    values["hash"] = entry_hash(values, values["prev_hash"])
    _append(session, values)
    entry = AuditEntry(**values)  # what was written, for the caller; the session does not hold it
    logger.debug("audit entry %s: %s %s", entry.seq, entry.action, entry.outcome)
    return entry


# Built once, on the tables (not the mapped classes): every audited action runs them, and the
# ORM's bookkeeping would only cost time.
_ENTRIES = AuditEntry.metadata.tables[AuditEntry.__tablename__]
_HEAD_ROW = AuditHead.metadata.tables[AuditHead.__tablename__]
#: locks the head and moves it on: the new seq, and the hash of the entry before it
_ADVANCE = (
    update(_HEAD_ROW)
    .where(_HEAD_ROW.c.id == HEAD_ID)
    .values(seq=_HEAD_ROW.c.seq + 1)
    .returning(_HEAD_ROW.c.seq, _HEAD_ROW.c.hash)
)
#: every column from a parameter of its own name with `entry_` before it (the names of the columns
#: themselves are taken by the INSERT), typed as the column
_INSERT = insert(_ENTRIES).values(
    {column: bindparam(f"entry_{column.name}", type_=column.type) for column in _ENTRIES.c}
)
_SET_HASH = update(_HEAD_ROW).where(_HEAD_ROW.c.id == HEAD_ID).values(hash=bindparam("new_hash"))
#: PostgreSQL: the entry and the head's new hash in one statement (one round trip)
_APPEND = _SET_HASH.add_cte(_INSERT.cte("entry"))


def _advance_head(session: Session, writing: Sequence[Base]) -> tuple[int, str]:
    head = insert_rows(session, *writing, then=_ADVANCE)
    if head is None:
        ensure_head(session)
        head = session.execute(_ADVANCE).one()
    seq, hash_ = head
    return seq, hash_


def _append(session: Session, values: dict[str, Any]) -> None:
    parameters = {f"entry_{name}": value for name, value in values.items()}
    parameters["new_hash"] = values["hash"]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_APPEND, parameters)
    else:  # SQLite has no INSERT inside WITH; its statements cost no round trip anyway
        session.execute(_INSERT, parameters)
        session.execute(_SET_HASH, parameters)


def ensure_head(session: Session) -> None:
    """Create the head row, at the last entry, if it is missing (a truncated or hand-made schema).

    Concurrent callers are safe: the insert does nothing when another one got there first.
    """
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).where(
            AuditEntry.seq == select(func.max(AuditEntry.seq)).scalar_subquery()
        )
    ).one_or_none()
    seq, hash_ = (last.seq, last.hash) if last is not None else (0, GENESIS_HASH)
    logger.warning("audit head row was missing; recreating it at seq %s", seq)
    session.execute(
        insert_or_not(session)(AuditHead)
        .values(id=HEAD_ID, seq=seq, hash=hash_)
        .on_conflict_do_nothing()
    )


def _text(value: str | None) -> str | None:
    # PostgreSQL cannot store NUL in text; refuse it everywhere so both databases behave alike.
    if value is not None and "\x00" in value:
        raise ValueError("audit text must not contain NUL")
    return value


def _codes(values: list[str]) -> list[str]:
    for value in values:
        if not isinstance(value, str):
            raise ValueError("categories and reasons are lists of codes (strings)")
        _text(value)
    return values


def _detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, value in detail.items():
        if not isinstance(key, str):
            raise ValueError("audit detail keys are strings")
        _text(key)
        many = isinstance(value, list | tuple)
        for item in value if many else [value]:
            # Floats are left out on purpose: their JSON text is not stable across databases.
            if not isinstance(item, _Scalar):
                raise ValueError(f"audit detail {key!r} holds a {type(item).__name__}")
            if isinstance(item, str):
                _text(item)
        checked[key] = list(value) if many else value
    if len(json.dumps(checked, ensure_ascii=True)) > MAX_DETAIL_CHARS:
        raise ValueError("audit detail is too large: it is for ids and codes, not text")
    return checked
