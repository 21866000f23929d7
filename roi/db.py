"""Declarative base, the UTC datetime column type, units of work, and the schema's migration state.

Services own their transactions: `unit_of_work(session)` opens a write transaction, commits it when
the block ends and rolls it back on any error, so an action and its audit entry land together or
not at all. Units of work do not nest: starting one inside another is refused, since it would
commit the outer work half done. On PostgreSQL a unit of work carries on the transaction a caller
had open (`_carry_on`); on SQLite it starts afresh, with BEGIN IMMEDIATE: a deferred transaction
that read first and writes later can fail with SQLITE_BUSY_SNAPSHOT instead of waiting its turn;
and roi's writers to one SQLite file take turns through a file lock beside it
(`_writer_turn`), which wakes the next writer the moment one commits.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import psycopg
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    ColumnDefault,
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    Enum,
    Insert,
    MetaData,
    Select,
    SQLColumnExpression,
    Table,
    bindparam,
    event,
    insert,
    inspect,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.orm.interfaces import MANYTOONE
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import ReturningUpdate
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from roi.clock import day_start

# Named constraints let Alembic's batch mode alter SQLite tables (Flask-SQLAlchemy docs/models.rst).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

WRITE_OPTION = "roi_write"
#: seconds a SQLite writer waits for the write lock (its turn, then SQLite's own lock)
BUSY_TIMEOUT = 30
#: the `Session.info` key that marks a session inside `unit_of_work`
_IN_UNIT_OF_WORK = "roi_in_unit_of_work"
#: the session's info key counting the commits its units of work began
_COMMITS_BEGUN = "roi_commits_begun"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def new_uuid() -> str:
    """A random row uuid, known before INSERT so sealed columns can bind to their row."""
    return str(uuid.uuid4())


def str_enum(enum: type[StrEnum], length: int = 30) -> Enum:
    """Store a StrEnum by its value in a plain string column (no native enum type to migrate)."""
    return Enum(
        enum,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database; naive values are refused.

    SQLite keeps no offset, so values come back naive; this type gives them back their UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class _DayStartUtc(FunctionElement[datetime]):
    """`clock.day_start(day)` in SQL: 00:00 UTC of a date column's day."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(_DayStartUtc, "postgresql")
def _day_start_utc_postgresql(element: _DayStartUtc, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(CAST({compiler.process(element.clauses, **kw)} AS TIMESTAMP) AT TIME ZONE 'UTC')"


@compiles(_DayStartUtc, "sqlite")
def _day_start_utc_sqlite(element: _DayStartUtc, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps a date as "YYYY-MM-DD" and a UTCDateTime as "YYYY-MM-DD HH:MM:SS.ffffff"
    # (SQLAlchemy's storage formats), so its midnight is the date with a zero time appended.
    return f"({compiler.process(element.clauses, **kw)} || ' 00:00:00.000000')"


class _DayStartIn(FunctionElement[datetime]):
    """`clock.day_start(day, zone)` in SQL: 00:00 of a date column's day in a named zone."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(_DayStartIn, "postgresql")
def _day_start_in_postgresql(element: _DayStartIn, compiler: SQLCompiler, **kw: Any) -> str:
    day, zone = (compiler.process(clause, **kw) for clause in element.clauses)
    midnight = f"CAST({day} AS TIMESTAMP)"
    # Where clocks fall back an hour at midnight (the Azores, Cuba) the day begins twice:
    # PostgreSQL takes the later, Python (fold=0) the earlier, the day's real first instant. An
    # hour before such a midnight is not ambiguous, so the earlier of the two readings is the
    # first one. (Rare older changes of more than an hour, or back to before midnight, such as
    # Antarctica/Casey's in 2010, can still differ; tests/test_db.py checks every zone roi offers
    # over the years around now.)
    return (
        f"LEAST({midnight} AT TIME ZONE {zone}, "
        f"(({midnight} - INTERVAL '1 hour') AT TIME ZONE {zone}) + INTERVAL '1 hour')"
    )


#: SQLite knows no time zones: `configure_engine` gives each connection this function
_SQLITE_DAY_START = "roi_day_start"


@compiles(_DayStartIn, "sqlite")
def _day_start_in_sqlite(element: _DayStartIn, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{_SQLITE_DAY_START}({compiler.process(element.clauses, **kw)})"


def _sqlite_day_start(day: str | None, time_zone: str) -> str | None:
    """`roi_day_start(day, zone)`: from SQLite's "YYYY-MM-DD" to its UTCDateTime text."""
    if day is None:
        return None
    start = day_start(date.fromisoformat(day), time_zone)
    return start.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def day_start_sql(
    day: SQLColumnExpression[date | None], time_zone: str = "UTC"
) -> ColumnElement[datetime]:
    """00:00 of a date column's day where `time_zone` is, as a UTC timestamp: the SQL form of
    `clock.day_start`."""
    if time_zone == "UTC":
        return _DayStartUtc(day)
    return _DayStartIn(day, literal(time_zone))


def insert_rows(
    session: Session, *rows: Base, then: ReturningUpdate | None = None
) -> Sequence[Any] | None:
    """Write new rows now, in the caller's transaction, and give each its primary key (rows of one
    table in the order given). The session does not hold them (as `roi.audit.record` keeps its
    entries out): a rollback leaves nothing of them behind, and reading one reads what the caller
    gave, not the database.

    `then`, an UPDATE … RETURNING of at most one row, runs in the statement of the last rows on
    PostgreSQL (one round trip less), after them on SQLite. It must not depend on the rows (on
    PostgreSQL the statement's parts share one snapshot, so it does not see them), and a row it
    changed must return a column that is not NULL: what it returned comes back, or None when it
    changed no row. `roi.audit` moves its head this way.

    For hot paths that only add rows: the ORM's flush spends most of its time on bookkeeping
    (dependency sorting, cascades, history) that new rows with nothing to reconcile do not need;
    on a message's send it cost a sixth of the request. A row's foreign keys are taken from its
    many-to-one relationships when it has them, so a row may name one written before it in the
    same call; columns it leaves out get their Python-side defaults. Both are set on the row, as
    a flush would. Nothing is flushed first: a row the session holds that a new one names must be
    in the database already. On PostgreSQL rows of different tables that name none of each other
    go in one statement (one round trip); SQLite has no INSERT inside WITH, and its statements
    cost no round trip.

    A new row may name rows the session holds, but must never be added to the session, nor be
    put in a collection of a row the session holds (a relationship back to it): the session would
    insert it a second time.
    """
    connection = session.connection()
    together = connection.dialect.name == "postgresql"
    run: list[Base] = []
    for row in rows:
        if run and (not together or _depends(row, run)):
            _write(connection, run)
            run = []
        run.append(row)
    if then is not None and together and run:
        return _write(connection, run, then)
    if run:
        _write(connection, run)
    return None if then is None else connection.execute(then).one_or_none()


@dataclass(frozen=True)
class _Columns:
    """How rows of one mapped class are written (worked out once per class)."""

    table: Table
    #: one row into the table, with the columns the parameters give (built once: every send
    #: runs it)
    insert: Insert
    #: (attribute, column, its Python-side default, whether the database has a default)
    columns: tuple[tuple[str, str, ColumnDefault | None, bool], ...]
    #: per many-to-one relationship: its attribute, and (own attribute, parent's attribute) pairs
    parents: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    #: the primary key's attributes, in the order INSERT answers them
    keys: tuple[str, ...]


@functools.cache
def _columns_of(mapped: type[Base]) -> _Columns:
    mapper = inspect(mapped)
    table = mapper.local_table
    assert isinstance(table, Table)  # noqa: S101 - roi maps each class to one table
    return _Columns(
        table=table,
        insert=insert(table),
        columns=tuple(
            (
                attribute.key,
                attribute.columns[0].key,
                attribute.columns[0].default,
                attribute.columns[0].server_default is not None,
            )
            for attribute in mapper.column_attrs
        ),
        parents=tuple(
            (
                relationship.key,
                tuple(
                    (
                        mapper.get_property_by_column(local).key,
                        relationship.mapper.get_property_by_column(remote).key,
                    )
                    for local, remote in relationship.local_remote_pairs
                ),
            )
            for relationship in mapper.relationships
            if relationship.direction is MANYTOONE
        ),
        keys=tuple(mapper.get_property_by_column(column).key for column in mapper.primary_key),
    )


def _depends(row: Base, run: list[Base]) -> bool:
    """Whether `row` cannot go in one statement with `run`: it names one of its rows, or shares
    a table with one (PostgreSQL runs the inserts of one statement in no set order, so keys of
    one table would not follow the order given)."""
    written = _columns_of(type(row))
    if any(_columns_of(type(other)).table is written.table for other in run):
        return True
    parents = (row.__dict__.get(key) for key, _ in written.parents)
    return any(parent is not None and parent in run for parent in parents)


def _values(row: Base, written: _Columns) -> dict[str, Any]:
    """The column values `row` is written with (keyed by column), its foreign keys and defaults
    set on it too."""
    given = row.__dict__
    for key, pairs in written.parents:
        parent = given.get(key)
        if parent is not None:
            for own, theirs in pairs:
                setattr(row, own, getattr(parent, theirs))
    values = {}
    for attribute, column, default, database_default in written.columns:
        if given.get(attribute) is None and default is not None:
            # SQLAlchemy wraps a callable default to take its execution context
            if default.is_callable:
                setattr(row, attribute, default.arg(None))
            elif default.is_scalar:
                setattr(row, attribute, default.arg)
        if given.get(attribute) is None and database_default:
            continue  # as the ORM does: the database's default, not NULL
        if attribute in given:
            values[column] = given[attribute]
    return values


def _write(
    connection: Connection, run: list[Base], then: ReturningUpdate | None = None
) -> Sequence[Any] | None:
    """Insert `run` (and run `then`) in one statement; returns what `then` returned."""
    plans = [_columns_of(type(row)) for row in run]
    written = [_values(row, plan) for row, plan in zip(run, plans, strict=True)]
    if len(run) == 1 and then is None:
        result = connection.execute(plans[0].insert, written[0])
        answer: Sequence[Any] = result.inserted_primary_key or ()
    else:
        shape = tuple(
            (plan.table, tuple(values)) for plan, values in zip(plans, written, strict=True)
        )
        parameters = {
            f"r{number}_{key}": value
            for number, values in enumerate(written)
            for key, value in values.items()
        }
        answer = connection.execute(_together(shape, then), parameters).one()
    taken = iter(answer)
    for row, plan in zip(run, plans, strict=True):
        for key in plan.keys:
            setattr(row, key, next(taken))
    if then is None:
        return None
    returned = tuple(taken)
    # a scalar subquery over no row is NULL: `then` changed nothing
    return None if all(value is None for value in returned) else returned


@functools.lru_cache(maxsize=64)
def _together(
    shape: tuple[tuple[Table, tuple[str, ...]], ...], then: ReturningUpdate | None = None
) -> Select[Any]:
    """One statement inserting a row into each table of `shape` (with the columns named), then
    running `then`, answering the rows' primary keys in order and then what `then` returned;
    built once per shape."""
    inserted = [
        insert(table)
        .values({key: bindparam(f"r{number}_{key}", type_=table.c[key].type) for key in keys})
        .returning(*table.primary_key.columns)
        .cte(f"r{number}")
        for number, (table, keys) in enumerate(shape)
    ]
    answers = [
        select(row.c[column.key]).scalar_subquery()
        for row, (table, _) in zip(inserted, shape, strict=True)
        for column in table.primary_key.columns
    ]
    if then is not None:
        updated = then.cte("updated")
        answers.extend(select(column).scalar_subquery() for column in updated.c)
    return select(*answers)


def insert_or_not(session: Session) -> Any:
    """The `insert()` of the session's database, whose statements take ON CONFLICT
    (`.on_conflict_do_nothing()`, `.on_conflict_do_update()`): SQLAlchemy has one for PostgreSQL
    and one for SQLite."""
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """Run one write transaction: commit when the block ends, roll back on any error.

    Raises:
        RuntimeError: the session is already in a unit of work. Starting another would commit
            the outer work half done, so it is a programming error, refused before anything runs.
    """
    if session.info.get(_IN_UNIT_OF_WORK):
        raise RuntimeError(
            "unit_of_work started inside another one: do the inner work in the outer transaction"
        )
    carried_on = _carry_on(session)
    session.info[_IN_UNIT_OF_WORK] = True
    try:
        with _turn_of(session.get_bind()):
            try:
                if carried_on:
                    session.connection().execution_options(**{WRITE_OPTION: True})
                else:
                    session.connection(execution_options={WRITE_OPTION: True})
                yield session
                # counted before it runs: a commit that fails midway may still have landed
                session.info[_COMMITS_BEGUN] = commits_begun(session) + 1
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        del session.info[_IN_UNIT_OF_WORK]


def commits_begun(session: Session) -> int:
    """How many units of work have begun to commit on `session`: what a caller compares to
    know whether work of its own may already be saved."""
    count: int = session.info.get(_COMMITS_BEGUN, 0)
    return count


def _carry_on(session: Session) -> bool:
    """Make ready for a unit of work's write transaction; True when it carries on the one open.

    On SQLite whatever transaction the caller had open (a view loading the current user) ends,
    so the write transaction starts afresh and takes the write lock at its BEGIN. On PostgreSQL
    the open one carries on: under READ COMMITTED (pinned by `roi.create_app`) each statement
    sees what committed before it, so a new transaction would differ only by a COMMIT and a
    BEGIN, two round trips. What the commit would have done to the session is done all the same:
    pending changes are flushed and, unless the session keeps them, loaded objects expire.
    """
    if session.get_bind().dialect.name != "postgresql" or not session.in_transaction():
        session.commit()
        return False
    session.flush()
    if session.expire_on_commit:
        session.expire_all()
    return True


#: per SQLite file, the lock this process's threads queue on for their turn (flock() does not
#: tell the threads of one process apart)
_THREAD_TURNS: dict[str, threading.Lock] = {}
_THREAD_TURNS_GUARD = threading.Lock()


def _forget_thread_turns() -> None:
    # In a child after fork() only the forking thread runs: a turn another thread of the parent
    # held is not the child's to wait for.
    global _THREAD_TURNS_GUARD
    _THREAD_TURNS.clear()
    _THREAD_TURNS_GUARD = threading.Lock()


os.register_at_fork(after_in_child=_forget_thread_turns)


@contextmanager
def _writer_turn(path: str) -> Iterator[None]:
    """Hold the turn of roi's writers to the SQLite file at `path` for the block.

    SQLite answers a BEGIN IMMEDIATE that finds the write lock taken by sleeping and retrying
    (1, 2, 5, 10 ms and longer), so under steady writes from several processes the lock often
    lies free while the next writer sleeps. A unit of work first takes an exclusive flock() on
    `<database>-writers`, which the kernel hands to the next waiting writer the moment the
    holder closes it, after its COMMIT or ROLLBACK. SQLite's own lock still guards the data: a
    writer that takes no turn meets busy_timeout as before. Threads of one process queue on a
    lock first, which gives up after the busy timeout as SQLite would ("database is locked").

    The flock() itself has no deadline, on purpose: flock() takes no timeout, and waiting for it
    in a helper thread (so the wait could end) measured 0.29-0.30 of the bare endpoint on the
    send benchmark against 0.31-0.32 without. Only a writer that stops inside a unit of work
    could keep the turn, and roi's never wait on the network there (mail goes through the
    outbox); a killed one lets go at once (the kernel drops its lock), and gunicorn's worker
    timeout bounds a request that waits.
    """
    with _THREAD_TURNS_GUARD:
        threads = _THREAD_TURNS.setdefault(path, threading.Lock())
    if not threads.acquire(timeout=BUSY_TIMEOUT):
        # as SQLite's own busy timeout ends, so callers catch one kind of error
        raise OperationalError(None, None, sqlite3.OperationalError("database is locked"))
    try:
        # a descriptor of its own for each turn: closing it lets the lock go, and a fork() in
        # the meantime leaves the child nothing it could unlock for us
        descriptor = os.open(f"{path}-writers", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)
    finally:
        threads.release()


def _turn_of(bind: Engine | Connection) -> AbstractContextManager[None]:
    """The turn a unit of work on `bind` takes first: the file's, for a SQLite file; else none
    (PostgreSQL queues writers on its row locks and wakes them itself)."""
    url = bind.engine.url
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return nullcontext()
    if database.startswith("file:"):
        return nullcontext()  # a URI (shared memory, or options): no file of its own to lock
    return _writer_turn(os.path.abspath(database))


def _no_result_rows(record: logging.LogRecord) -> bool:
    # At DEBUG SQLAlchemy logs every result row (names, dates of birth); hide_parameters hides only
    # the bound values. Rows never reach the logs (SECURITY D4).
    return record.levelno >= logging.INFO


def configure_engine(engine: Engine) -> None:
    """Keep result rows out of the logs; set SQLite's pragmas and transaction handling."""
    engine_logger = logging.getLogger("sqlalchemy.engine.Engine")
    if _no_result_rows not in engine_logger.filters:
        engine_logger.addFilter(_no_result_rows)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _describe_lazily)
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (SQLAlchemy's
        # documented recipe for serializable SQLite), so BEGIN IMMEDIATE can be chosen below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        dbapi_connection.create_function(
            _SQLITE_DAY_START, 2, _sqlite_day_start, deterministic=True
        )

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _describe_lazily(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    if isinstance(dbapi_connection, psycopg.Connection):
        dbapi_connection.cursor_factory = _LazilyDescribed


#: the statuses of a result that has rows (psycopg's own test for a description)
_WITH_ROWS = frozenset(
    (
        psycopg.pq.ExecStatus.TUPLES_OK,
        psycopg.pq.ExecStatus.SINGLE_TUPLE,
        psycopg.pq.ExecStatus.TUPLES_CHUNK,
    )
)


class _LazilyDescribed(psycopg.Cursor[Any]):
    """A psycopg cursor whose `description` describes its columns only when they are read.

    psycopg builds a `Column` per column on every read of `description` (psycopg issue 446),
    and SQLAlchemy reads it after every statement that returns rows, only to find it is not
    None: a statement it has run before is described by what it cached then. On a message's
    send that was a twentieth of the worker's time for nothing.
    """

    @property
    def description(self) -> Sequence[psycopg.Column] | None:  # type: ignore[override]
        result = self.pgresult
        if result is None or not (result.nfields or result.status in _WITH_ROWS):
            return None
        return _Description(self, result)


class _Description(Sequence[psycopg.Column]):
    """The columns of one result, described by psycopg on first use."""

    def __init__(self, cursor: psycopg.Cursor[Any], result: psycopg.pq.abc.PGresult) -> None:
        self._cursor = cursor
        self._result = result
        self._columns: list[psycopg.Column] | None = None

    def __len__(self) -> int:
        return self._result.nfields

    def __getitem__(self, index: Any) -> Any:
        if self._columns is None:
            if self._cursor.pgresult is not self._result:
                # psycopg describes the cursor's current result, no longer this one
                raise psycopg.InterfaceError("a description read after its cursor ran on")
            self._columns = psycopg.Cursor.description.fget(self._cursor) or []  # type: ignore[attr-defined]
        return self._columns[index]


class SchemaState(StrEnum):
    """How the database's schema stands against this release's migrations."""

    OK = "ok"
    #: an older revision, or never migrated (no `alembic_version`): run `roi init`
    BEHIND = "behind"
    #: a revision this release does not know: a newer release migrated the database
    UNKNOWN = "unknown"


@functools.cache
def _revisions(directory: str) -> tuple[frozenset[str], frozenset[str]]:
    # Read once per process: the migration scripts do not change while it runs.
    scripts = ScriptDirectory(directory)
    known = frozenset(script.revision for script in scripts.walk_revisions())
    return frozenset(scripts.get_heads()), known


def schema_state(session: Session, migrations: Path) -> SchemaState:
    """Whether the database is at the newest revision of the migration scripts in `migrations`.

    Raises:
        SQLAlchemyError: the database does not answer.
    """
    heads, known = _revisions(str(migrations))
    current = frozenset(MigrationContext.configure(session.connection()).get_current_heads())
    if current == heads:
        return SchemaState.OK
    return SchemaState.BEHIND if current <= known else SchemaState.UNKNOWN
