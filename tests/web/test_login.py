"""Signing in and out: sessions live on the server, so a copied cookie dies with logout."""

from __future__ import annotations

from http.cookies import SimpleCookie

import time_machine
from sqlalchemy import func, select

from roi.audit import AuditEntry
from roi.clock import now
from tests.helpers import csrf_token, login_as, logout


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("__Host-roi_session")
    return cookie.value if cookie else None


def test_anonymous_home_redirects_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")


def test_signed_in_person_lands_on_their_dashboard(client, clinician):
    # Given a clinician, When they sign in
    response = login_as(client, clinician.email, clinician.password)
    # Then they are sent to their role's dashboard
    assert response.status_code == 302
    page = client.get("/", follow_redirects=True)
    assert page.request.path == "/clinician/"
    assert "Add a client" in page.get_data(as_text=True)


def test_wrong_password_is_refused_without_saying_which_part(client, clinician):
    response = login_as(client, clinician.email, "not the right password")
    assert response.status_code == 200
    assert "do not match an active account" in response.get_data(as_text=True)
    assert client.get("/clinician/").status_code == 302


def test_email_is_matched_regardless_of_case(client, clinician):
    response = login_as(client, clinician.email.upper(), clinician.password)
    assert response.status_code == 302


def test_session_id_changes_at_login_and_the_old_cookie_is_not_signed_in(app, client, clinician):
    # Given an anonymous session cookie (B1)
    client.get("/login")
    before = session_cookie(client)
    assert before
    # When the person signs in
    login_as(client, clinician.email, clinician.password)
    after = session_cookie(client)
    # Then the cookie is new, and the pre-login one is not signed in
    assert after
    assert after != before
    other = app.test_client()
    other.set_cookie("__Host-roi_session", before)
    assert other.get("/clinician/").status_code == 302


def test_cookie_replayed_after_logout_is_refused(app, client, clinician):
    # Given a signed-in session whose cookie an attacker copied (B2)
    login_as(client, clinician.email, clinician.password)
    stolen = session_cookie(client)
    # When the person signs out
    response = logout(client)
    assert response.status_code == 302
    # Then the copied cookie is worthless
    thief = app.test_client()
    thief.set_cookie("__Host-roi_session", stolen)
    response = thief.get("/clinician/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")


def test_logout_needs_post_and_a_csrf_token(client, clinician):
    login_as(client, clinician.email, clinician.password)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/clinician/").status_code == 200


def test_idle_session_ends_after_thirty_minutes(client, clinician, session):
    login_as(client, clinician.email, clinician.password)
    start = now()
    # 29 minutes idle: still signed in
    with time_machine.travel(start.timestamp() + 29 * 60, tick=False):
        assert client.get("/clinician/").status_code == 200
    # 31 minutes after that request: signed out, told why, and the expiry is audited (B3)
    with time_machine.travel(start.timestamp() + 29 * 60 + 31 * 60, tick=False):
        response = client.get("/clinician/")
        assert response.status_code == 302
        page = client.get("/login")
        assert "without activity" in page.get_data(as_text=True)
    session.rollback()  # read what the app committed, not this session's old snapshot
    expired = session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "auth.session_expired")
    )
    assert expired == 1


def test_session_ends_after_twelve_hours_even_when_active(client, clinician):
    login_as(client, clinician.email, clinician.password)
    start = now().timestamp()
    # active every 20 minutes for 12 hours
    for step in range(1, 36):
        with time_machine.travel(start + step * 20 * 60, tick=False):
            assert client.get("/clinician/").status_code == 200
    with time_machine.travel(start + 12 * 3600 + 60, tick=False):
        assert client.get("/clinician/").status_code == 302


def test_session_cookie_flags_and_no_phi_inside(client, clinician):
    # B4: __Host- prefix, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain
    login_as(client, clinician.email, clinician.password)
    response = client.get("/clinician/")
    headers = [h for h in client.get("/login").headers.getlist("Set-Cookie")]
    login_page = client.application.test_client().get("/login")
    raw = login_page.headers["Set-Cookie"]
    cookie = SimpleCookie()
    cookie.load(raw)
    morsel = cookie["__Host-roi_session"]
    assert morsel["secure"]
    assert morsel["httponly"]
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/"
    assert not morsel["domain"]
    assert response.status_code == 200
    assert headers is not None
    # The payload holds a token and the CSRF secret only: no name or email
    from itsdangerous import base64_decode

    value = session_cookie(client)
    payload = value.split(".")[1] if not value.startswith(".") else value.split(".")[1]
    decoded = base64_decode(payload)
    assert clinician.user.name.encode() not in decoded
    assert clinician.email.encode() not in decoded


def test_there_is_no_remember_me(client, clinician):
    # B7: no remember field on the form, and no remember cookie after sign-in
    page = client.get("/login").get_data(as_text=True)
    assert "remember" not in page.lower()
    login_as(client, clinician.email, clinician.password)
    assert client.get_cookie("remember_token") is None


def test_login_without_csrf_token_is_refused(client, clinician):
    response = client.post(
        "/login", data={"email": clinician.email, "password": clinician.password}
    )
    assert response.status_code == 400
    assert client.get("/clinician/").status_code == 302


def test_csrf_token_from_another_session_is_refused(app, client, clinician):
    other = app.test_client()
    foreign_token = csrf_token(other.get("/login"))
    client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": clinician.email,
            "password": clinician.password,
            "csrf_token": foreign_token,
        },
    )
    assert response.status_code == 400
