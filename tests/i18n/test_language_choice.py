"""Which language a page speaks: the browser's wish, the person's choice, kept on the account."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import render_template_string
from flask_login import login_user
from sqlalchemy import select

from roi.accounts.models import Organization, User
from roi.web.security import SignedIn
from tests.helpers import csrf_token, login_as, logout

SPANISH = {"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}


def test_a_browser_that_asks_for_spanish_gets_spanish_pages(client):
    page = client.get("/login", headers=SPANISH)
    html = page.get_data(as_text=True)
    assert '<html lang="es">' in html
    # the switch offers the other language, named in itself
    assert 'lang="en" class="link-button">English</button>' in html


def test_a_browser_that_asks_for_neither_language_gets_english(client):
    html = client.get("/login", headers={"Accept-Language": "de-DE,fr;q=0.8"}).get_data(
        as_text=True
    )
    assert '<html lang="en">' in html


def test_the_choice_beats_the_browser_and_is_kept_on_the_account(session, client, clinician):
    login_as(client, clinician.email, clinician.password)
    token = csrf_token(client.get("/", follow_redirects=True))
    response = client.post(
        "/language", data={"language": "es", "next": "/clinician/", "csrf_token": token}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/clinician/"
    user = session.scalar(select(User).where(User.email == clinician.email))
    session.commit()  # a fresh read of what the request wrote
    user = session.scalar(select(User).where(User.email == clinician.email))
    assert user.language == "es"
    # a new sign-in, from a browser that asks for English, still speaks Spanish
    logout(client)
    login_as(client, clinician.email, clinician.password)
    html = client.get("/", follow_redirects=True, headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert '<html lang="es">' in html


def test_the_choice_made_on_the_sign_in_page_survives_signing_in(client, clinician):
    token = csrf_token(client.get("/login"))
    client.post("/language", data={"language": "es", "next": "/login", "csrf_token": token})
    login_as(client, clinician.email, clinician.password)
    html = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert '<html lang="es">' in html


def test_the_switch_returns_only_to_pages_of_this_site(client):
    token = csrf_token(client.get("/login"))
    hostile_paths = (
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        # what a page's own "next" holds for /%09/evil.example/login: browsers drop the tab
        "/\t/evil.example/login",
        "/\n/evil.example",
        "/\r\n/x",
        "/ /evil.example",
        "/.\\evil.example",
    )
    for hostile in hostile_paths:
        response = client.post(
            "/language", data={"language": "es", "next": hostile, "csrf_token": token}
        )
        assert response.headers["Location"] == "/"


def test_an_unknown_language_or_a_missing_token_changes_nothing(client):
    token = csrf_token(client.get("/login"))
    client.post("/language", data={"language": "xx", "next": "/login", "csrf_token": token})
    client.post("/language", data={"language": "es", "next": "/login"})
    html = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="en">' in html


# Spain's Spanish has no names for American zones ("-0600" tells a reader in Chicago little):
# a Spanish page names them as an English one does
@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("en", "30 Nov 2026, 09:05 CST / 30 Nov 2026, 15:05:00 UTC"),
        ("es", "30 nov 2026, 09:05 CST / 30 nov 2026, 15:05:00 UTC"),
    ],
)
def test_times_show_in_the_practice_time_zone_with_the_zone_named(
    app, session, clinician, language, shown
):
    user = session.scalar(select(User).where(User.email == clinician.email))
    session.get(Organization, user.organization_id).time_zone = "America/Chicago"
    user.language = language
    session.commit()
    moment = datetime(2026, 11, 30, 15, 5, tzinfo=UTC)
    with app.test_request_context("/"):
        login_user(SignedIn(user))
        assert (
            render_template_string("{{ moment|when }} / {{ moment|when_utc }}", moment=moment)
            == shown
        )
