"""The consent gate against the raw indexed lookup it stands for, on a realistically full table.

    python bench/gate_bench.py [--clients 100000] [--consents 1000000] [--requests 5000]
                               [--database-url URL] [--keep PATH] [--seed 7]

Seeds N clients and M consents spread across them (bulk inserts, not the lifecycle, which signs
PDFs): five practices using roi, clinicians with directory entries, outside providers, and every
lifecycle state, both directions and all three kinds of form. Then asks the same random requests
(client, discloser, recipient, categories, purpose; a mix that permits and denies) of
`roi.consent.gate.decide()` and of one raw SELECT that finds the active covering consent through
`ix_consents_client_id_status`, alternating on the same session, and prints medians, p95 and
their ratios (goals: decide() within 10 times the raw lookup at the median, within 20 times at
p95). Both must give the same answer.

SQLite runs in a temporary file unless --keep names one: a kept file is seeded once and reused
when asked for the same sizes. With --database-url (PostgreSQL) everything happens in a fresh
schema that is dropped afterwards, or in the schema named by --keep, which is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Date,
    Engine,
    Integer,
    MetaData,
    Table,
    TextClause,
    bindparam,
    event,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout

from bench.scratch import postgres_engine, sqlite_engine  # noqa: E402
from roi.accounts.models import Client, Organization, Provider, User  # noqa: E402
from roi.clock import now  # noqa: E402
from roi.consent import gate  # noqa: E402
from roi.consent.library import FormLibrary  # noqa: E402
from roi.consent.models import Consent  # noqa: E402
from roi.db import Base, UTCDateTime  # noqa: E402
from roi.models import import_all  # noqa: E402

GOAL = 10.0
#: the slow end: decide() at p95 within this multiple of the raw lookup at p95
GOAL_P95 = 20.0
ORGANIZATIONS = 5
CLINICIANS_PER_ORGANIZATION = 8
#: directory entries of practices that do not use roi (no account, no organization)
OUTSIDE_PROVIDERS = 60
BATCH = 10_000
#: (state, weight): what a few years of releases at a busy group practice look like
STATES = (
    ("active", 40),
    ("active_past_date", 4),  # still "active" in its row, but its "expires on" day has passed
    ("superseded", 17),
    ("revoked", 12),
    ("expired", 7),  # its expiration event was recorded
    ("pending_signature", 9),
    ("draft", 7),
    ("voided", 4),
)
#: (template id, kind, weight)
FORMS = (
    ("general-authorization", "general", 85),
    ("part2-consent", "part2", 8),
    ("psychotherapy-notes", "psychotherapy_notes", 7),
)

seed_metadata = MetaData()
#: what a kept database was seeded with, so a different size is never measured by mistake
seed_table = Table(
    "bench_gate_seed",
    seed_metadata,
    Column("clients", Integer, nullable=False),
    Column("consents", Integer, nullable=False),
    Column("seed", Integer, nullable=False),
)


@dataclass(frozen=True)
class Shape:
    clients: int
    consents: int
    seed: int


@dataclass(frozen=True)
class Ask:
    """One disclosure request, by ids."""

    client_id: int
    discloser_id: int
    recipient_id: int
    categories: tuple[str, ...]
    purpose: str


def organization_of(client_id: int) -> int:
    return (client_id - 1) % ORGANIZATIONS + 1


def clinicians_of(organization_id: int) -> range:
    """Provider ids (equal to their user ids) of the organization's clinicians."""
    first = (organization_id - 1) * CLINICIANS_PER_ORGANIZATION + 1
    return range(first, first + CLINICIANS_PER_ORGANIZATION)


CLINICIANS = ORGANIZATIONS * CLINICIANS_PER_ORGANIZATION
PROVIDERS = CLINICIANS + OUTSIDE_PROVIDERS


# --- seeding -----------------------------------------------------------------------------------


def seeded(engine: Engine, shape: Shape, library: FormLibrary) -> float | None:
    """Seed the database, or reuse it when it holds this shape; the seconds seeding took."""
    seed_metadata.create_all(engine)
    with engine.connect() as conn:
        found = conn.execute(select(seed_table)).first()
    if found is not None:
        if tuple(found) != (shape.clients, shape.consents, shape.seed):
            raise SystemExit(
                f"the kept database holds {found.clients} clients, {found.consents} consents "
                f"(seed {found.seed}): ask for those, or give another --keep"
            )
        return None
    with engine.connect() as conn:
        if inspect(conn).has_table("consents") and conn.scalar(text("SELECT 1 FROM consents")):
            # never drop the tables of a database this script did not seed
            raise SystemExit("--keep names a database with consents but no bench seed record")
    start = time.perf_counter()
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    seed(engine, shape, library)
    with engine.begin() as conn:
        conn.execute(insert(seed_table), [vars(shape)])
    return time.perf_counter() - start


def seed(engine: Engine, shape: Shape, library: FormLibrary) -> None:
    rng = random.Random(shape.seed)
    at = now()
    consents = Consent.__table__
    assert isinstance(consents, Table)  # noqa: S101 - for the type checker
    # Loading into unindexed tables and indexing afterwards is the usual bulk-load order: random
    # client ids would otherwise scatter a million index inserts over the B-tree.
    indexes = list(consents.indexes)
    with engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
        bulk(conn, Organization, organizations(at))
        bulk(conn, User, users(at))
        bulk(conn, Provider, providers(at))
        bulk(conn, Client, clients(shape.clients, at, rng))
        team = care_teams(shape.clients, rng)
        bulk(conn, Consent, consent_rows(shape, team, library, at, rng))
        for index in indexes:
            index.create(conn)
    if engine.dialect.name == "postgresql":
        # autovacuum would soon do it after a load this size; SQLite, as roi runs it, never does
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def bulk(conn: Connection, model: type[Base], rows: Iterator[dict[str, Any]]) -> None:
    """Load complete rows (every column given): COPY on PostgreSQL; on SQLite the driver's
    executemany, each value converted by the column type's own bind processor, so the stored
    text is what the ORM writes and reads."""
    table = model.__table__
    assert isinstance(table, Table)  # noqa: S101 - for the type checker
    names = [column.name for column in table.columns]
    if conn.dialect.name == "postgresql":
        json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json.dumps(row[n]) if n in json_columns else row[n] for n in names])
        return
    converted = []
    for column in table.columns:
        convert = column.type.bind_processor(conn.dialect)
        converted.append(_cached(convert) if isinstance(column.type, JSON) else convert)
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(
            tuple(
                value if convert is None or value is None else convert(value)
                for value, convert in zip([row[n] for n in names], converted, strict=True)
            )
        )
        if len(batch) == BATCH:
            conn.exec_driver_sql(sql, batch)
            batch = []
    if batch:
        conn.exec_driver_sql(sql, batch)


def _cached(convert: Any) -> Any:
    """A JSON list's stored text, encoded once per distinct list (there are few)."""
    seen: dict[tuple[str, ...], Any] = {}

    def cached(value: list[str]) -> Any:
        key = tuple(value)
        if key not in seen:
            seen[key] = convert(value)
        return seen[key]

    return cached


def row_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def organizations(at: datetime) -> Iterator[dict[str, Any]]:
    for org in range(1, ORGANIZATIONS + 1):
        yield {"id": org, "uuid": str(uuid.uuid4()), "name": f"Practice {org}", "created_at": at}


def users(at: datetime) -> Iterator[dict[str, Any]]:
    for org in range(1, ORGANIZATIONS + 1):
        for user_id in clinicians_of(org):
            email = f"clinician{user_id}@practice{org}.example"
            yield {
                "id": user_id,
                "uuid": str(uuid.uuid4()),
                "email": email,
                "email_key": email,
                "name": f"Clinician {user_id}",
                "role": "clinician",
                "organization_id": org,
                "password_hash": "!bench: no sign-in",
                "active": True,
                "created_at": at,
                "password_changed_at": at,
            }


def providers(at: datetime) -> Iterator[dict[str, Any]]:
    for provider_id in range(1, PROVIDERS + 1):
        clinician = provider_id <= CLINICIANS
        org = (provider_id - 1) // CLINICIANS_PER_ORGANIZATION + 1 if clinician else None
        yield {
            "id": provider_id,
            "uuid": str(uuid.uuid4()),
            "name": f"Provider {provider_id}",
            "credentials": "LCSW" if clinician else "MD",
            "organization_name": f"Practice {org}" if org else f"Outside clinic {provider_id}",
            "organization_id": org,
            "address": "1 Main Street",
            "email": f"provider{provider_id}@example.org",
            "user_id": provider_id if clinician else None,
            "created_by_id": 1,
            "created_at": at,
        }


def clients(count: int, at: datetime, rng: random.Random) -> Iterator[dict[str, Any]]:
    for client_id in range(1, count + 1):
        yield {
            "id": client_id,
            "uuid": row_uuid(rng),
            "organization_id": organization_of(client_id),
            "given_name": f"Given{client_id}",
            "family_name": f"Family{client_id}",
            "birth_date": date(1950, 1, 1) + timedelta(days=rng.randrange(25_000)),
            "email": None,
            "user_id": None,
            "created_at": at,
        }


def care_teams(count: int, rng: random.Random) -> list[tuple[int, tuple[int, ...]]]:
    """Per client (index client_id - 1): their clinician, and the 1-3 providers they release to,
    half of them clinicians of the other practices, half outside providers."""
    teams = []
    for client_id in range(1, count + 1):
        own = clinicians_of(organization_of(client_id))
        others = [p for p in range(1, CLINICIANS + 1) if p not in own]
        recipients = {
            rng.choice(others) if rng.random() < 0.5 else rng.randrange(CLINICIANS + 1, PROVIDERS)
            for _ in range(rng.randint(1, 3))
        }
        teams.append((rng.choice(own), tuple(sorted(recipients))))
    return teams


def consent_rows(
    shape: Shape,
    teams: Sequence[tuple[int, tuple[int, ...]]],
    library: FormLibrary,
    at: datetime,
    rng: random.Random,
) -> Iterator[dict[str, Any]]:
    """Consents for random clients in id order, so one client's rows interleave with others' as
    they do when releases are written over the years."""
    states = [state for state, _ in STATES]
    state_weights = [weight for _, weight in STATES]
    forms = {template: library.get(template, None) for template, _, _ in FORMS}
    form_weights = [weight for _, _, weight in FORMS]
    for consent_id in range(1, shape.consents + 1):
        client_id = rng.randrange(shape.clients) + 1
        clinician, recipients = teams[client_id - 1]
        org = organization_of(client_id)
        if rng.random() < 0.15:  # another clinician of the practice wrote this one
            clinician = rng.choice(clinicians_of(org))
        template_id, kind, _ = rng.choices(FORMS, form_weights)[0]
        form = forms[template_id]
        categories = [c.code for c in form.categories]
        purposes = [p.code for p in form.purposes]
        row: dict[str, Any] = {
            "id": consent_id,
            # time-ordered like the ids, so the unique index is appended to, not scattered
            "uuid": f"{consent_id:08x}-0000-4000-8000-{rng.getrandbits(48):012x}",
            "client_id": client_id,
            "organization_id": org,
            "discloser_provider_id": clinician,
            "recipient_provider_id": rng.choice(recipients),
            "created_by_id": clinician,
            "template_id": template_id,
            "template_version": form.version,
            "kind": kind,
            "categories": rng.sample(categories, rng.randint(1, min(4, len(categories)))),
            "purposes": rng.sample(purposes, rng.randint(1, min(3, len(purposes)))),
            # the size of a sealed description; the gate never opens it
            "information_description_sealed": rng.randbytes(rng.randint(90, 260)),
            "direction": "two_way" if rng.random() < 0.25 else "one_way",
            "signer_relationship": "self" if rng.random() < 0.85 else "parent",
            "supersedes_id": None,
        }
        row.update(timeline(rng.choices(states, state_weights)[0], at, rng))
        yield row


def timeline(state: str, at: datetime, rng: random.Random) -> dict[str, Any]:
    """Status and timestamps that agree with each other, all in the past."""
    created = at - timedelta(seconds=rng.randrange(40 * 86_400, 900 * 86_400))
    sent = created + timedelta(minutes=rng.randrange(1, 600))
    signed = sent + timedelta(minutes=rng.randrange(5, 4_000))
    ended = signed + (at - timedelta(days=1) - signed) * rng.random()
    in_future = at.date() + timedelta(days=rng.randrange(1, 730))
    expires_on: date | None = in_future if rng.random() < 0.7 else None
    values: dict[str, Any] = {
        "status": state,
        "created_at": created,
        "sent_at": None,
        "signed_at": None,
        "revoked_at": None,
        "expired_at": None,
        "expiry_event_occurred_on": None,
        "voided_at": None,
        "superseded_at": None,
        "expires_on": expires_on,
        "expiry_event": None if expires_on else "the end of treatment",
        "document_sha256": None,
    }
    if state == "draft":
        return values
    values["sent_at"] = sent
    if state == "pending_signature":
        return values
    if state == "voided":
        values["voided_at"] = sent + timedelta(days=rng.randrange(1, 30))
        return values
    values["signed_at"] = signed
    values["document_sha256"] = f"{rng.getrandbits(256):064x}"
    if state == "active_past_date":
        values["status"] = "active"
        values["expires_on"] = at.date() - timedelta(days=rng.randrange(1, 30))
    elif state == "revoked":
        values["revoked_at"] = ended
    elif state == "superseded":
        values["superseded_at"] = ended
    elif state == "expired":
        values["expired_at"] = ended
        values["expiry_event"] = "the end of treatment"
        values["expiry_event_occurred_on"] = ended.date()
    return values


# --- the requests --------------------------------------------------------------------------------


def asks_for(session: Session, shape: Shape, count: int, library: FormLibrary) -> list[Ask]:
    """Requests as clinicians make them: mostly within a release they have, some reaching past
    it (another category, another purpose, the other direction), some about no release at all."""
    rng = random.Random(shape.seed + 1)
    every_category = [c.code for c in library.categories()]
    every_purpose = [p.code for p in library.purposes()]
    picked = sorted(rng.sample(range(1, shape.consents + 1), min(count, shape.consents)))
    columns = Consent.__table__.c
    rows: list[Any] = []
    for start in range(0, len(picked), 500):
        rows.extend(
            session.execute(
                select(
                    columns.client_id,
                    columns.organization_id,
                    columns.discloser_provider_id,
                    columns.recipient_provider_id,
                    columns.categories,
                    columns.purposes,
                ).where(columns.id.in_(picked[start : start + 500]))
            ).all()
        )
    session.rollback()
    rng.shuffle(rows)
    asks = []
    for index in range(count):
        row = rows[index % len(rows)]
        roll = rng.random()
        if roll < 0.1:
            client_id = rng.randrange(shape.clients) + 1
            discloser = rng.choice(clinicians_of(organization_of(client_id)))
            recipient = rng.choice([p for p in range(1, PROVIDERS + 1) if p != discloser])
            asks.append(
                Ask(client_id, discloser, recipient, (rng.choice(every_category),), "treatment")
            )
            continue
        discloser = row.discloser_provider_id
        if rng.random() < 0.2:  # a colleague in the same practice
            discloser = rng.choice(clinicians_of(row.organization_id))
        recipient = row.recipient_provider_id
        categories = rng.sample(row.categories, rng.randint(1, min(2, len(row.categories))))
        purpose = rng.choice(row.purposes)
        if roll < 0.2:  # the recipient writes back
            discloser, recipient = recipient, row.discloser_provider_id
        elif roll < 0.3:
            categories.append(rng.choice(every_category))
        elif roll < 0.38:
            purpose = rng.choice(every_purpose)
        asks.append(
            Ask(row.client_id, discloser, recipient, tuple(dict.fromkeys(categories)), purpose)
        )
    return asks


# --- the raw lookup ------------------------------------------------------------------------------


class RawLookup:
    """One SELECT: the newest active consent of this client naming the pair (either way when
    two-way), signed, not past its date, of the kind sensitive categories need, covering every
    category and the purpose. Narrowed first by (client_id, status)."""

    def __init__(self, dialect: str, library: FormLibrary) -> None:
        self.dialect = dialect
        self.flags = {c.code: c for c in library.categories()}
        self.statements: dict[tuple[int, tuple[str, ...]], TextClause] = {}

    def __call__(self, session: Session, ask: Ask, discloser: Provider, recipient: Provider,
                 at: datetime) -> int | None:  # fmt: skip
        kinds = self.kinds(ask.categories)
        params: dict[str, Any] = {
            "client": ask.client_id,
            "discloser": discloser.id,
            "discloser_org": discloser.organization_id,
            "recipient": recipient.id,
            "recipient_org": recipient.organization_id,
            "at": at,
            "today": at.date(),
            "purpose": ask.purpose,
        }
        params.update({f"kind{i}": kind for i, kind in enumerate(kinds)})
        if self.dialect == "postgresql":
            params["categories"] = json.dumps(sorted(ask.categories))
            params["purposes"] = json.dumps([ask.purpose])
        else:
            params.update({f"category{i}": code for i, code in enumerate(ask.categories)})
        statement = self.statement(len(ask.categories), kinds)
        found: int | None = session.execute(statement, params).scalar()
        return found

    def kinds(self, categories: Sequence[str]) -> tuple[str, ...]:
        needed = set()
        for code in categories:
            category = self.flags.get(code)
            if category is not None and category.psychotherapy_notes:
                needed.add("psychotherapy_notes")
            if category is not None and category.substance_use_disorder:
                needed.add("part2")
        return tuple(sorted(needed))

    def statement(self, categories: int, kinds: tuple[str, ...]) -> TextClause:
        key = (categories, kinds)
        if key not in self.statements:
            self.statements[key] = self.build(categories, kinds)
        return self.statements[key]

    def build(self, categories: int, kinds: tuple[str, ...]) -> TextClause:
        if self.dialect == "postgresql":
            covers = (
                "AND categories::jsonb @> CAST(:categories AS jsonb) "
                "AND purposes::jsonb @> CAST(:purposes AS jsonb)"
            )
        else:
            covers = " ".join(
                "AND EXISTS (SELECT 1 FROM json_each(consents.categories) "
                f"WHERE value = :category{i})"
                for i in range(categories)
            )
            covers += (
                " AND EXISTS (SELECT 1 FROM json_each(consents.purposes) WHERE value = :purpose)"
            )
        kind = " ".join(f"AND kind = :kind{i}" for i in range(len(kinds)))
        sql = f"""
            SELECT id FROM consents
            WHERE client_id = :client AND status = 'active'
              AND ((recipient_provider_id = :recipient
                    AND (discloser_provider_id = :discloser OR organization_id = :discloser_org))
                OR (direction = 'two_way' AND recipient_provider_id = :discloser
                    AND (discloser_provider_id = :recipient OR organization_id = :recipient_org)))
              AND signed_at <= :at
              AND (expires_on IS NULL OR expires_on > :today)
              {kind}
              {covers}
            ORDER BY signed_at DESC, id DESC
            LIMIT 1
        """
        return text(sql).bindparams(
            bindparam("at", type_=UTCDateTime()), bindparam("today", type_=Date())
        )


# --- measuring -----------------------------------------------------------------------------------


@dataclass
class Results:
    gate_ns: list[int]
    raw_ns: list[int]
    outcomes: Counter[str]
    disagreements: list[str]


def measure(session: Session, library: FormLibrary, asks: Sequence[Ask], warm_up: int) -> Results:
    raw = RawLookup(session.get_bind().dialect.name, library)
    order = random.Random(0)
    results = Results([], [], Counter(), [])
    for number, ask in enumerate(asks):
        # a fresh transaction and an empty identity map, as each web request has
        session.rollback()
        session.expunge_all()
        discloser = session.get_one(Provider, ask.discloser_id)
        recipient = session.get_one(Provider, ask.recipient_id)
        client = session.get_one(Client, ask.client_id)
        at = now()
        decision: gate.Decision | None = None
        found: int | None = None
        for which in order.sample(("gate", "raw"), 2):
            start = time.perf_counter_ns()
            if which == "gate":
                decision = gate.decide(
                    session,
                    library,
                    discloser=discloser,
                    recipient=recipient,
                    client=client,
                    categories=ask.categories,
                    purposes=(ask.purpose,),
                    at=at,
                )
                elapsed = time.perf_counter_ns() - start
                if number >= warm_up:
                    results.gate_ns.append(elapsed)
            else:
                found = raw(session, ask, discloser, recipient, at)
                elapsed = time.perf_counter_ns() - start
                if number >= warm_up:
                    results.raw_ns.append(elapsed)
        assert decision is not None  # noqa: S101 - both ran
        if number >= warm_up:
            tally(results, ask, decision, found)
    session.rollback()
    return results


def tally(results: Results, ask: Ask, decision: gate.Decision, found: int | None) -> None:
    if decision.permitted:
        results.outcomes["permit"] += 1
    else:
        results.outcomes[decision.reason_codes[0].split(":")[0]] += 1
    if decision.consent_id != found:
        results.disagreements.append(f"{ask}: decide() {decision.consent_id}, raw {found}")


def plans(session: Session, library: FormLibrary, ask: Ask) -> tuple[str, str]:
    """How the database runs decide()'s first consent query, and the raw lookup."""
    engine = session.get_bind()
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM consents" in statement:
            captured.append((statement, parameters))

    discloser = session.get_one(Provider, ask.discloser_id)
    recipient = session.get_one(Provider, ask.recipient_id)
    client = session.get_one(Client, ask.client_id)
    at = now()
    shown = []
    event.listen(engine, "before_cursor_execute", capture)
    try:
        for run in ("gate", "raw"):
            captured.clear()
            if run == "gate":
                gate.decide(
                    session,
                    library,
                    discloser=discloser,
                    recipient=recipient,
                    client=client,
                    categories=ask.categories,
                    purposes=(ask.purpose,),
                    at=at,
                )
            else:
                RawLookup(engine.dialect.name, library)(session, ask, discloser, recipient, at)
            shown.append(captured[0] if captured else ("", None))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    explained = [explain(session, statement, parameters) for statement, parameters in shown]
    session.rollback()
    return explained[0], explained[1]


def explain(session: Session, statement: str, parameters: Any) -> str:
    conn = session.connection()
    if not statement:
        return "(not captured)"
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        lines = [str(row[-1]) for row in rows]
        return "; ".join(line for line in lines if "consents" in line or "B-TREE" in line)
    rows = conn.exec_driver_sql(f"EXPLAIN (COSTS OFF) {statement}", parameters).all()
    lines = [str(row[0]).strip().removeprefix("->").strip() for row in rows]
    return "; ".join(line for line in lines if "Scan" in line or "Bitmap" in line) or lines[0]


# --- running -------------------------------------------------------------------------------------


def percentile(values: Sequence[int], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(
    engine: Engine, shape: Shape, took: float | None, results: Results, plan: tuple[str, str]
) -> None:
    name = engine.dialect.name
    print(f"\n== {name}: {shape.clients:,} clients, {shape.consents:,} consents")
    # the tail is what a busy machine changes most: say how busy it was
    print(
        f"load average (1 min) after measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    if took is None:
        print("seeding: reused the kept database")
    else:
        rows = shape.clients + shape.consents
        print(f"seeding: {took:.1f} s ({rows / took:,.0f} rows/s, indexes built after loading)")
    print(f"plan decide(): {plan[0]}")
    print(f"plan raw:      {plan[1]}")
    total = sum(results.outcomes.values())
    shares = ", ".join(
        f"{code} {100 * n / total:.0f}%" for code, n in results.outcomes.most_common(7)
    )
    print(f"{total:,} requests: {shares}")
    gate_median = statistics.median(results.gate_ns) / 1e6
    raw_median = statistics.median(results.raw_ns) / 1e6
    gate_p95 = percentile(results.gate_ns, 0.95) / 1e6
    raw_p95 = percentile(results.raw_ns, 0.95) / 1e6
    print(f"{'':16}{'median':>10}{'p95':>10}")
    print(f"{'raw SELECT':16}{raw_median:8.3f}ms{raw_p95:8.3f}ms")
    print(f"{'gate.decide()':16}{gate_median:8.3f}ms{gate_p95:8.3f}ms")
    for label, ratio, goal in (
        ("median", gate_median / raw_median, GOAL),
        ("p95", gate_p95 / raw_p95, GOAL_P95),
    ):
        verdict = "PASS" if ratio <= goal else "MISS"
        print(f"ratio decide/raw {label + ':':7} {ratio:5.1f}x (goal <= {goal:.0f}x) {verdict}")
    if results.disagreements:
        print(f"!! {len(results.disagreements)} answers differ, e.g. {results.disagreements[0]}")
    else:
        print(f"answers agree on all {total:,} requests")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--consents", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--database-url", help="a PostgreSQL URL (a scratch database)")
    parser.add_argument(
        "--keep",
        help="seed once and reuse: a SQLite file, or with --database-url a schema name",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.clients < 1 or args.consents < 1 or args.requests < 1:
        parser.error("--clients, --consents and --requests must be positive")
    import_all()
    library = FormLibrary.load(ROOT / "forms")
    shape = Shape(args.clients, args.consents, args.seed)
    opened = (
        postgres_engine(args.database_url, args.keep)
        if args.database_url
        else sqlite_engine(args.keep)
    )
    with opened as engine:
        took = seeded(engine, shape, library)
        with Session(engine) as session:
            warm_up = min(200, args.requests // 10)
            asks = asks_for(session, shape, warm_up + args.requests, library)
            plan = plans(session, library, asks[0])
            results = measure(session, library, asks, warm_up)
        report(engine, shape, took, results, plan)


if __name__ == "__main__":
    main()
