"""Security headers on every response (SECURITY D3) and CSRF on every state change (D1)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from roi.accounts.models import Client
from tests.helpers import csrf_token, login_as


def assert_security_headers(response, *, authenticated: bool) -> None:
    headers = response.headers
    max_age = int(headers["Strict-Transport-Security"].split("max-age=")[1].split(";")[0])
    assert max_age >= 31536000
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    if authenticated:
        assert headers["Cache-Control"] == "no-store"


def test_headers_on_public_pages_and_errors(client):
    for url in ("/login", "/no-such-page", "/api/v1/openapi.json", "/api/v1/clients"):
        assert_security_headers(client.get(url), authenticated=False)


def test_headers_on_authenticated_pages(client, clinician, own_client):
    login_as(client, clinician.email, clinician.password)
    for url in ("/clinician/", "/clinician/clients", f"/clinician/clients/{own_client.id}"):
        response = client.get(url)
        assert response.status_code == 200
        assert_security_headers(response, authenticated=True)


def test_state_changes_without_a_valid_token_change_nothing(app, client, session, clinician):
    # D1: no token, a token of another session, a token in the query string
    login_as(client, clinician.email, clinician.password)
    form = {"given_name": "Ana", "family_name": "Lima", "birth_date": "1990-01-01"}
    other = app.test_client()
    foreign = csrf_token(other.get("/login"))
    own = csrf_token(client.get("/clinician/clients/new"))
    assert client.post("/clinician/clients/new", data=form).status_code == 400
    assert (
        client.post("/clinician/clients/new", data={**form, "csrf_token": foreign}).status_code
        == 400
    )
    assert client.post(f"/clinician/clients/new?csrf_token={own}", data=form).status_code == 400
    session.rollback()
    assert session.scalar(select(func.count(Client.id))) == 0
    # and with the page's own token it works
    response = client.post("/clinician/clients/new", data={**form, "csrf_token": own})
    assert response.status_code == 302


def test_expired_csrf_token_is_refused(app, client, clinician):
    import time_machine

    from roi.clock import now

    login_as(client, clinician.email, clinician.password)
    token = csrf_token(client.get("/clinician/clients/new"))
    form = {
        "given_name": "Ana",
        "family_name": "Lima",
        "birth_date": "1990-01-01",
        "csrf_token": token,
    }
    with time_machine.travel(now().timestamp() + 2 * 3600, tick=False):
        response = client.post("/clinician/clients/new", data=form)
    assert response.status_code in (302, 400)
    # either the session ended (idle) or the token expired: in neither case a client was made
    assert "Lima" not in client.get("/clinician/clients").get_data(as_text=True)


def test_a_request_id_is_taken_only_from_the_configured_proxy(app_overrides):
    from roi import create_app

    chosen = {"X-Request-Id": "someone-elses-request-1234"}
    # Without a proxy in front, a caller cannot pass their request off as another's: the id
    # logged and audited is roi's own
    direct = create_app(app_overrides).test_client().get("/login", headers=chosen)
    assert direct.headers["X-Request-Id"] != chosen["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{16}", direct.headers["X-Request-Id"])
    # Behind the configured proxy, its id is kept, so the proxy's log and roi's agree
    proxied = create_app({**app_overrides, "proxy_hops": 1}).test_client()
    assert proxied.get("/login", headers=chosen).headers["X-Request-Id"] == chosen["X-Request-Id"]
