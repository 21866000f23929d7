"""Audit log benchmark: appends/s against a plain insert, and verification against a raw SELECT.

    python bench/audit_bench.py [--count N] [--database-url URL]

SQLite runs in a temporary file. With --database-url (PostgreSQL), everything happens in a fresh
schema that is dropped afterwards, so a scratch database is enough and no roi table is touched.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    text,
)
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch import on_each_database
from roi import audit, vault  # after the path fix: a checkout runs as is
from roi.actor import Actor, Role
from roi.clock import now
from roi.db import Base, unit_of_work
from roi.models import import_all
from roi.vault.keyring import KeyRing

ACTOR = Actor(user_id=1, role=Role.CLINICIAN, organization_id=1, ip="192.0.2.1", request_id="b")

plain_metadata = MetaData()
#: the same columns as audit_entries, with an autoincrement key and no chain
plain = Table(
    "bench_plain_entries",
    plain_metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_id", Integer),
    Column("actor_role", String(20), nullable=False),
    Column("organization_id", Integer),
    Column("action", String(40), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("client_id", Integer),
    Column("categories", JSON),
    Column("purpose", String(100)),
    Column("detail", JSON),
    Column("request_id", String(64)),
    Column("ip", String(45)),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)


def rate(count: int, work: Callable[[], None]) -> float:
    """Operations per second of `work` run `count` times."""
    start = time.perf_counter()
    for _ in range(count):
        work()
    return count / (time.perf_counter() - start)


def bench(engine: Engine, count: int) -> None:
    print(f"\n== {engine.dialect.name}: {count} appends, one transaction each")
    with Session(engine) as session:

        def audited() -> None:
            with unit_of_work(session):
                audit.record(
                    session,
                    ACTOR,
                    audit.Action.RECORD_VIEWED,
                    client_id=42,
                    categories=["diagnosis"],
                    purpose="treatment",
                    detail={"n": 1},
                )

        def plain_insert() -> None:
            with unit_of_work(session):
                session.execute(
                    insert(plain).values(
                        at=now(),
                        actor_id=1,
                        actor_role="clinician",
                        organization_id=1,
                        action="record.viewed",
                        outcome="success",
                        client_id=42,
                        categories=["diagnosis"],
                        purpose="treatment",
                        detail={"n": 1},
                        request_id="b",
                        ip="192.0.2.1",
                        prev_hash="0" * 64,
                        hash="0" * 64,
                    )
                )

        rate(min(count, 50), plain_insert)  # warm up the pool and the caches
        plain_rate = rate(count, plain_insert)
        audit_rate = rate(count, audited)
        print(f"plain insert   {plain_rate:10.0f} /s")
        print(f"audit.record   {audit_rate:10.0f} /s   ratio {audit_rate / plain_rate:.2f}")

        session.commit()
        start = time.perf_counter()
        rows = session.execute(text("SELECT * FROM audit_entries ORDER BY seq")).all()
        select_rate = len(rows) / (time.perf_counter() - start)
        session.commit()
        start = time.perf_counter()
        result = audit.verify(session)
        verify_rate = result.entries / (time.perf_counter() - start)
        if not result.ok:
            raise SystemExit(f"the benchmark's own chain does not verify: {result}")
        ratio = verify_rate / select_rate
        print(f"raw SELECT     {select_rate:10.0f} rows/s")
        print(f"audit.verify   {verify_rate:10.0f} entries/s   ratio {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--database-url", help="a PostgreSQL URL (a scratch database)")
    args = parser.parse_args()
    import_all()
    vault.use(KeyRing.generate())

    def run(engine: Engine) -> None:
        Base.metadata.create_all(engine)
        plain_metadata.create_all(engine)
        bench(engine, args.count)

    on_each_database(args.database_url, run)


if __name__ == "__main__":
    main()
