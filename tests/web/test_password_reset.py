"""Forgotten passwords (SECURITY A7): the same answer for every address, a single-use link for 30
minutes through the outbox, and a reset that ends every session and token and signs nobody in."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import time_machine
from sqlalchemy import select

from roi.accounts import recovery
from roi.accounts.models import PasswordLink, User
from roi.audit import Action, AuditEntry
from roi.clock import now
from tests.helpers import (
    CSRF_PATTERN,
    api_token,
    bearer,
    delivered_mail,
    login_as,
    post_form,
    without_tokens,
)

BASE = "https://roi.example.test"
LINK = re.compile(re.escape(BASE) + r"(/password-reset/[A-Za-z0-9_\-]+)")
NEW_PASSWORD = "amber lantern quietly folding"
UNKNOWN = "nobody-at-all@example.org"


def ask_for_reset(client, email: str):
    return post_form(client, "/password-reset", "/password-reset", {"email": email})


def reset_links(app, email: str) -> list[str]:
    """The reset link paths mailed to `email` so far, oldest first."""
    return [
        match.group(1)
        for sent in delivered_mail(app)
        if sent["To"] == email
        for match in [LINK.search(sent.get_content())]
        if match
    ]


def set_password(client, path: str, password: str = NEW_PASSWORD):
    return post_form(client, path, path, {"password": password})


def test_sign_in_page_offers_a_reset(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password-reset"' in page
    assert "Forgot your password?" in page


def test_known_and_unknown_addresses_get_the_same_answer(app, client, clinician):
    known = ask_for_reset(app.test_client(), clinician.email)
    unknown = ask_for_reset(app.test_client(), UNKNOWN)
    assert known.status_code == unknown.status_code == 200
    # the pages differ only by each browser's own CSRF token (the language switch carries one)
    assert without_tokens(known) == without_tokens(unknown)
    assert "If an account uses that address" in known.get_data(as_text=True)
    # Only the known address gets a mail, with a link built on the base URL
    mails = delivered_mail(app)
    assert [m["To"] for m in mails] == [clinician.email]
    assert LINK.search(mails[0].get_content())


def test_a_disabled_account_gets_no_link(app, session, client, clinician):
    user = session.get(User, clinician.user.id)
    user.active = False
    session.commit()
    assert ask_for_reset(client, clinician.email).status_code == 200
    assert delivered_mail(app) == []


def test_the_link_sets_the_password_once_and_ends_every_session_and_token(app, session, clinician):
    # Given the clinician signed in in one browser and holding an API token
    browser = app.test_client()
    login_as(browser, clinician.email, clinician.password)
    assert browser.get("/clinician/").status_code == 200
    token = api_token(app.test_client(), clinician.email, clinician.password)
    # When they ask for a reset (email case ignored) and follow the link
    visitor = app.test_client()
    ask_for_reset(visitor, clinician.email.upper())
    (path,) = reset_links(app, clinician.email)
    assert visitor.get(path).status_code == 200
    response = set_password(visitor, path)
    # Then they are sent to sign in, not signed in
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    assert visitor.get("/clinician/").status_code == 302
    # And the old session and token are dead (an old cookie replayed is not authenticated)
    assert browser.get("/clinician/").status_code == 302
    assert app.test_client().get("/api/v1/clients", headers=bearer(token)).status_code == 401
    # And the old password fails, the new one works
    assert login_as(app.test_client(), clinician.email, clinician.password).status_code == 200
    assert login_as(app.test_client(), clinician.email, NEW_PASSWORD).status_code == 302
    # And a second use of the link is refused, GET and POST alike
    assert visitor.get(path).status_code == 400
    second = visitor.post(path, data={"password": "another fine long phrase", "csrf_token": "x"})
    assert second.status_code == 400
    session.rollback()  # end the snapshot the fixtures' reads left open
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_user_id == clinician.user.id)
    ).all()
    assert Action.AUTH_PASSWORD_RESET_REQUESTED in actions
    assert Action.AUTH_PASSWORD_RESET in actions


def test_the_link_expires_after_30_minutes(app, clinician):
    ask_for_reset(app.test_client(), clinician.email)
    (path,) = reset_links(app, clinician.email)
    with time_machine.travel(now() + timedelta(minutes=31)):
        assert app.test_client().get(path).status_code == 400
    with time_machine.travel(now() + timedelta(minutes=29)):
        page = app.test_client().get(path)
        assert page.status_code == 200
        token = CSRF_PATTERN.search(page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    with time_machine.travel(now() + timedelta(minutes=31)):
        # the form was loaded in time, but the link died before it was sent
        client = app.test_client()
        client.get("/login")
        late = client.post(path, data={"password": NEW_PASSWORD, "csrf_token": token})
        assert late.status_code == 400


def test_a_weak_password_is_refused_and_the_link_still_works(app, clinician):
    ask_for_reset(app.test_client(), clinician.email)
    (path,) = reset_links(app, clinician.email)
    client = app.test_client()
    weak = set_password(client, path, "short")
    assert weak.status_code == 422
    assert "Use at least 12 characters." in weak.get_data(as_text=True)
    assert set_password(client, path).status_code == 302


def test_a_newer_link_replaces_the_older_one(app, clinician):
    ask_for_reset(app.test_client(), clinician.email)
    ask_for_reset(app.test_client(), clinician.email)
    first, second = reset_links(app, clinician.email)
    assert app.test_client().get(first).status_code == 400
    assert app.test_client().get(second).status_code == 200


def test_the_database_never_holds_the_link(app, session, clinician):
    ask_for_reset(app.test_client(), clinician.email)
    (path,) = reset_links(app, clinician.email)
    raw = path.rsplit("/", 1)[1]
    assert len(raw) >= 43  # 32 random bytes
    session.rollback()  # end the snapshot the fixtures' reads left open
    (link,) = session.scalars(select(PasswordLink)).all()
    assert link.token_sha256 == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in repr([getattr(link, c.key) for c in PasswordLink.__table__.columns])


def test_requests_are_throttled_per_address_whether_known_or_not(app, clinician):
    for email in (clinician.email, UNKNOWN):
        client = app.test_client()
        for _ in range(5):
            assert ask_for_reset(client, email).status_code == 200
        refused = ask_for_reset(client, email)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
    assert len(reset_links(app, clinician.email)) == 5


def test_requests_are_throttled_per_ip_across_addresses(app, monkeypatch):
    monkeypatch.setattr(recovery, "RESET_IP_LIMIT", 3)
    client = app.test_client()
    for n in range(3):
        assert ask_for_reset(client, f"someone{n}@example.org").status_code == 200
    refused = ask_for_reset(client, "someone-else@example.org")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
