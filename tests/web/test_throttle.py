"""The failed sign-in throttle (SECURITY A2): per account, shared by every worker, deaf to
X-Forwarded-For, and no global lockout."""

from __future__ import annotations

import re

import pytest
import requests
import time_machine

from roi.clock import now
from tests.helpers import csrf_token, totp_code
from tests.live import gunicorn

ACCOUNT_LIMIT = 10
ALERT = re.compile(r'<div class="alert alert-error" role="alert"><p>(.*?)</p></div>', re.S)


def alert_text(html: str) -> str:
    match = ALERT.search(html)
    assert match, "the page shows no error"
    return match.group(1).strip()


def post_login(client, email: str, password: str):
    token = csrf_token(client.get("/login"))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def server(instance_path, database_url, tmp_path):
    with gunicorn(instance_path, database_url, tmp_path) as running:
        yield running


@pytest.mark.subprocess
@pytest.mark.slow
def test_spoofed_forwarded_for_does_not_reset_the_account_throttle(
    server, app, clinician, compliance
):
    # Given gunicorn with 2 workers (the counter must be shared, not per process), and
    # 10 wrong passwords for account X, each claiming another client address
    tokens = f"{server.url}/api/v1/tokens"
    for n in range(ACCOUNT_LIMIT):
        response = requests.post(
            tokens,
            json={"email": clinician.email, "password": f"wrong password {n}"},
            headers={"X-Forwarded-For": f"203.0.113.{n + 1}"},
            timeout=30,
        )
        assert response.status_code == 401, response.text
    # When the 11th attempt comes with the CORRECT password, from yet another spoofed address
    response = requests.post(
        tokens,
        json={"email": clinician.email, "password": clinician.password},
        headers={"X-Forwarded-For": "198.51.100.77"},
        timeout=30,
    )
    # Then it is refused, and no token is issued
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "rate_limited"
    assert "token" not in response.json()
    assert int(response.headers["Retry-After"]) > 0
    # And account Y, from the same client address, still signs in: no global lockout
    otp = totp_code(app, compliance.email)
    response = requests.post(
        tokens,
        json={"email": compliance.email, "password": compliance.password, "otp": otp},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.json()["token"]


def test_login_form_throttles_an_account_without_telling_whether_it_exists(client, clinician):
    # Given a frozen clock (so the wait the page names cannot differ between the two cases)
    with time_machine.travel(now(), tick=False):
        # And 10 wrong passwords for a real account through the sign-in form
        for n in range(ACCOUNT_LIMIT):
            response = post_login(client, clinician.email, f"wrong password {n}")
            assert response.status_code == 200
        # When the right password is given
        known = post_login(client, clinician.email, clinician.password)
        # Then it is refused with 429 saying when to come back, and the person is not signed in
        assert known.status_code == 429
        assert int(known.headers["Retry-After"]) > 0
        assert client.get("/clinician/").status_code == 302
        # When an unknown email fails 10 times, then tries once more
        unknown_email = "nobody-here@example.org"
        for n in range(ACCOUNT_LIMIT):
            assert post_login(client, unknown_email, f"wrong password {n}").status_code == 200
        unknown = post_login(client, unknown_email, "any password at all")
    # Then the refusal is the same, word for word, and says nothing about the account
    assert unknown.status_code == 429
    message = alert_text(known.get_data(as_text=True))
    assert message == alert_text(unknown.get_data(as_text=True))
    assert "Too many sign-in attempts" in message
    for revealing in ("account", "exist", "unknown", "locked", "password", "@"):
        assert revealing not in message.lower()
