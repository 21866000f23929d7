"""Disclosure log benchmark: a filtered log page through `roi.compliance.log` against the same
SELECT as raw SQL, and chain verification against a raw scan of the same rows, in the same run.

    python bench/log_bench.py [--entries 1000000] [--repeat 21] [--database-url URL]

The log is seeded by bulk insert of N entries chained with the real chain function
(`roi.audit.chain.entry_hash`), spread over two years, 20 practices and 2,000 clients. Each page
is measured as a compliance officer gets it: scoped to their practice, names loaded, the look
itself audited (`audit.viewed`, one chained append per page). Goal: a page under 100 ms.

SQLite runs in a temporary file. With --database-url (PostgreSQL), everything happens in a fresh
schema that is dropped afterwards, so a scratch database is enough and no roi table is touched.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, insert, text, update
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch import on_each_database
from roi import vault  # after the path fix: a checkout runs as is
from roi.accounts.models import Client, Organization, Provider, User
from roi.actor import Actor, Role
from roi.audit import Action, AuditEntry, AuditHead, Outcome
from roi.audit.chain import CHAINED_FIELDS, entry_hash
from roi.audit.schema import GENESIS_HASH, HEAD_ID
from roi.audit.search import EntryFilter
from roi.compliance import log, verification
from roi.db import Base, UTCDateTime
from roi.models import import_all
from roi.vault.keyring import KeyRing

PRACTICES = 20
CLINICIANS_PER_PRACTICE = 5
CLIENTS_PER_PRACTICE = 100
SPAN = timedelta(days=730)
START = datetime(2024, 1, 1, tzinfo=UTC)
INSERT_BATCH = 5000
GOAL_MS = 100.0
#: a password hash no password matches: nobody signs in to the benchmark's accounts
NO_SIGN_IN = "-"

#: how often each kind of entry occurs (the rest of an installation's log, roughly)
MIX: list[tuple[Action, Outcome, int]] = [
    (Action.DISCLOSURE_PERMITTED, Outcome.PERMIT, 30),
    (Action.DISCLOSURE_DENIED, Outcome.DENY, 5),
    (Action.DECISION_CHECKED, Outcome.PERMIT, 10),
    (Action.MESSAGE_READ, Outcome.SUCCESS, 20),
    (Action.RECORD_VIEWED, Outcome.SUCCESS, 15),
    (Action.CONSENT_SIGNED, Outcome.SUCCESS, 8),
    (Action.AUTH_LOGIN, Outcome.SUCCESS, 12),
]
CATEGORIES = ["diagnosis", "medications", "treatment_plan", "assessments", "attendance"]
REASONS = ["consent_revoked", "consent_expired", "no_consent", "category_not_covered:assessments"]


@dataclass(frozen=True)
class World:
    """The seeded practices: who the officer is, and a typical client of theirs."""

    officer: Actor
    client_id: int
    organization_id: int


def seed_people(
    session: Session,
) -> tuple[World, dict[int, list[int]], dict[int, list[int]], list[int]]:
    """Practices with clinicians (each a directory entry), clients and one compliance officer."""
    clients: dict[int, list[int]] = {}
    clinicians: dict[int, list[int]] = {}
    providers: list[int] = []
    officer_id = first_org = 0
    for p in range(PRACTICES):
        org = Organization(name=f"Practice {p}")
        session.add(org)
        session.flush()
        users = [
            User(
                email=f"c{p}-{i}@bench.example",
                email_key=f"c{p}-{i}@bench.example",
                name=f"Clinician {p}-{i}",
                role=Role.CLINICIAN,
                organization_id=org.id,
                password_hash=NO_SIGN_IN,
            )
            for i in range(CLINICIANS_PER_PRACTICE)
        ]
        officer = User(
            email=f"officer{p}@bench.example",
            email_key=f"officer{p}@bench.example",
            name=f"Officer {p}",
            role=Role.COMPLIANCE,
            organization_id=org.id,
            password_hash=NO_SIGN_IN,
        )
        session.add_all([*users, officer])
        session.flush()
        entries = [
            Provider(name=u.name, organization_name=org.name, organization_id=org.id, user_id=u.id)
            for u in users
        ]
        people = [
            Client(
                organization_id=org.id,
                given_name=f"Client{i}",
                family_name=f"Practice{p}",
                birth_date=date(1990, 1, 1),
            )
            for i in range(CLIENTS_PER_PRACTICE)
        ]
        session.add_all([*entries, *people])
        session.flush()
        clinicians[org.id] = [u.id for u in users]
        clients[org.id] = [c.id for c in people]
        providers += [e.id for e in entries]
        if p == 0:
            officer_id = officer.id
            first_org = org.id
    session.commit()
    actor = Actor(user_id=officer_id, role=Role.COMPLIANCE, organization_id=first_org)
    world = World(actor, clients[first_org][CLIENTS_PER_PRACTICE // 2], first_org)
    return world, clients, clinicians, providers


def chained_entries(
    count: int,
    clients: dict[int, list[int]],
    clinicians: dict[int, list[int]],
    providers: list[int],
) -> Iterator[dict[str, Any]]:
    """`count` entries in seq order, each chained to the one before with the real MAC."""
    rng = random.Random(42)
    kinds = [(action, outcome) for action, outcome, weight in MIX for _ in range(weight)]
    orgs = sorted(clients)
    step = SPAN / count
    prev = GENESIS_HASH
    for seq in range(1, count + 1):
        action, outcome = rng.choice(kinds)
        org = rng.choice(orgs)
        about_client = action is not Action.AUTH_LOGIN
        disclosure = action in {Action.DISCLOSURE_PERMITTED, Action.DISCLOSURE_DENIED}
        values: dict[str, Any] = {
            "seq": seq,
            "at": START + step * seq,
            "actor_id": rng.choice(clinicians[org]),
            "actor_role": "clinician",
            "organization_id": org,
            "action": action,
            "outcome": outcome,
            "client_id": rng.choice(clients[org]) if about_client else None,
            "consent_id": rng.randint(1, 50_000) if action is Action.DISCLOSURE_PERMITTED else None,
            "recipient_provider_id": rng.choice(providers) if disclosure else None,
            "message_id": seq if action is Action.DISCLOSURE_PERMITTED else None,
            "subject_user_id": None,
            "categories": sorted(rng.sample(CATEGORIES, 2)) if disclosure else None,
            "purpose": "treatment" if disclosure else None,
            "reasons": [rng.choice(REASONS)] if action is Action.DISCLOSURE_DENIED else None,
            "detail": None,
            "request_id": f"r{seq}",
            "ip": "192.0.2.1",
        }
        values["prev_hash"] = prev
        values["hash"] = prev = entry_hash(values, prev)
        yield values


def seed_log(engine: Engine, count: int) -> World:
    started = time.perf_counter()
    with Session(engine) as session:
        world, clients, clinicians, providers = seed_people(session)
        batch: list[dict[str, Any]] = []
        last: dict[str, Any] = {}
        for values in chained_entries(count, clients, clinicians, providers):
            batch.append(values)
            if len(batch) == INSERT_BATCH:
                session.execute(insert(AuditEntry.__table__), batch)
                last, batch = batch[-1], []
        if batch:
            session.execute(insert(AuditEntry.__table__), batch)
            last = batch[-1]
        session.execute(
            update(AuditHead)
            .where(AuditHead.id == HEAD_ID)
            .values(seq=last.get("seq", 0), hash=last.get("hash", GENESIS_HASH))
        )
        session.commit()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    print(f"seeded {count:,} chained entries in {time.perf_counter() - started:.1f} s")
    return world


_SCOPE_SQL = (
    "(organization_id = :org OR client_id IN (SELECT id FROM clients WHERE organization_id = :org))"
)
RAW_CLIENT_PAGE = text(
    f"SELECT * FROM audit_entries WHERE client_id = :client AND {_SCOPE_SQL} "
    "ORDER BY seq DESC LIMIT :limit"
)
RAW_ACTION_DATE_PAGE = text(
    f"SELECT * FROM audit_entries WHERE action = :action AND at >= :since AND at < :until "
    f"AND {_SCOPE_SQL} ORDER BY seq DESC LIMIT :limit"
).bindparams(bindparam("since", type_=UTCDateTime()), bindparam("until", type_=UTCDateTime()))
RAW_SCAN = text(
    f"SELECT {', '.join((*CHAINED_FIELDS, 'prev_hash', 'hash'))} FROM audit_entries "
    "WHERE seq > :after ORDER BY seq LIMIT 1000"
)


def median_ms(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def compare_page(
    session: Session,
    name: str,
    repeat: int,
    through_log: Callable[[], int],
    raw: Callable[[], int],
) -> None:
    # (Raw first: each page through the log appends its own audit.viewed entry, which a client
    # filter then matches. The raw SELECT reads one row more, as search.page does.)
    raw_rows = raw()
    rows = through_log()
    if min(raw_rows, log.PAGE_SIZE) != rows:
        raise SystemExit(f"{name}: the log and the raw SQL read different rows")
    raw_ms = median_ms(repeat, raw)
    log_ms = median_ms(repeat, through_log)
    verdict = "ok" if log_ms < GOAL_MS else "OVER GOAL"
    print(
        f"{name:<22} roi.compliance.log {log_ms:8.2f} ms   raw SQL {raw_ms:8.2f} ms   "
        f"ratio {log_ms / raw_ms:6.1f}   goal < {GOAL_MS:.0f} ms: {verdict}   ({rows} rows)"
    )


def bench(engine: Engine, entries: int, repeat: int) -> None:
    print(f"\n== {engine.dialect.name}: {entries:,} audit entries")
    world = seed_log(engine, entries)
    officer, org = world.officer, world.organization_id
    limit = log.PAGE_SIZE
    window_end = START + SPAN * 0.6
    window = (window_end - timedelta(days=30), window_end)
    with Session(engine) as session:
        by_client = EntryFilter(client_id=world.client_id)
        denied_in_window = EntryFilter(
            actions=(Action.DISCLOSURE_DENIED,), since=window[0], until=window[1]
        )

        def raw(statement: Any, **params: object) -> Callable[[], int]:
            def run() -> int:
                rows = session.execute(statement, {"org": org, "limit": limit + 1, **params}).all()
                session.commit()
                return len(rows)

            return run

        def through_log(entry_filter: EntryFilter) -> Callable[[], int]:
            return lambda: len(log.log_page(session, officer, entry_filter, limit=limit).rows)

        compare_page(
            session,
            "client filter",
            repeat,
            through_log(by_client),
            raw(RAW_CLIENT_PAGE, client=world.client_id),
        )
        compare_page(
            session,
            "action + 30-day range",
            repeat,
            through_log(denied_in_window),
            raw(
                RAW_ACTION_DATE_PAGE,
                action=Action.DISCLOSURE_DENIED.value,
                since=window[0],
                until=window[1],
            ),
        )

        def raw_scan() -> int:
            after, seen = 0, 0
            while rows := session.execute(RAW_SCAN, {"after": after}).all():
                seen += len(rows)
                after = rows[-1].seq
            session.commit()
            return seen

        start = time.perf_counter()
        scanned = raw_scan()
        scan_rate = scanned / (time.perf_counter() - start)
        start = time.perf_counter()
        result = verification.verify_chain(session, officer)
        verify_rate = result.entries / (time.perf_counter() - start)
        if not result.ok:
            raise SystemExit(f"the benchmark's own chain does not verify: {result}")
        print(f"raw SQL scan           {scan_rate:10.0f} rows/s")
        print(
            f"verify_chain           {verify_rate:10.0f} entries/s   ratio "
            f"{verify_rate / scan_rate:.2f}   ({result.entries:,} entries, "
            f"{result.entries / verify_rate:.1f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=21, help="runs per measurement (median)")
    parser.add_argument("--database-url", help="a PostgreSQL URL (a scratch database)")
    args = parser.parse_args()
    import_all()
    vault.use(KeyRing.generate())

    def run(engine: Engine) -> None:
        Base.metadata.create_all(engine)
        bench(engine, args.entries, args.repeat)

    on_each_database(args.database_url, run)


if __name__ == "__main__":
    main()
