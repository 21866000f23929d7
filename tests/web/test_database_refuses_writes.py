"""A database that takes no writes (SECURITY I2: read-only, or its disk full): a send is refused
with a plain 503 that says nothing was sent, and nothing of it is left behind, neither the
message nor its audit entry nor its mail; once the database takes writes again, sends go."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import InternalError, OperationalError, ProgrammingError

from roi.audit import Action, AuditEntry
from roi.extensions import db
from roi.mail.models import OutboxItem
from roi.messaging import drafts
from roi.messaging.models import Message
from roi.web.errors import database_unavailable
from tests.consent.conftest import library, referral  # noqa: F401 - the referral's people
from tests.helpers import api_token, bearer, csrf_token, login_as


def app_engine(app) -> Engine:
    with app.app_context():
        return db.engine


@contextmanager
def new_connections(engine: Engine, name: str, listener: Callable[..., None]) -> Iterator[None]:
    """The pool's connections made afresh in the block, each passing `listener` (event `name`)."""
    event.listen(engine, name, listener)
    engine.dispose()
    try:
        yield
    finally:
        event.remove(engine, name, listener)
        engine.dispose()


def read_only_database(app) -> AbstractContextManager[None]:
    """Every connection the app opens in the block may read and not write: SQLite's query_only,
    PostgreSQL's read-only transactions (as a replica or a database set read-only answers)."""
    engine = app_engine(app)

    def read_only(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("SET default_transaction_read_only = on")
            dbapi_connection.commit()
        cursor.close()

    return new_connections(engine, "connect", read_only)


def written(session) -> tuple[int, int, int]:
    """How many messages, outbox mails and permitted disclosures there are."""
    session.rollback()
    return (
        session.scalar(select(func.count()).select_from(Message)),
        session.scalar(select(func.count()).select_from(OutboxItem)),
        session.scalar(
            select(func.count()).where(AuditEntry.action == Action.DISCLOSURE_PERMITTED)
        ),
    )


def message(referral) -> dict[str, Any]:  # noqa: F811
    return {
        "client_id": referral.client_id,
        "recipient_provider_id": referral.recipient_id,
        "categories": ["diagnosis"],
        "purpose": "treatment",
        "subject": "Referral summary",
        "body": "Working diagnosis and plan.",
    }


def test_the_api_refuses_a_send_the_database_cannot_keep(app, client, session, referral):  # noqa: F811
    # Given a signed release and a therapist's token
    referral.signed(session)
    token = api_token(client, referral.therapist.email, referral.therapist.password)
    before = written(session)
    # When the database takes no writes and the therapist sends
    with read_only_database(app):
        answer = client.post("/api/v1/messages", json=message(referral), headers=bearer(token))
    # Then the send is refused, saying so and when to try again; nothing of it is left
    assert answer.status_code == 503
    assert answer.get_json()["error"] == "unavailable"
    assert "Nothing was changed or sent" in answer.get_json()["message"]
    assert answer.headers["Retry-After"] == "60"
    assert written(session) == before
    # And once it takes writes again, the same send goes
    again = client.post("/api/v1/messages", json=message(referral), headers=bearer(token))
    assert again.status_code == 201, again.get_json()
    assert written(session)[0] == before[0] + 1


def test_the_compose_page_says_nothing_was_sent(app, client, session, referral):  # noqa: F811
    referral.signed(session)
    login_as(client, referral.therapist.email, referral.therapist.password)
    page = client.get(f"/clinician/messages/new?client_id={referral.client_id}")
    fields = {**message(referral), "categories": "diagnosis", "csrf_token": csrf_token(page)}
    before = written(session)
    with read_only_database(app):
        answer = client.post("/clinician/messages/new", data=fields)
    assert answer.status_code == 503
    assert "Nothing was changed or sent" in answer.get_data(as_text=True)
    assert written(session) == before


def database_gone(app) -> AbstractContextManager[None]:
    """No new connection can be made in the block (a database restarting or unreachable)."""
    engine = app_engine(app)
    refused = (
        sqlite3.OperationalError("unable to open database file")
        if engine.dialect.name == "sqlite"
        else psycopg.OperationalError("connection refused")
    )

    def connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.close()
        raise refused

    return new_connections(engine, "connect", connect)


def test_a_signed_in_person_is_told_when_the_database_is_gone(app, client, session, referral):  # noqa: F811
    # Given a therapist signed in
    login_as(client, referral.therapist.email, referral.therapist.password)
    # When the database cannot be reached, pages and sends answer 503 in words, not a bare error
    with database_gone(app):
        page = client.get("/clinician/")
        sent = client.post("/clinician/messages/new", data={"subject": "x"})
    for answer in (page, sent):
        assert answer.status_code == 503
        assert "Nothing was changed or sent" in answer.get_data(as_text=True)
        assert answer.headers["Content-Security-Policy"]  # roi's own answer, its headers on


def test_a_refusal_the_database_cannot_record_is_a_503(app, client, session, referral):  # noqa: F811
    # A probe of a record that is not yours is kept on record (SECURITY C2): with the database
    # read-only, the answer says roi cannot save, rather than failing inside the error page
    login_as(client, referral.therapist.email, referral.therapist.password)
    with read_only_database(app):
        answer = client.get("/clinician/messages/999999")
    assert answer.status_code == 503


@pytest.mark.parametrize(
    "failure",
    [
        OperationalError("", {}, psycopg.errors.AdminShutdown()),  # the database went away
        RuntimeError("a fault of roi's own"),
    ],
    ids=["database gone", "unexpected error"],
)
def test_a_send_saved_before_the_page_failed_is_not_called_unsent(
    app,
    client,
    session,
    referral,  # noqa: F811
    monkeypatch,
    failure,
):
    # Given a signed release and the compose page
    referral.signed(session)
    login_as(client, referral.therapist.email, referral.therapist.password)
    page = client.get(f"/clinician/messages/new?client_id={referral.client_id}")
    fields = {**message(referral), "categories": "diagnosis", "csrf_token": csrf_token(page)}
    before = written(session)

    # When something fails right after the send committed, while the page tidies up
    def fails(*args: object, **kwargs: object) -> None:
        raise failure

    monkeypatch.setattr(drafts, "sent_about", fails)
    answer = client.post("/clinician/messages/new", data=fields)
    # Then the message went out, and the page does not say nothing was sent (a second send
    # would disclose twice): it says part may be saved, to check first
    assert written(session)[0] == before[0] + 1
    assert answer.status_code == 500
    text = answer.get_data(as_text=True)
    assert "part of it may already be saved" in text
    assert "Nothing was changed" not in text
    assert "Retry-After" not in answer.headers


def test_a_refusal_whose_record_cannot_be_committed_is_not_called_partly_saved(
    app,
    client,
    session,
    referral,  # noqa: F811
):
    # Given a clinician probing a message that is not theirs
    login_as(client, referral.therapist.email, referral.therapist.password)
    engine = app_engine(app)

    # When the database goes away as the refusal's audit entry commits (and only then: the
    # session's upkeep commits before the view)
    denial_written = []

    def note_denial(connection: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "INSERT INTO audit_entries" in statement and Action.AUTHZ_DENIED in str(parameters):
            denial_written.append(statement)

    def gone(connection: Any) -> None:
        if denial_written:
            raise OperationalError("COMMIT", {}, psycopg.errors.AdminShutdown())

    event.listen(engine, "before_cursor_execute", note_denial)
    event.listen(engine, "commit", gone)
    try:
        answer = client.get("/clinician/messages/999999")
    finally:
        event.remove(engine, "commit", gone)
        event.remove(engine, "before_cursor_execute", note_denial)
    assert denial_written
    # Then the answer is the plain 503: the view saved nothing, only the refusal's record failed
    assert answer.status_code == 503
    assert "part of it may already be saved" not in answer.get_data(as_text=True)


def sqlite_error(*statements: str) -> sqlite3.Error:
    """The error SQLite itself raises for the last of `statements`."""
    connection = sqlite3.connect(":memory:")
    try:
        for statement in statements:
            connection.execute(statement)
    except sqlite3.Error as error:
        return error
    finally:
        connection.close()
    raise AssertionError("no error")


SQLITE_READ_ONLY = sqlite_error("PRAGMA query_only = ON", "CREATE TABLE t (a)")
SQLITE_NO_TABLE = sqlite_error("SELECT * FROM no_such_table")
CONNECTION_LOST = psycopg.OperationalError("server closed the connection unexpectedly")


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (OperationalError("", {}, SQLITE_READ_ONLY), True),
        (OperationalError("", {}, SQLITE_NO_TABLE), False),
        (OperationalError("", {}, psycopg.errors.DiskFull()), True),
        (OperationalError("", {}, psycopg.errors.AdminShutdown()), True),
        (OperationalError("", {}, CONNECTION_LOST), True),
        (InternalError("", {}, psycopg.errors.ReadOnlySqlTransaction()), True),
        (OperationalError("", {}, psycopg.errors.ProgramLimitExceeded()), False),
        (OperationalError("", {}, psycopg.errors.LockNotAvailable()), False),
        (ProgrammingError("", {}, psycopg.errors.UndefinedTable()), False),
    ],
)
def test_only_a_database_that_cannot_take_the_work_now_is_unavailable(error, unavailable):
    # a statement roi got wrong is a defect to see (500), not a moment to wait out (503)
    assert database_unavailable(error) is unavailable
