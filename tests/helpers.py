"""Test helpers: CSRF tokens read from pages, signing in as a person does (flaskr AuthActions)."""

from __future__ import annotations

import email
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

#: how long a test waits to see a thread or process reach a point before it fails
PATIENCE = 30.0
CSRF_PATTERN = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def csrf_token(response: TestResponse) -> str:
    """The CSRF token of the first form on the page."""
    match = CSRF_PATTERN.search(response.get_data(as_text=True))
    assert match, "the page has no CSRF token"
    return match.group(1)


SECOND_STEP = "/login/second-factor"


def without_tokens(response: TestResponse) -> str:
    """A page's HTML without its CSRF tokens (each browser's own, on every page's language
    switch): what is left is what the page tells the person."""
    return re.sub(r'name="csrf_token" value="[^"]+"', "", response.get_data(as_text=True))


def login_as(client: FlaskClient, email: str, password: str) -> TestResponse:
    """Sign in through the login form, with the CSRF token the form carries; when the account
    has a second factor, give a code at the second step as well (the answer is the last step's).
    """
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(page)},
    )
    if response.status_code == 302 and response.headers["Location"].endswith(SECOND_STEP):
        return pass_second_step(client, email)
    return response


def pass_second_step(client: FlaskClient, email: str, code: str | None = None) -> TestResponse:
    """Give the second step of a half-done sign-in a code (by default a fresh authenticator
    code of `email`)."""
    token = csrf_token(client.get(SECOND_STEP))
    code = code or totp_code(client.application, email)
    assert code, f"{email} has no authenticator"
    return client.post(SECOND_STEP, data={"code": code, "csrf_token": token})


def totp_code(app: Flask, email: str) -> str | None:
    """A code the server accepts now from the authenticator of `email`; None when it has none
    (`fresh_totp_code` on the app's database)."""
    from roi.extensions import db

    with app.app_context():
        try:
            return fresh_totp_code(db.session(), email)
        finally:
            db.session.remove()


def fresh_totp_code(session: Session, email: str) -> str | None:
    """A code the server accepts now from the authenticator of `email`; None when it has none.

    Forgets the last used time step first: a test may sign the same person in several times
    within one 30-second step, and a code is accepted once (that rule is tested in
    tests/accounts/test_mfa.py and tests/web/test_mfa.py, not in every test that signs in).
    """
    import pyotp
    from sqlalchemy import select

    from roi import vault
    from roi.accounts.models import TotpCredential, User
    from roi.clock import now

    session.rollback()
    credential = session.scalar(
        select(TotpCredential)
        .join(User, User.id == TotpCredential.user_id)
        .where(User.email_key == email.strip().lower(), TotpCredential.confirmed_at.is_not(None))
    )
    if credential is None:
        session.rollback()
        return None
    credential.last_used_step = None
    place = vault.Place("totp_credentials", "secret_sealed", credential.uuid)
    secret = vault.open_sealed(credential.secret_sealed, place).decode()
    session.commit()
    return pyotp.TOTP(secret).at(now())


def post_form(
    client: FlaskClient, page_url: str, action: str, data: dict[str, Any]
) -> TestResponse:
    """Submit a form the way a browser does: load the page, take its token, post."""
    token = csrf_token(client.get(page_url))
    return client.post(action, data={**data, "csrf_token": token})


def logout(client: FlaskClient) -> TestResponse:
    token = csrf_token(client.get("/", follow_redirects=True))
    return client.post("/logout", data={"csrf_token": token})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_token(client: FlaskClient, email: str, password: str) -> str:
    """A bearer token, with an authenticator code when the account has a second factor."""
    body = {"email": email, "password": password}
    code = totp_code(client.application, email)
    if code:
        body["otp"] = code
    response = client.post("/api/v1/tokens", json=body)
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["token"])


def delivered_mail(app: Flask) -> list[EmailMessage]:
    """Do what `roi worker --once` does (answer link requests, deliver the outbox), then every
    mail delivered so far (oldest first), read from the instance's outbox folder."""
    from roi.cli.worker import drain
    from roi.extensions import db

    settings = app.config["ROI_SETTINGS"]
    with app.app_context():
        drain(settings)
        db.session.remove()
    files = sorted(
        (settings.instance_path / "outbox").glob("*.eml"),
        key=lambda path: (path.stat().st_mtime_ns, path.name),
    )
    return [email.message_from_bytes(path.read_bytes(), policy=default) for path in files]  # type: ignore[misc]


def routes_reached(
    client: FlaskClient, skip: set[str] | frozenset[str], refused: Any
) -> dict[str, int]:
    """Open every route of the app but the endpoints `skip`, each method once (`any()` segments
    take their first choice, every other argument is 1); the `METHOD url: status` of those whose
    response `refused(url, response)` does not accept. A POST refused for its missing CSRF token
    (400, before anything else) reaches nothing either."""
    reached = {}
    for endpoint, method, url in _routes(client.application):
        if endpoint in skip:
            continue
        response = client.open(url, method=method)
        if not refused(url, response) and not (method == "POST" and response.status_code == 400):
            reached[f"{method} {url}"] = response.status_code
    return reached


def _routes(app: Flask) -> Iterator[tuple[str, str, str]]:
    for rule in app.url_map.iter_rules():
        url = re.sub(r"<any\(\s*(\w+)[^>]*>", r"\1", rule.rule)
        url = re.sub(r"<(?:[^:>]+:)?\w+>", "1", url)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


@contextmanager
def statements_run() -> Iterator[list[str]]:
    """The SQL of every statement any engine runs in the block, in order."""
    run: list[str] = []

    def note(connection, cursor, statement, parameters, context, many) -> None:
        run.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield run
    finally:
        event.remove(Engine, "before_cursor_execute", note)


def until(seen: Callable[[], bool], what: str) -> None:
    """Return once `seen()` holds (a state the interpreter, the kernel or the database shows);
    fail after PATIENCE. The check is what the test waits on, not the time."""
    deadline = time.monotonic() + PATIENCE
    while not seen():
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.005)


def waits_for_a_lock(watcher: Session, pids: list[int]) -> bool:
    """Whether the PostgreSQL backend `pids[0]` (once a thread has put its pid there) is waiting
    for a lock: what a test watches, with `until`, to know another transaction is held up."""
    if not pids:
        return False
    waiting = watcher.scalar(
        text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pids[0]}
    )
    watcher.rollback()  # each look is a fresh snapshot of the activity
    return waiting == "Lock"


def held_up(engine: Engine, thread: threading.Thread, pids: list[int], what: str) -> bool:
    """Start `thread`, whose PostgreSQL session puts its backend pid in `pids`, and return once
    it waits for a lock (True) or has finished without waiting for one (False)."""
    thread.start()
    with Session(engine) as watcher:
        until(lambda: not thread.is_alive() or waits_for_a_lock(watcher, pids), what)
    return thread.is_alive()
