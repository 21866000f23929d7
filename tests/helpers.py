"""Test helpers: CSRF tokens read from pages, signing in as a person does (flaskr AuthActions)."""

from __future__ import annotations

import email
import re
from email.message import EmailMessage
from email.policy import default
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

CSRF_PATTERN = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def csrf_token(response: TestResponse) -> str:
    """The CSRF token of the first form on the page."""
    match = CSRF_PATTERN.search(response.get_data(as_text=True))
    assert match, "the page has no CSRF token"
    return match.group(1)


def login_as(client: FlaskClient, email: str, password: str) -> TestResponse:
    """Sign in through the login form, with the CSRF token the form carries."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(page)},
    )


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
    response = client.post("/api/v1/tokens", json={"email": email, "password": password})
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["token"])


def delivered_mail(app: Flask) -> list[EmailMessage]:
    """Deliver the outbox as `roi worker --once` does, then every mail delivered so far (oldest
    first), read from the instance's outbox folder."""
    from roi import mail
    from roi.extensions import db

    settings = app.config["ROI_SETTINGS"]
    with app.app_context():
        mail.deliver_due(db.session(), settings, limit=10_000)
        db.session.remove()
    files = sorted(
        (settings.instance_path / "outbox").glob("*.eml"),
        key=lambda path: (path.stat().st_mtime_ns, path.name),
    )
    return [email.message_from_bytes(path.read_bytes(), policy=default) for path in files]  # type: ignore[misc]
