"""The app as it is deployed: gunicorn with two workers, production settings (SECURITY D3)."""

from __future__ import annotations

import pytest
import requests

from tests.live import gunicorn

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


@pytest.fixture
def server(instance_path, database_url, tmp_path):
    with gunicorn(instance_path, database_url, tmp_path) as running:
        yield running


def test_app_starts_under_gunicorn_with_security_headers(server):
    # Given gunicorn serving roi.serving:served_app() with 2 workers
    # When anyone asks for the sign-in page (several times, so both workers are likely asked)
    responses = [requests.get(f"{server.url}/login", timeout=10) for _ in range(4)]
    # Then it is served, with the security headers, by every worker
    for response in responses:
        assert response.status_code == 200
        assert "Sign in to roi" in response.text
        headers = response.headers
        hsts = headers["Strict-Transport-Security"]
        max_age = int(hsts.split("max-age=")[1].split(";")[0])
        assert max_age >= 31536000
        csp = [part.strip() for part in headers["Content-Security-Policy"].split(";")]
        assert "frame-ancestors 'none'" in csp
        script_src = next(p for p in csp if p.startswith("script-src"))
        assert "'unsafe-inline'" not in script_src
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert "no-store" in headers["Cache-Control"]
        # Production cookie: __Host- prefix, Secure, HttpOnly, SameSite=Lax
        cookie = headers["Set-Cookie"]
        assert cookie.startswith("__Host-roi_session=")
        assert "Secure" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
    # And two worker processes are serving
    assert server.process.poll() is None
    assert server.output().count("Booting worker") == 2
