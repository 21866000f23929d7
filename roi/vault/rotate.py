"""Key rotation: re-encrypt every sealed column to the primary key, in resumable batches.

The sealed-column convention (every table that stores a ciphertext follows it):

- A sealed column is a `LargeBinary` column declared with `info={"sealed": True}`::

      body: Mapped[bytes | None] = mapped_column(LargeBinary, info={"sealed": True})

- Its table has an integer primary key `id` (rotation walks rows by it) and a string `uuid`
  column whose value is known before INSERT (`default=new_uuid`, or set by the service), because
  the uuid is part of the associated data. A row's uuid never changes afterwards: a new uuid makes
  every sealed value of the row unreadable.
- The stored value is `vault.seal(plaintext, Place(table.name, column.name, row.uuid))` and is
  read with `vault.open_sealed(blob, <the same Place>)`. NULL means nothing is stored.

`sealed_columns(metadata)` discovers these columns, so a new sealed column is rotated, counted by
`status()` and guarded by `retire_key()` without any change here.

Why rotation is safe under a crash and under concurrent writes:

- Each batch is its own committed transaction, and a row is only ever replaced by a ciphertext of
  the same plaintext under the primary key. The ring holds the old and the new key throughout,
  so after a SIGKILL at any point every row opens, under one key or the other; running again
  resumes, because only rows not yet under the primary are selected.
- The UPDATE is a compare-and-set (`WHERE id = :id AND col = :old`): if the application wrote the
  row between our read and our write, the UPDATE matches nothing and the application's value
  stays. It was written with the application's primary key; if that is still an old key (a worker
  not yet restarted), `status()` keeps counting it and the next run picks it up.
- A key may leave the ring only when `status()` counts no ciphertext under it (`retire_key`).
  Restart every application process after a rotation *before* retiring the old key: a process
  still holding the old ring keeps sealing under the old key.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import (
    Column,
    Engine,
    LargeBinary,
    MetaData,
    Table,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from roi.db import unit_of_work
from roi.vault.aead import VERSION, Place, reseal, ring
from roi.vault.errors import IntegrityFailure, KeyInUse, UnknownKeyId, VaultError
from roi.vault.keyring import KeyRing

logger = logging.getLogger(__name__)

#: the pseudo key id under which `status()` counts blobs whose header is not a version-1 header
MALFORMED = "(malformed)"

SessionFactory = Callable[[], Session]


@dataclass(frozen=True)
class SealedColumn:
    """One sealed column of one table, found by `sealed_columns()`."""

    table: Table
    column: Column[bytes]

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"

    def place(self, row_uuid: str) -> Place:
        return Place(self.table.name, self.column.name, row_uuid)


@dataclass(frozen=True)
class RotationReport:
    """What one run of `rotate()` did."""

    primary: str
    #: ciphertexts rewritten under the primary key by this run
    resealed: int = 0
    #: rows the application rewrote between our read and our write; its value was kept
    skipped_concurrent: int = 0
    #: places whose ciphertext could not be opened (tampered, or under a key not in the ring)
    failed: tuple[str, ...] = ()
    #: ciphertexts still under a key other than the primary after the run, per key id
    remaining: dict[str, int] = field(default_factory=dict)

    @property
    def remaining_total(self) -> int:
        return sum(self.remaining.values())


def sealed_columns(metadata: MetaData) -> list[SealedColumn]:
    """Every column marked `info={"sealed": True}`, in table dependency order.

    Raises:
        VaultError: a sealed column breaks the convention in this module's docstring.
    """
    found = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            if not column.info.get("sealed"):
                continue
            where = f"{table.name}.{column.name}"
            if not isinstance(column.type, LargeBinary):
                raise VaultError(f"sealed column {where} must be LargeBinary")
            if "uuid" not in table.c or "id" not in table.c or not table.c.id.primary_key:
                raise VaultError(f"sealed column {where}: its table needs `id` and `uuid` columns")
            found.append(SealedColumn(table, column))
    return found


def rotate(
    source: Engine | SessionFactory,
    columns: Iterable[SealedColumn],
    *,
    batch_size: int = 500,
) -> RotationReport:
    """Re-encrypt every ciphertext in `columns` that is not under the active ring's primary key.

    Idempotent and resumable: a second run changes nothing, a run after a crash finishes the work.
    A ciphertext that cannot be opened is left as it is, logged and listed in the report.

    Raises:
        KeyRingError: no key ring is loaded.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    columns = list(columns)
    primary = ring().primary
    resealed = skipped = 0
    failed: list[str] = []
    with _session_factory(source)() as session:
        for sealed in columns:
            done, lost, bad = _rotate_column(session, sealed, primary, batch_size)
            resealed, skipped = resealed + done, skipped + lost
            failed.extend(bad)
    remaining = {
        kid: count for kid, count in status(source, columns).items() if kid != primary and count
    }
    logger.info(
        "rotation to key %s: %d re-encrypted, %d changed concurrently, %d unreadable, %d remain",
        primary,
        resealed,
        skipped,
        len(failed),
        sum(remaining.values()),
    )
    return RotationReport(primary, resealed, skipped, tuple(failed), remaining)


def status(source: Engine | SessionFactory, columns: Iterable[SealedColumn]) -> dict[str, int]:
    """How many ciphertexts each key id protects, across `columns`; NULLs are not counted.

    Blobs whose header is not a version-1 header are counted under `MALFORMED`. The key ids are
    read from the headers by the database (two GROUP BY queries per column), so no blob leaves it.
    """
    counts: Counter[str] = Counter()
    with _session_factory(source)() as session:
        for sealed in columns:
            col = sealed.column
            head = _bytes_at(col, 1, 2)
            heads = session.execute(
                select(head, func.count()).where(col.is_not(None)).group_by(head)
            ).all()
            for header, count in heads:
                header = bytes(header or b"")
                if len(header) != 2 or header[0] != VERSION or header[1] == 0:
                    counts[MALFORMED] += count
                    continue
                kid_expr = _bytes_at(col, 3, header[1])
                kids = session.execute(
                    select(kid_expr, func.count()).where(head == header).group_by(kid_expr)
                ).all()
                for kid_bytes, kid_count in kids:
                    counts[_kid_label(bytes(kid_bytes or b""), header[1])] += kid_count
        session.rollback()
    return dict(counts)


def retire_key(
    source: Engine | SessionFactory,
    columns: Iterable[SealedColumn],
    kid: str,
    keys: KeyRing | None = None,
) -> KeyRing:
    """The key ring (`keys`, by default the active one) without `kid`, once nothing uses it.

    The caller stores the returned ring with its provider and makes it active with `use()`.

    Raises:
        KeyRingError: `kid` is the primary key or is not in the ring.
        KeyInUse: some ciphertext in `columns` is still under `kid`.
    """
    keys = keys or ring()
    smaller = keys.without(kid)
    in_use = status(source, columns).get(kid, 0)
    if in_use:
        raise KeyInUse(f"key {kid} still protects {in_use} ciphertext(s): rotate first")
    logger.info("key %s protects no ciphertext and may leave the key ring", kid)
    return smaller


def _rotate_column(
    session: Session, sealed: SealedColumn, primary: str, batch_size: int
) -> tuple[int, int, list[str]]:
    """Walk one column by id, re-encrypting batch by batch; returns (resealed, skipped, failed)."""
    table, col = sealed.table, sealed.column
    id_col, uuid_col = table.c.id, table.c.uuid
    kid = primary.encode("ascii")
    prefix = bytes([VERSION, len(kid)]) + kid
    # Only rows whose header names another key: a finished or resumed run skips the rest in SQL.
    not_primary = _bytes_at(col, 1, len(prefix)) != prefix
    resealed = skipped = 0
    failed: list[str] = []
    last_id = 0
    while True:
        rows = session.execute(
            select(id_col, uuid_col, col)
            .where(id_col > last_id, col.is_not(None), not_primary)
            .order_by(id_col)
            .limit(batch_size)
        ).all()
        # End the read transaction: the batch is re-encrypted outside any lock.
        session.rollback()
        if not rows:
            break
        last_id = rows[-1][0]
        changes = []
        for row_id, row_uuid, blob in rows:
            place = sealed.place(row_uuid)
            try:
                new = reseal(bytes(blob), place)
            except (IntegrityFailure, UnknownKeyId):
                # open_sealed has logged it as CRITICAL; leave the row for an operator.
                failed.append(str(place))
                continue
            if new is not None:
                changes.append((row_id, blob, new))
        if not changes:
            continue
        with unit_of_work(session):
            for row_id, old, new in changes:
                result = session.connection().execute(
                    update(table).where(id_col == row_id, col == old).values({col.name: new})
                )
                if result.rowcount == 1:
                    resealed += 1
                else:
                    skipped += 1
        logger.debug("%s: re-encrypted up to id %d", sealed.name, last_id)
    return resealed, skipped, failed


def _bytes_at(col: Column[bytes], start: int, length: int) -> ColumnElement[bytes]:
    """SQL for `length` bytes of `col` from 1-based `start` (substr works on BLOB and bytea)."""
    # Literal positions, not bound parameters: PostgreSQL accepts a GROUP BY expression only when
    # it is textually the selected one, and each bound parameter gets its own placeholder.
    return func.substr(
        col, literal_column(str(int(start))), literal_column(str(int(length))), type_=LargeBinary
    )


def _kid_label(raw: bytes, size: int) -> str:
    if len(raw) != size:
        return MALFORMED
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return MALFORMED


def _session_factory(source: Engine | SessionFactory) -> SessionFactory:
    if isinstance(source, Engine):
        engine = source
        return lambda: Session(engine)
    return source
