"""Accounting benchmark: one client's accounting of disclosures against the equivalent raw SQL.

    python bench/accounting_bench.py [--entries N] [--clients C] [--runs R] [--database-url URL]

Fills the audit log with N entries (default 1,000,000) about C clients over seven years — a
third of them `disclosure.permitted`, the rest denials, reads and views — then times, in the same
run, `roi.compliance.accounting.build` for one client's default six-year window (the audit read,
the directory's names loaded in bulk, the labels) against one raw SQL statement returning the
same rows joined with the provider directory. Prints the medians, their ratio, and the goal
(under 50 ms). SQLite runs in a temporary file; with --database-url (PostgreSQL) everything
happens in a fresh schema that is dropped afterwards.

The rows are inserted directly (not chained: verification is not what is measured here).
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch import on_each_database
from roi import vault  # after the path fix: a checkout runs as is
from roi.accounts.models import Client, Organization, Provider
from roi.audit import Action, AuditEntry, Outcome
from roi.compliance.accounting import build, period_for
from roi.consent.library import FormLibrary
from roi.db import Base
from roi.models import import_all
from roi.vault.keyring import KeyRing

ROOT = Path(__file__).resolve().parents[1]
GOAL_MS = 50.0
BATCH = 10_000
PROVIDERS = 200
CATEGORY_SETS = (
    ["diagnosis"],
    ["diagnosis", "medications"],
    ["treatment_plan"],
    ["sud_diagnosis"],
    ["attendance", "sud_treatment"],
)
PURPOSES = ("treatment", "care_coordination", "medication_management")
#: what the rest of the log is made of (weights): reads and views outnumber disclosures
OTHER_ACTIONS = (
    (Action.DISCLOSURE_DENIED, Outcome.DENY, 1),
    (Action.MESSAGE_READ, Outcome.SUCCESS, 2),
    (Action.RECORD_VIEWED, Outcome.SUCCESS, 2),
    (Action.DECISION_CHECKED, Outcome.PERMIT, 1),
)

RAW_SQL = text(
    """
    SELECT a.seq, a.at, a.consent_id, a.message_id, a.categories, a.purpose,
           p.name, p.credentials, p.organization_name, p.address
    FROM audit_entries AS a
    LEFT JOIN providers AS p ON p.id = a.recipient_provider_id
    WHERE a.client_id = :client_id AND a.action = 'disclosure.permitted'
      AND a.at >= :start AND a.at < :end
    ORDER BY a.seq
    """
)


def fill(engine: Engine, entries: int, clients: int, seed: int = 7) -> int:
    """The organization, clients, providers and `entries` audit rows; returns the client to time."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    span = timedelta(days=7 * 365).total_seconds()
    others = [(action, outcome) for action, outcome, w in OTHER_ACTIONS for _ in range(w)]
    with engine.begin() as conn:
        conn.execute(insert(Organization).values(id=1, uuid=secrets.token_hex(16), name="Bench"))
        conn.execute(
            insert(Client),
            [
                {
                    "id": i,
                    "uuid": secrets.token_hex(16),
                    "organization_id": 1,
                    "given_name": "Client",
                    "family_name": f"Number {i}",
                    "birth_date": date(1980, 1, 1),
                    "created_at": now,
                }
                for i in range(1, clients + 1)
            ],
        )
        conn.execute(
            insert(Provider),
            [
                {
                    "id": i,
                    "uuid": secrets.token_hex(16),
                    "name": f"Provider {i}",
                    "credentials": "MD",
                    "organization_name": f"Practice {i % 40}",
                    "address": f"{i} Main Street\nSpringfield",
                    "created_at": now,
                }
                for i in range(1, PROVIDERS + 1)
            ],
        )
    hash_ = "0" * 64
    for start in range(1, entries + 1, BATCH):
        rows = []
        for seq in range(start, min(start + BATCH, entries + 1)):
            permitted = rng.random() < 1 / 3
            action, outcome = (
                (Action.DISCLOSURE_PERMITTED, Outcome.PERMIT) if permitted else rng.choice(others)
            )
            rows.append(
                {
                    "seq": seq,
                    "at": now - timedelta(seconds=rng.random() * span),
                    "actor_id": 1,
                    "actor_role": "clinician",
                    "organization_id": 1,
                    "action": action,
                    "outcome": outcome,
                    "client_id": rng.randint(1, clients),
                    "consent_id": rng.randint(1, 5000),
                    "recipient_provider_id": rng.randint(1, PROVIDERS),
                    "message_id": seq if permitted else None,
                    "categories": rng.choice(CATEGORY_SETS),
                    "purpose": rng.choice(PURPOSES),
                    "request_id": "bench",
                    "ip": "192.0.2.1",
                    "prev_hash": hash_,
                    "hash": hash_,
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(AuditEntry), rows)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return 1


def median_ms(runs: int, work: Callable[[], int]) -> tuple[float, int]:
    """The median wall time of `work` in ms, and what it last returned (rows found)."""
    times = []
    found = 0
    for _ in range(runs):
        start = time.perf_counter()
        found = work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), found


def bench(engine: Engine, entries: int, clients: int, runs: int) -> None:
    print(f"\n== {engine.dialect.name}: {entries} audit entries, {clients} clients")
    started = time.perf_counter()
    client_id = fill(engine, entries, clients)
    print(f"filled in {time.perf_counter() - started:.1f} s")
    library = FormLibrary.load(ROOT / "forms")
    period = period_for(None, None)
    with Session(engine) as session:
        client = session.get(Client, client_id)
        if client is None:
            raise SystemExit("the benchmark's client was not stored")

        def accounting() -> int:
            found = build(session, library, client, period)
            session.rollback()  # a fresh read each time, as one request would do
            return len(found.rows)

        def raw() -> int:
            rows = session.execute(
                RAW_SQL,
                {"client_id": client_id, "start": period.start, "end": period.end},
            ).all()
            session.rollback()
            return len(rows)

        accounting()
        raw()  # warm up caches and the statement cache
        raw_ms, raw_rows = median_ms(runs, raw)
        accounting_ms, rows = median_ms(runs, accounting)
        if rows != raw_rows:
            raise SystemExit(f"the accounting found {rows} rows, the raw SQL {raw_rows}")
        verdict = "meets" if accounting_ms < GOAL_MS else "MISSES"
        print(f"rows for the client   {rows}")
        print(f"raw SQL               {raw_ms:8.2f} ms (median of {runs})")
        print(
            f"accounting (build)    {accounting_ms:8.2f} ms   ratio {accounting_ms / raw_ms:.2f}"
            f"   goal < {GOAL_MS:.0f} ms: {verdict}"
        )
        plan = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        bound = RAW_SQL.bindparams(client_id=client_id, start=period.start, end=period.end)
        compiled = bound.compile(engine, compile_kwargs={"literal_binds": True})
        print("plan of the raw SQL:")
        for line in session.execute(text(plan + str(compiled))).all():
            print("   ", " ".join(str(part) for part in line))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--database-url", help="a PostgreSQL URL (a scratch database)")
    args = parser.parse_args()
    import_all()
    vault.use(KeyRing.generate())

    def run(engine: Engine) -> None:
        Base.metadata.create_all(engine)
        bench(engine, args.entries, args.clients, args.runs)

    on_each_database(args.database_url, run)


if __name__ == "__main__":
    main()
