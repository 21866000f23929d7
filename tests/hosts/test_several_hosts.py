"""SECURITY I5: two hosts, one practice. Two gunicorn servers and two `roi worker` processes on
one PostgreSQL database, sharing SECRET_KEY and the key ring, behave as one host: a session
started on A is one session on B, the sign-in throttle counts on both, a revocation on A stops a
send on B at once, and each mail is delivered once.

Host A reads the key ring from its instance folder's keys.json, host B from ROI_KEYS (the same
JSON, as a secret manager would inject it). One local SMTP server is the practice's mail server.
The processes are started once and every check runs against them, in one test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from roi.actor import Role
from roi.mail.models import OutboxItem, OutboxStatus
from roi.vault.keyring import KEY_FILE
from tests.conftest import POSTGRES_URL
from tests.consent.conftest import Referral
from tests.factories import Person, make_user
from tests.helpers import CSRF_PATTERN, SECOND_STEP, bearer, fresh_totp_code
from tests.live import SECRET_KEY, gunicorn

pytestmark = [
    pytest.mark.subprocess,
    pytest.mark.slow,
    pytest.mark.skipif(
        POSTGRES_URL is None,
        reason="several hosts share one PostgreSQL database; SQLite serves a single host",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
MAIL_DOMAIN = "practice.example"
ACCOUNT_LIMIT = 10
#: the session cookie's name when cookies are not marked Secure
COOKIE = "roi_session"
SENDS = 12
#: how long the workers may take to deliver everything, and to stop, on 2 busy cores
PATIENCE = 30.0
TIMEOUT = 30


@dataclass(frozen=True)
class Host:
    """One host of the practice: its app server's address and the environment it runs with."""

    name: str
    url: str
    env: dict[str, str]


def host_env(instance: Path, database_url: str, smtp_port: int) -> dict[str, str]:
    """What every host is given alike (the instance folder may differ)."""
    return {
        "ROI_INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "ROI_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "ROI_MAIL_FROM": f"roi@{MAIL_DOMAIN}",
        "ROI_BASE_URL": "https://roi.practice.example",
        # requests will not send a Secure cookie over plain http; cookie flags are tested elsewhere
        "ROI_COOKIE_SECURE": "0",
        "PYTHONUNBUFFERED": "1",
    }


def process_env(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment (PYTHONPATH, PATH) with a host's settings."""
    env = {**os.environ, **settings}
    if "ROI_KEYS" not in settings:
        env.pop("ROI_KEYS", None)
    return env


@contextmanager
def worker(settings: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start `roi worker` with a host's settings, polling often so the two workers contend;
    whether it is up yet shows in `log`."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "roi.cli", "worker", "--interval", "0.05"],
            cwd=ROOT,
            env=process_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM: the worker finishes the batch in hand, then exits."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll observable state until it holds, within a bounded time."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def csrf(http: requests.Session, url: str) -> str:
    match = CSRF_PATTERN.search(http.get(url, timeout=TIMEOUT).text)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def api_token(host: Host, email: str, password: str, otp: str | None = None) -> requests.Response:
    body = {"email": email, "password": password} | ({"otp": otp} if otp else {})
    return requests.post(f"{host.url}/api/v1/tokens", json=body, timeout=TIMEOUT)


def send(host: Host, token: str, referral: Referral, n: int) -> requests.Response:
    return requests.post(
        f"{host.url}/api/v1/messages",
        headers=bearer(token),
        json={
            "client_id": referral.client_id,
            "recipient_provider_id": referral.recipient_id,
            "categories": ["diagnosis"],
            "purpose": "treatment",
            "subject": f"Medication review {n}",
            "body": "Summary of the current medications.",
        },
        timeout=TIMEOUT,
    )


def check_sessions_are_shared(a: Host, b: Host, person: Person, session: Session) -> None:
    """A session started on A is a session on B; signing out on A ends it on B."""
    # Given a person signed in through host A's form, in a browser that sends its cookie to
    # both hosts (as behind one load balancer: cookies do not tell ports apart)
    browser = requests.Session()
    token = csrf(browser, f"{a.url}/login")
    signed_in = browser.post(
        f"{a.url}/login",
        data={"email": person.email, "password": person.password, "csrf_token": token},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert signed_in.status_code == 302, signed_in.text
    assert COOKIE in signed_in.cookies
    # (and the second step, on A too)
    second = browser.post(
        f"{a.url}{SECOND_STEP}",
        data={
            "code": fresh_totp_code(session, person.email),
            "csrf_token": csrf(browser, f"{a.url}{SECOND_STEP}"),
        },
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert second.status_code == 302, second.text
    # When the next request, with the cookie A set, reaches host B
    on_b = browser.get(f"{b.url}/clinician/", allow_redirects=False, timeout=TIMEOUT)
    # Then B serves the person's dashboard
    assert on_b.status_code == 200, on_b.headers.get("Location")
    # When the person signs out on A, with the CSRF token of the page B served
    kept = {COOKIE: browser.cookies[COOKIE]}
    token = CSRF_PATTERN.search(on_b.text).group(1)  # type: ignore[union-attr]
    out = browser.post(
        f"{a.url}/logout", data={"csrf_token": token}, allow_redirects=False, timeout=TIMEOUT
    )
    assert out.status_code == 302
    # Then the cookie as it was before signing out, replayed on B, no longer signs anyone in
    replayed = requests.get(
        f"{b.url}/clinician/", cookies=kept, allow_redirects=False, timeout=TIMEOUT
    )
    assert replayed.status_code == 302
    assert replayed.headers["Location"].endswith("/login")


def check_the_throttle_counts_on_both(a: Host, b: Host, person: Person) -> None:
    """Wrong passwords tried on A and on B add up to one limit, which both hosts enforce."""
    # Given the account limit of wrong passwords, half on each host
    for n in range(ACCOUNT_LIMIT):
        host = (a, b)[n % 2]
        response = api_token(host, person.email, f"wrong password {n}")
        assert response.status_code == 401, f"{host.name}: {response.text}"
    # When the right password is given on either host
    for host in (a, b):
        response = api_token(host, person.email, person.password)
        # Then it is refused: neither host counted only its own half
        assert response.status_code == 429, f"{host.name}: {response.text}"
        assert response.json()["error"] == "rate_limited"
        assert "token" not in response.json()


def check_a_revocation_on_a_stops_a_send_on_b(
    a: Host, b: Host, referral: Referral, consent_id: int, session: Session
) -> None:
    """Messages go out under the consent from both hosts until the client revokes it on A; the
    very next send on B is refused."""
    therapist = referral.therapist
    client = referral.client_person
    # Given the therapist's API token, issued by B and honoured by A as well
    otp = fresh_totp_code(session, therapist.email)
    response = api_token(b, therapist.email, therapist.password, otp)
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    # And messages sent under the active consent through both hosts (each mails the recipient)
    for n in range(SENDS):
        response = send((a, b)[n % 2], token, referral, n)
        assert response.status_code == 201, response.text
        assert response.json()["consent_id"] == consent_id
    # When the client revokes the consent through host A
    response = api_token(a, client.email, client.password)
    assert response.status_code == 201, response.text
    revoked = requests.post(
        f"{a.url}/api/v1/consents/{consent_id}/revocation",
        headers=bearer(response.json()["token"]),
        json={},
        timeout=TIMEOUT,
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    # Then the next send, on host B, is refused at once, naming the revocation
    refused = send(b, token, referral, SENDS)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "consent_required"
    assert "consent_revoked" in [reason["code"] for reason in refused.json()["reasons"]]


def test_two_hosts_and_two_workers_on_one_database_behave_as_one_host(
    tmp_path, instance_path, database_url, session, referral, smtp_server
):
    controller, handler = smtp_server
    keys = (instance_path / KEY_FILE).read_text()
    folders = {name: tmp_path / name for name in ("a", "b")}
    for folder in folders.values():
        (folder / "instance").mkdir(parents=True)
    # A keeps the key ring in its instance folder; B is given the same ring in ROI_KEYS
    (folders["a"] / "instance" / KEY_FILE).write_text(keys)
    envs = {
        "a": host_env(folders["a"] / "instance", database_url, controller.port),
        "b": {
            **host_env(folders["b"] / "instance", database_url, controller.port),
            "ROI_KEYS": keys,
        },
    }
    # The practice's data (the consent's signing mail waits in the outbox)
    consent_id = referral.signed(session).id
    officer = make_user(session, Role.COMPLIANCE, name="Priya Raman")
    session.rollback()

    with ExitStack() as stack:
        # Given a worker on each host (starting while the app servers do)
        logs = [folders[name] / "worker.log" for name in ("a", "b")]
        workers = [
            stack.enter_context(worker(envs[name], log))
            for name, log in zip("ab", logs, strict=True)
        ]
        # And two app servers on different ports, one database, the same secret and keys
        a, b = (
            Host(
                name.upper(),
                stack.enter_context(
                    gunicorn(
                        folders[name] / "instance",
                        database_url,
                        folders[name],
                        workers=1,
                        extra_env=envs[name],
                    )
                ).url,
                envs[name],
            )
            for name in ("a", "b")
        )
        for log in logs:
            wait_for(lambda log=log: "delivering the outbox" in log.read_text(), f"{log} starts")

        check_sessions_are_shared(a, b, referral.therapist, session)
        check_the_throttle_counts_on_both(a, b, officer)
        check_a_revocation_on_a_stops_a_send_on_b(a, b, referral, consent_id, session)

        # When every mail written so far has reached the mail server
        session.rollback()
        uuids = set(session.scalars(select(OutboxItem.uuid)))
        # (the signing link, a notice per send, the revocation's notices)
        assert len(uuids) > SENDS
        wait_for(lambda: len(handler.received) >= len(uuids), "every mail is delivered")
        # And both workers stop, so nothing they hold can still arrive
        for process in workers:
            stop(process)
            assert process.returncode == 0
        # Then each outbox item was delivered exactly once, under its own Message-ID
        received = Counter(str(message_from_bytes(raw)["Message-ID"]) for raw in handler.received)
        assert received == Counter(f"<{uuid}@{MAIL_DOMAIN}>" for uuid in uuids)
        session.rollback()
        assert set(session.scalars(select(OutboxItem.status))) == {OutboxStatus.SENT}
        # And one more worker on the same database finds nothing left to deliver
        once = subprocess.run(
            [sys.executable, "-m", "roi.cli", "worker", "--once"],
            cwd=ROOT,
            env=process_env(a.env),
            capture_output=True,
            text=True,
            timeout=PATIENCE * 2,
            check=False,
        )
        assert once.returncode == 0, once.stderr
        assert "delivered 0, to retry 0, failed 0" in once.stdout
        assert len(handler.received) == len(uuids)
