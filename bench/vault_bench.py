"""What sealing costs: storing N rows sealed vs the same plaintext unsealed, in the same run.

    python bench/vault_bench.py [--rows N] [--database-url postgresql+psycopg:///roi_bench?host=...]

Always measures a temporary SQLite file (WAL, roi's pragmas); with --database-url, also that
database (two bench_* tables are created and dropped). Each measurement alternates the plain and
the sealed variant and keeps the best of three, so both see the same cache and load. Rotation
throughput (re-encrypting every row to a new key) is printed too. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    select,
    text,
)

from roi import vault
from roi.db import configure_engine
from roi.vault import KeyRing, Place
from roi.vault.rotate import rotate, sealed_columns

metadata = MetaData()
plain = Table(
    "bench_plain",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False),
    Column("body", LargeBinary),
)
sealed = Table(
    "bench_sealed",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False),
    Column("body", LargeBinary, info={"sealed": True}),
)
#: a clinical-note-sized payload (about 600 bytes)
PAYLOAD = b"Client reports improved sleep; reviewed safety plan; next session in 2 weeks. " * 8
ROUNDS = 3


def best(run: Callable[[], None], reset: Callable[[], None]) -> float:
    """The shortest of ROUNDS timed runs, each on emptied tables."""
    times = []
    for _ in range(ROUNDS):
        reset()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def rows_for(table: Table, count: int) -> list[dict[str, object]]:
    rows = []
    for _ in range(count):
        row_uuid = str(uuid.uuid4())
        body = PAYLOAD
        if table is sealed:
            body = vault.seal(PAYLOAD, Place(table.name, "body", row_uuid))
        rows.append({"uuid": row_uuid, "body": body})
    return rows


def bench_database(label: str, engine: Engine, count: int) -> None:
    metadata.drop_all(engine)
    metadata.create_all(engine)

    def reset() -> None:
        with engine.begin() as conn:
            for table in (plain, sealed):
                conn.execute(table.delete())

    def bulk(table: Table) -> Callable[[], None]:
        # Sealing happens inside the timed run: that is the cost being measured.
        def run() -> None:
            with engine.begin() as conn:
                conn.execute(insert(table), rows_for(table, count))

        return run

    def one_by_one(table: Table, n: int) -> Callable[[], None]:
        # One transaction per row, as a service writes a message with its audit entry.
        def run() -> None:
            for _ in range(n):
                (row,) = rows_for(table, 1)
                with engine.begin() as conn:
                    conn.execute(insert(table), row)

        return run

    def read(table: Table) -> Callable[[], None]:
        def run() -> None:
            with engine.connect() as conn:
                for row_uuid, body in conn.execute(select(table.c.uuid, table.c.body)):
                    if table is sealed:
                        vault.open_sealed(body, Place(table.name, "body", row_uuid))

        return run

    def show(name: str, n: int, t_plain: float, t_sealed: float) -> None:
        per_plain, per_sealed = 1e6 * t_plain / n, 1e6 * t_sealed / n
        print(f"  {name:42} {per_plain:9.1f}µs {per_sealed:9.1f}µs {t_sealed / t_plain:6.2f}x")

    single = max(50, count // 10)
    print(f"\n{label}")
    print(f"  {'per row':42} {'plain':>11} {'sealed':>11} {'ratio':>7}")
    show(
        f"insert {count} rows in one transaction",
        count,
        best(bulk(plain), reset),
        best(bulk(sealed), reset),
    )
    show(
        f"insert {single} rows, a transaction each",
        single,
        best(one_by_one(plain, single), reset),
        best(one_by_one(sealed, single), reset),
    )
    reset()
    with engine.begin() as conn:
        conn.execute(insert(plain), rows_for(plain, count))
        conn.execute(insert(sealed), rows_for(sealed, count))
    show(f"read {count} rows", count, best(read(plain), _nothing), best(read(sealed), _nothing))

    vault.use(vault.ring().with_new_primary())
    start = time.perf_counter()
    report = rotate(engine, sealed_columns(metadata))
    elapsed = time.perf_counter() - start
    rate = report.resealed / elapsed
    print(f"  rotation to a new key: {report.resealed} rows in {elapsed:.2f}s ({rate:.0f} rows/s)")
    metadata.drop_all(engine)
    engine.dispose()


def _nothing() -> None:
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--database-url", help="also measure this (PostgreSQL) database")
    args = parser.parse_args()
    vault.use(KeyRing.generate())

    start = time.perf_counter()
    for _ in range(args.rows):
        vault.seal(PAYLOAD, Place("bench", "body", "00000000-0000-4000-8000-000000000000"))
    per_seal = 1e6 * (time.perf_counter() - start) / args.rows
    print(f"seal alone: {per_seal:.1f}µs per {len(PAYLOAD)}-byte payload (AES-256-GCM)")

    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{os.path.join(folder, 'bench.db')}")
        configure_engine(engine)
        bench_database("SQLite (WAL, synchronous=NORMAL)", engine, args.rows)
    if args.database_url:
        engine = create_engine(args.database_url, hide_parameters=True)
        configure_engine(engine)
        with engine.connect() as conn:
            server = conn.execute(text("select version()")).scalar_one().split(",")[0]
        bench_database(server, engine, args.rows)


if __name__ == "__main__":
    main()
