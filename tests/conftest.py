"""Shared fixtures: a fresh database per test (SQLite file, or a truncated PostgreSQL database
when ROI_TEST_DATABASE_URL is set), a fresh key ring, the app, and autouse guards."""

from __future__ import annotations

import functools
import gc
import os
import shutil
import smtplib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.engine.create
from flask.testing import FlaskClient
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from werkzeug.datastructures import Headers
from werkzeug.routing.rules import Rule

from roi import vault
from roi.audit.schema import head_row_statement
from roi.config import Argon2Parameters
from roi.consent.library import FormLibrary
from roi.db import Base, configure_engine
from roi.models import import_all
from roi.vault.keyring import KEY_FILE, FileKeyProvider, KeyRing

#: one Playwright session for every test folder (tests/browser_plugin.py)
pytest_plugins = ("tests.browser_plugin",)

POSTGRES_URL = os.environ.get("ROI_TEST_DATABASE_URL") or None
#: this process's pytest-xdist worker ("gw0", ...), None when the suite runs in one process
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
#: cheap argon2 for speed (warehouse's memory_cost=1024); tests/accounts pins production values
TEST_ARGON2 = Argon2Parameters(time_cost=1, memory_cost=1024, parallelism=1)

import_all()
#: tests that talk to a real local SMTP server (tests/test_mail.py) put this back
ORIGINAL_SMTP_CONNECT = smtplib.SMTP.connect


def make_engine(url: str) -> Engine:
    connect_args = {} if url.startswith("postgresql") else {"check_same_thread": False}
    # through the module, for the compiled statements shared below (_share_compiled_sql)
    engine = sqlalchemy.engine.create.create_engine(
        url, hide_parameters=True, connect_args=connect_args
    )
    configure_engine(engine)
    return engine


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the schema, copied for each test (faster than building it each time)."""
    path = tmp_path_factory.mktemp("template") / "roi.db"
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str | None]:
    """The PostgreSQL database of this test process, with the schema, built once per session.

    Under pytest-xdist each worker has its own database (`<name>_gw0`, ...), made from
    ROI_TEST_DATABASE_URL, so workers never see each other's rows.
    """
    if POSTGRES_URL is None:
        yield None
        return
    url = POSTGRES_URL
    if WORKER is not None:
        url = _fresh_database(POSTGRES_URL, f"{make_url(POSTGRES_URL).database}_{WORKER}")
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    if WORKER is not None:
        with engine.begin() as conn:
            # A worker's database need not outlive a crash of the server, so its commits do
            # not wait for the WAL to reach the disk (tests commit dozens of times each); a
            # killed client still loses nothing it committed, which is what tests/mail checks.
            database = make_url(url).database
            conn.execute(text(f'ALTER DATABASE "{database}" SET synchronous_commit = off'))
    engine.dispose()
    yield url


def _fresh_database(url: str, name: str) -> str:
    """The URL of database `name` beside `url`'s, with nothing in it.

    Made once and then kept: later calls drop its `public` schema with everything in it and make
    a new one, which leaves it as CREATE DATABASE does. CREATE and DROP DATABASE cost a
    checkpoint of the whole cluster each, up to 20 s on a cluster others are writing to.
    """
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists:
            # connections a test left open would hold locks on what is dropped next
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
        else:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    fresh = make_url(url).set(database=name).render_as_string(hide_password=False)
    if exists:
        engine = create_engine(fresh)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    return fresh


@pytest.fixture
def database_url(
    tmp_path: Path, sqlite_template: Path, postgres_schema: str | None
) -> Iterator[str]:
    """A database with the schema and no rows."""
    if postgres_schema is None:
        path = tmp_path / "db" / "roi.db"
        path.parent.mkdir()
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    yield postgres_schema
    _empty_postgres(postgres_schema)


def _empty_postgres(url: str) -> None:
    """Delete every application row and restart the id sequences, as a fresh schema has them.

    DELETE, not TRUNCATE: TRUNCATE makes new files for each table and took 0.3 s per test on 2
    busy cores; deleting a test's few rows takes milliseconds. `session_replication_role =
    replica` switches this transaction's triggers off (foreign keys, and the append-only trigger
    of `audit_entries`), so the order does not matter; the tables keep their triggers. It is one
    DO block on a kept connection: one round trip per test, not one per table.
    """
    with _cleaning_engine(url).begin() as conn:
        conn.execute(_EMPTYING)


def _emptying_block() -> str:
    """The DO block that empties the schema (built once: the tables are the models')."""
    tables = "".join(
        f"  DELETE FROM {quoted};\n"
        for quoted in (f'"{table.name}"' for table in Base.metadata.sorted_tables)
    )
    head = head_row_statement("postgresql").replace("$$", "$head$")
    return (
        "DO $$\nBEGIN\n"
        "  SET LOCAL session_replication_role = replica;\n"
        f"{tables}"
        "  PERFORM setval(format('%I.%I', schemaname, sequencename), start_value, false)\n"
        "    FROM pg_sequences WHERE schemaname = current_schema();\n"
        # the audit chain's head row is part of the schema, not data: put it back
        f"  {head.rstrip().rstrip(';')};\n"
        "END $$"
    )


_EMPTYING = text(_emptying_block())


@functools.cache
def _cleaning_engine(url: str) -> Engine:
    return make_engine(url)


@pytest.fixture
def empty_database_url(tmp_path) -> Iterator[str]:
    """A database with nothing in it: a new SQLite file, or this process's empty PostgreSQL one."""
    if POSTGRES_URL is None:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"{make_url(POSTGRES_URL).database}_empty_{WORKER or 'main'}"
    yield _fresh_database(POSTGRES_URL, name)


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture
def keyring() -> KeyRing:
    """A fresh key ring, active in this process."""
    ring = KeyRing.generate()
    vault.use(ring)
    return ring


@pytest.fixture
def engine(database_url: str, keyring: KeyRing) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A plain SQLAlchemy session for domain code, as the CLI and benchmarks use it."""
    with Session(engine) as session:
        yield session


@pytest.fixture
def instance_path(tmp_path: Path, keyring: KeyRing) -> Path:
    """An instance folder holding the test key ring (so subprocesses load the same keys)."""
    path = tmp_path / "instance"
    path.mkdir()
    FileKeyProvider(path / KEY_FILE).store(keyring)
    return path


@pytest.fixture
def app_overrides(instance_path: Path, database_url: str) -> dict[str, object]:
    return {
        "instance_path": instance_path,
        "database_url": database_url,
        "secret_key": "test-secret-key-not-for-production",
        "argon2": TEST_ARGON2,
        # every emailed link must start with this, whatever Host a request carried (SECURITY D6)
        "base_url": "https://roi.example.test",
    }


class ClosingClient(FlaskClient):
    """Flask's test client, closing each request's body once the app has answered.

    Werkzeug's test client spools a multipart body over 500 KB (an upload) to a temporary file and
    never closes it: the garbage collector then warns of the open file (a ResourceWarning, an
    error in this suite) in whatever test happens to run next, which failed unrelated tests now
    and then."""

    def run_wsgi_app(
        self, environ: dict[str, Any], buffered: bool = False
    ) -> tuple[Iterable[bytes], str, Headers]:
        try:
            return super().run_wsgi_app(environ, buffered)
        finally:
            environ["wsgi.input"].close()


@pytest.fixture
def app(app_overrides: dict[str, object]):
    """The app on the test database. Tests never keep an app context pushed while they make
    requests: Flask would reuse it, and `g` (the signed-in user) would leak between requests."""
    from roi import create_app

    app = create_app(app_overrides)
    app.testing = True
    app.test_client_class = ClosingClient
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
    yield app
    from roi.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


class _TemplateCode(BytecodeCache):
    """Compiled templates kept for every app of this process (Jinja's own bytecode cache).

    Each app has its own Jinja environment and compiled each template it rendered again, about
    a twentieth of the suite; every test app is configured alike, and Jinja checks each entry
    against its template's source.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = _TemplateCode()

#: tests that take long: run first, so that no worker is left finishing one while the others idle
LONG_MARKERS = ("browser", "slow", "subprocess", "xdist_group")


#: the fixtures through which a test reaches the database under test
DATABASE_FIXTURES = frozenset({"database_url", "empty_database_url", "postgres_schema"})


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, leave out the tests whose verdict cannot depend on the database; then the
    long tests come first (in their order), the many short ones after: pytest-xdist hands out
    work in this order (`--dist loadgroup`, the largest groups first), so the short ones fill the
    workers up at the end instead of a long one running alone.
    """
    if POSTGRES_URL is not None:
        once = [item for item in items if same_on_every_database(item)]
        if once:
            config.hook.pytest_deselected(items=once)
            items[:] = [item for item in items if not same_on_every_database(item)]
    items.sort(key=lambda item: not any(item.get_closest_marker(m) for m in LONG_MARKERS))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Spare the test process most of Python's cycle collector: everything alive once the tests
    are collected (modules, classes, the collected items) is frozen out of its scans, and a
    young collection waits for 20,000 new objects instead of 700. A test process's heap grows
    to half a million objects, each full collection walked all of it (0.2-0.3 s), and
    collecting was about a sixth of a worker's time; now about a twelfth. Cycles are still
    collected, only less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


def same_on_every_database(item: pytest.Item) -> bool:
    """Whether `item` would check exactly the same thing on SQLite and on PostgreSQL, so the
    SQLite run's verdict is the verdict: it reaches no database (none of DATABASE_FIXTURES), it
    is marked `engine_independent` (what it checks is the pages' markup, which both render
    alike, or the routes' methods; other tests render the pages on both databases), or it drives
    the browser. A browser test judges what Chromium makes of roi's pages — scripts, focus,
    layout at a width, what a click or a form sends; what each of its steps does to the database
    the web, API and domain tests check on both (the same routes with Flask's test client, the
    same services). On PostgreSQL the browser tests took a fifth of the run."""
    uses_database = not DATABASE_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))
    return not uses_database or any(
        item.get_closest_marker(marker) is not None for marker in ("engine_independent", "browser")
    )


def _reuse_url_builders() -> None:
    """Build each URL rule's builder once per process, not once per app.

    werkzeug compiles Python code for every rule of every app (two builders per rule, about
    half of `create_app`), and the suite makes an app for each of several hundred tests. The
    code depends only on the rule's text, its defaults and its converters, and takes the rule it
    builds for as its argument, so one compiled builder serves the same rule in every app.
    """
    original = getattr(Rule, "_compile_builder", None)
    if original is None:  # another werkzeug: leave it as it is
        return
    built: dict[tuple[object, ...], Any] = {}

    def compile_builder(rule: Rule, append_unknown: bool = True) -> Any:
        key = (
            rule.rule,
            rule.subdomain,
            rule.host,
            rule.merge_slashes,
            rule.map.host_matching,
            repr(sorted((rule.defaults or {}).items())),
            tuple(rule._trace),
            tuple((name, type(c).__name__) for name, c in rule._converters.items()),
            append_unknown,
        )
        if key not in built:
            built[key] = original(rule, append_unknown)
        return built[key]

    Rule._compile_builder = compile_builder  # type: ignore[method-assign]


_reuse_url_builders()


def _reuse_parsed_rules() -> None:
    """Parse each URL rule's text once per process, not once per app.

    Parsing (werkzeug's `Rule._parse_rule`: a regular expression over the text, the converters'
    arguments) was about half of what is left of `create_app`. Its parts depend only on the text
    and the map's converter classes; what it leaves on the rule (its trace, its arguments, its
    converters) is recorded the first time and done again on each later rule of that text, the
    converters made anew for the rule's own map.
    """
    original = getattr(Rule, "_parse_rule", None)
    if original is None:  # another werkzeug: leave it as it is
        return
    parsed: dict[tuple[object, ...], tuple[list[Any], list[Any], list[Any]]] = {}

    def parse_rule(rule: Rule, text: str) -> list[Any]:
        key = (text, *rule.map.converters, *rule.map.converters.values())
        if key not in parsed:
            made: list[tuple[str, str, tuple[Any, ...], dict[str, Any]]] = []
            get_converter = rule.get_converter

            def recording(name: str, kind: str, args: tuple[Any, ...], kwargs: Any) -> Any:
                made.append((name, kind, args, dict(kwargs)))
                return get_converter(name, kind, args, kwargs)

            start = len(rule._trace)
            rule.get_converter = recording  # type: ignore[method-assign]
            try:
                parts = list(original(rule, text))
            finally:
                del rule.get_converter
            parsed[key] = (parts, rule._trace[start:], made)
            return parts
        parts, trace, made = parsed[key]
        rule._trace.extend(trace)
        for name, kind, args, kwargs in made:
            rule._converters[name] = rule.get_converter(name, kind, args, kwargs)
            rule.arguments.add(name)
        return list(parts)

    Rule._parse_rule = parse_rule  # type: ignore[method-assign,assignment]


_reuse_parsed_rules()


def _reuse_form_libraries() -> None:
    """Read forms/ once per process, not once per app: every test app loads the same files (a
    tenth of `create_app`); a folder whose files differ in any byte is read again."""
    original = FormLibrary.load.__func__  # type: ignore[attr-defined]
    loaded: dict[tuple[object, ...], FormLibrary] = {}

    def load(cls: type[FormLibrary], folder: Path) -> FormLibrary:
        if not folder.is_dir():
            return original(cls, folder)
        files = tuple((p.name, p.read_bytes()) for p in sorted(folder.glob("*.toml")))
        key = (cls, str(folder), files)
        if key not in loaded:
            loaded[key] = original(cls, folder)
        return loaded[key]

    FormLibrary.load = classmethod(load)  # type: ignore[method-assign,assignment]


_reuse_form_libraries()


#: create_engine keywords that set up an engine's pool, its logging or how its configuration is
#: read (`_coerce_config`: Flask-SQLAlchemy's engine_from_config), not its dialect
_ENGINE_ONLY_OPTIONS = frozenset(
    {"_coerce_config", "connect_args", "echo", "echo_pool", "hide_parameters", "pool_recycle"}
)


def _share_compiled_sql() -> None:
    """Compile each SQL statement once per process, not once per engine.

    SQLAlchemy caches compiled statements per engine, keyed by the engine's dialect object, and
    the suite makes at least two engines per test (the test's and the app's): about a sixteenth
    of the suite was compiling the same statements again. Engines of one driver made with the
    same dialect options (the app's ask PostgreSQL for READ COMMITTED, the tests' ask nothing;
    the other options are about the pool and logging) take the dialect and the cache of the
    first such engine that has connected (a connection initializes its dialect: server version
    and the features that follow from it, the same server for every test).

    An engine's new connections are still made by its own first dialect, so a dialect event
    (`do_connect`) listened for on such an engine never fires: a test that changes how the app
    connects listens for its pool's `connect` (tests/web/test_database_refuses_writes.py).
    """
    original = sqlalchemy.engine.create.create_engine
    dialects: dict[tuple[str, str], list[Engine]] = {}

    def create_engine(url: Any, **kwargs: Any) -> Engine:
        engine = original(url, **kwargs)
        if engine._compiled_cache is None:
            return engine
        dialect_options = sorted((k, v) for k, v in kwargs.items() if k not in _ENGINE_ONLY_OPTIONS)
        seen = dialects.setdefault((engine.url.drivername, repr(dialect_options)), [])
        ready = next((e for e in seen if e.dialect.server_version_info is not None), None)
        if ready is None:
            seen.append(engine)
        else:
            seen[:] = [ready]
            engine.dialect, engine._compiled_cache = ready.dialect, ready._compiled_cache
        return engine

    sqlalchemy.engine.create.create_engine = create_engine  # type: ignore[assignment]


_share_compiled_sql()


@pytest.fixture(autouse=True)
def _no_smtp(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that opens an SMTP connection it did not ask for (Indico disallow_emails)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a test tried to open an SMTP connection")

    monkeypatch.setattr(smtplib.SMTP, "connect", refuse)
