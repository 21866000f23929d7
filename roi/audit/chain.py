"""The hash chain: canonical encoding, the per-entry HMAC, and verification of the whole log.

Each entry's `hash` is HMAC-SHA256(audit key, canonical_encoding(entry) + prev_hash), where
`prev_hash` is the previous entry's `hash` (64 zeros for seq 1). The canonical encoding is JSON
with sorted keys, no whitespace and ASCII-only escapes, so a name or reason holding a newline, a
carriage return, an ANSI escape or `"}` is escaped text and cannot forge structure (SECURITY G5).

Because `seq` is inside the MAC and the links are checked, the verifier names the first bad seq
for a changed field, a deleted row, two swapped rows and a forged row (SECURITY G2). Entries cut
from the end are found against the head row and, when that was rewritten too, against a signed
checkpoint exported earlier.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, Text, select, type_coerce
from sqlalchemy.orm import Session

from roi import vault
from roi.audit.models import AuditEntry, AuditHead
from roi.audit.schema import GENESIS_HASH, HEAD_ID
from roi.errors import RoiError

if TYPE_CHECKING:
    from sqlalchemy import Row

    from roi.audit.checkpoint import Checkpoint

logger = logging.getLogger(__name__)

#: bump when the encoding changes; it is inside every MAC, so old entries keep verifying
FORMAT_VERSION = 1
#: the columns the MAC covers, in no particular order (the encoding sorts keys)
CHAINED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_role",
    "organization_id",
    "action",
    "outcome",
    "client_id",
    "consent_id",
    "recipient_provider_id",
    "message_id",
    "subject_user_id",
    "categories",
    "purpose",
    "reasons",
    "detail",
    "request_id",
    "ip",
)
_JSON_FIELDS = frozenset({"categories", "reasons", "detail"})
DEFAULT_BATCH = 1000


class ChainBroken(RoiError):
    """The audit chain failed verification; `verification` says where and why."""

    code, http_status = "audit_chain_broken", 500

    def __init__(self, verification: Verification) -> None:
        super().__init__(
            f"audit chain broken at seq {verification.first_bad_seq}: {verification.reason}"
        )
        self.verification = verification


@dataclass(frozen=True)
class Verification:
    """The verifier's answer. On failure `entries` and `head_hash` describe the intact prefix."""

    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The result as plain data, for `roi audit verify --json` and the compliance view."""
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
        }


def iso_micro(moment: datetime) -> str:
    """UTC ISO 8601 with microseconds and a `Z`: the exact instant the database stores."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The object the MAC covers, built from column values (`at` as an aware datetime)."""
    fields = {name: values[name] for name in CHAINED_FIELDS}
    fields["at"] = iso_micro(values["at"])
    fields["v"] = FORMAT_VERSION
    return fields


def canonical_encoding(fields: Mapping[str, Any]) -> bytes:
    """Sorted keys, no whitespace, ASCII-only: one byte string per entry, on every database."""
    text = json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return text.encode("ascii")


def entry_hash(values: Mapping[str, Any], prev_hash: str) -> str:
    """The hex MAC of an entry with these column values that follows `prev_hash`."""
    message = canonical_encoding(canonical_fields(values)) + prev_hash.encode("ascii")
    return vault.audit_mac(message).hex()


def canonical_json(entry: AuditEntry) -> str:
    """The canonical JSON of a stored entry, as the MAC covers it (for exports and tests)."""
    values = {name: getattr(entry, name) for name in CHAINED_FIELDS}
    return canonical_encoding(canonical_fields(values)).decode("ascii")


def verify(
    session: Session, *, checkpoint: Checkpoint | None = None, batch_size: int = DEFAULT_BATCH
) -> Verification:
    """Walk the whole chain in seq order, `batch_size` rows at a time, and recompute every MAC.

    Also checks that seq runs 1, 2, 3, … without gaps, that every entry links to the one before,
    that the head row agrees with the last entry and, given a checkpoint, that the log still
    holds the checkpoint's entry unchanged (catching entries cut from the end).

    Raises:
        InvalidCheckpoint: the checkpoint's signature is not this installation's.
        KeyRingError: no key ring is loaded.
    """
    if checkpoint is not None:
        # Refuse before reading anything: an unsigned checkpoint would let anyone "prove" a cut log.
        checkpoint.require_valid()
    walker = _Walker(checkpoint)
    after: int | None = None
    rechecked = False
    head: Any = None  # Any: Row's type parameters differ between SQLAlchemy 2.0 and 2.1
    while True:
        rows = _batch(session, after, batch_size)
        if not rows:
            head = session.execute(
                select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)
            ).one_or_none()
            # A writer may have committed after our last batch: its head is then ahead of us,
            # and one more look finds its rows (they commit together with the head).
            if head is not None and head.seq > walker.last_seq and not rechecked:
                rechecked = True
                continue
            break
        rechecked = False
        for row in rows:
            if not walker.step(row):
                return walker.failed()
        after = walker.last_seq
    return walker.finish(head)


def newest_entry_authentic(session: Session) -> bool:
    """Whether the loaded key ring's audit key made the newest entry's MAC (True for an empty log).

    One row read by its primary key: a cheap sign that this ring belongs to this database.

    Raises:
        KeyRingError: no key ring is loaded.
    """
    seq = AuditEntry.__table__.c.seq
    row = session.execute(select(*_raw_columns()).order_by(seq.desc()).limit(1)).one_or_none()
    if row is None:
        return True
    try:
        return bool(entry_hash(_stored_values(row), row.prev_hash) == row.hash)
    except (ValueError, TypeError, KeyError):
        return False


def _raw_columns() -> list[Any]:
    # Read enum, time and JSON columns as the database has them: a forged row holding an unknown
    # action or a malformed time must be reported at its seq, not crash the verifier.
    table = AuditEntry.__table__
    raw: dict[str, Any] = {"action": String(), "outcome": String(), "at": String()}
    columns: list[Any] = []
    for name in (*CHAINED_FIELDS, "prev_hash", "hash"):
        column = table.c[name]
        if name in raw:
            columns.append(type_coerce(column, raw[name]).label(name))
        elif name in _JSON_FIELDS:
            columns.append(type_coerce(column, Text()).label(name))
        else:
            columns.append(column)
    return columns


def _batch(session: Session, after: int | None, size: int) -> Sequence[Row[Any]]:
    seq = AuditEntry.__table__.c.seq
    query = select(*_raw_columns()).order_by(seq).limit(size)
    if after is not None:
        query = query.where(seq > after)
    return session.execute(query).all()


def _decode_time(value: object) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value)
    else:
        raise ValueError("not a time")
    # SQLite keeps no offset; roi stores UTC there (roi.db.UTCDateTime).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _decode_json(value: object) -> object:
    # SQLite hands back the text; psycopg may already have parsed it.
    if isinstance(value, str | bytes):
        return json.loads(value)
    return value


def _stored_values(row: Row[Any]) -> dict[str, Any]:
    values = dict(row._mapping)
    values["at"] = _decode_time(values["at"])
    for name in _JSON_FIELDS:
        values[name] = _decode_json(values[name])
    return values


class _Walker:
    """The verifier's state while it walks the chain."""

    def __init__(self, checkpoint: Checkpoint | None) -> None:
        self.checkpoint = checkpoint
        self.count = 0
        self.last_seq = 0
        self.prev_hash = GENESIS_HASH
        self.checkpoint_hash = GENESIS_HASH if checkpoint and checkpoint.seq == 0 else None
        self.bad_seq: int | None = None
        self.reason: str | None = None

    def fail(self, seq: int, reason: str) -> bool:
        self.bad_seq, self.reason = seq, reason
        return False

    def step(self, row: Row[Any]) -> bool:
        expected = self.last_seq + 1
        seq = row.seq
        if seq > expected:
            return self.fail(expected, f"entry {expected} is missing")
        if seq < expected:
            return self.fail(seq, f"entry {seq} is out of sequence")
        if row.prev_hash != self.prev_hash:
            return self.fail(seq, f"entry {seq} does not link to the entry before it")
        try:
            computed = entry_hash(_stored_values(row), self.prev_hash)
        except (ValueError, TypeError, KeyError):
            return self.fail(seq, f"entry {seq} is unreadable")
        if computed != row.hash:
            return self.fail(seq, f"entry {seq} does not match its hash (changed or forged)")
        self.count += 1
        self.last_seq = seq
        self.prev_hash = row.hash
        if self.checkpoint is not None and seq == self.checkpoint.seq:
            self.checkpoint_hash = row.hash
        return True

    def failed(self) -> Verification:
        logger.warning("audit chain broken at seq %s", self.bad_seq)
        return Verification(False, self.count, self.prev_hash, self.bad_seq, self.reason)

    def finish(self, head: Row[Any] | None) -> Verification:
        last = self.last_seq
        if head is None:
            # Only a database set up without roi's schema lacks the row; record() recreates it.
            logger.warning("audit head row is missing")
        elif head.seq > last:
            self.fail(last + 1, f"entries {last + 1}..{head.seq} are missing from the end")
        elif head.seq < last:
            self.fail(head.seq + 1, f"entry {head.seq + 1} lies beyond the recorded head")
        elif head.hash != self.prev_hash:
            self.fail(last, f"the head's hash differs from entry {last}'s")
        checkpoint = self.checkpoint
        if self.bad_seq is None and checkpoint is not None:
            if last < checkpoint.seq:
                self.fail(
                    last + 1,
                    f"entries {last + 1}..{checkpoint.seq} are missing (cut from the end): "
                    f"the log ends at entry {last} but the checkpoint covers {checkpoint.seq}",
                )
            elif self.checkpoint_hash != checkpoint.hash:
                self.fail(checkpoint.seq, f"entry {checkpoint.seq} differs from the checkpoint")
        if self.bad_seq is not None:
            return self.failed()
        return Verification(True, self.count, self.prev_hash)
