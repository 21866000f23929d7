"""Stored and reflected XSS (SECURITY D5): names made of markup come back as text, and the CSP
would refuse an inline script anyway."""

from __future__ import annotations

import pytest
from markupsafe import escape

from roi.actor import Role
from tests.factories import make_client, make_provider, make_user
from tests.helpers import csrf_token, login_as

SCRIPT = '"><script>alert(1)</script>'
IMG = "<img src=x onerror=alert(2)>"
PROVIDER = "\"><script>alert(3)</script><img src=x onerror=alert(4)>'"
CLINICIAN_NAME = "<script>alert(5)</script>"
SEARCH = "<script>alert(6)</script>"
#: what must never reach a page as markup
RAW = ("<script>alert(", "<img src=x")


@pytest.fixture
def hostile(session):
    """A clinician, a client and a directory entry whose names are markup."""
    clinician = make_user(session, Role.CLINICIAN, name=CLINICIAN_NAME)
    client = make_client(session, clinician, given_name=SCRIPT, family_name=IMG)
    make_provider(session, clinician, name=PROVIDER)
    return clinician, client


def assert_escaped(html: str, *values: str) -> None:
    for raw in RAW:
        assert raw not in html
    for value in values:
        assert str(escape(value)) in html


def test_names_made_of_markup_are_shown_as_text(client, hostile):
    # Given a client, a provider and a clinician whose names are HTML and script
    clinician, stored = hostile
    login_as(client, clinician.email, clinician.password)
    # When the clinician opens the pages that show them
    pages = {
        "/clinician/": (CLINICIAN_NAME,),
        "/clinician/clients": (SCRIPT, IMG, CLINICIAN_NAME),
        f"/clinician/clients/{stored.id}": (SCRIPT, IMG),
        "/clinician/directory": (PROVIDER,),
    }
    for url, values in pages.items():
        response = client.get(url)
        # Then each name is escaped text, and no tag of them reaches the page
        assert response.status_code == 200, url
        assert_escaped(response.get_data(as_text=True), *values)


def test_search_terms_are_echoed_as_text(client, hostile):
    # Given a signed-in clinician
    clinician, _ = hostile
    login_as(client, clinician.email, clinician.password)
    # When they search clients (POST) and the directory (GET) for markup that matches nothing
    token = csrf_token(client.get("/clinician/clients"))
    clients = client.post("/clinician/clients", data={"q": SEARCH, "csrf_token": token})
    directory = client.get("/clinician/directory", query_string={"q": SEARCH})
    # Then the echoed search is escaped on both pages
    for response in (clients, directory):
        assert response.status_code == 200
        assert_escaped(response.get_data(as_text=True), SEARCH)


def test_csp_forbids_inline_scripts(client, hostile):
    # Given any page, signed in or not
    clinician, _ = hostile
    responses = [client.get("/login")]
    login_as(client, clinician.email, clinician.password)
    responses.append(client.get("/clinician/clients"))
    for response in responses:
        # Then the policy allows scripts from the app's own origin only: no inline, no eval
        directives = {
            part.split()[0]: part.split()[1:]
            for part in response.headers["Content-Security-Policy"].split(";")
            if part.strip()
        }
        scripts = directives.get("script-src", directives.get("default-src"))
        assert scripts is not None
        assert "'unsafe-inline'" not in scripts
        assert "'unsafe-eval'" not in scripts
        assert "*" not in scripts
        assert "data:" not in scripts
        assert directives.get("object-src") == ["'none'"]
        assert directives.get("base-uri") == ["'none'"]
