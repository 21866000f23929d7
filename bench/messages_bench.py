"""Message sending under gunicorn against a bare Flask endpoint doing one indexed read.

    python bench/messages_bench.py [--clients 50] [--seconds 30] [--rounds 6] [--threads 4]
                                   [--workers 2] [--database-url URL]

Creates a temporary instance with `roi init`, seeds one practice with a therapist and a
psychiatrist (each with a directory entry) and K clients, each with an active two-way release
between the two (inserted directly with the timestamps signing leaves: the send path never reads
the signature), and serves the real app the way `roi serve` does: gunicorn, sync workers, access
log through roi's masking logger. Beside it, bench/bare_app.py under the same gunicorn settings
serves `POST /bare/messages`, which reads one row through `ix_consents_client_id_status`.

The same client drives both, alternating in rounds (bare, roi, roi, bare, ...: this machine's
speed drifts within a run, and the order cancels a steady drift): threads, each with its own
`requests` session, posting the same JSON for a fixed time; the API calls carry a bearer token from
`POST /api/v1/tokens`. Prints requests/second for each and the ratio (goal: sending at least 0.3
of the bare endpoint's throughput). Every send must be answered 201.

SQLite by default (a file in the instance folder); with --database-url (PostgreSQL) everything
happens in a fresh schema that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyotp
import requests
from sqlalchemy import create_engine, make_url, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout

from roi import create_app, vault  # noqa: E402
from roi.accounts import mfa, service  # noqa: E402
from roi.accounts.models import Provider  # noqa: E402
from roi.actor import Actor, Role  # noqa: E402
from roi.clock import now  # noqa: E402
from roi.consent.library import FormLibrary  # noqa: E402
from roi.consent.models import Consent, ConsentStatus, Direction  # noqa: E402
from roi.db import new_uuid, unit_of_work  # noqa: E402
from roi.extensions import db  # noqa: E402

GOAL = 0.3
HOST = "127.0.0.1"
START_TIMEOUT = 60.0
PASSWORD = "bench violet kettle harbor thunder"  # noqa: S105 - a throwaway instance
THERAPIST = "therapist@bench.example"
SUBJECT = "Follow-up after this week's session"
BODY = (
    "Dr. Okafor, thank you for seeing our client. Working diagnosis remains generalized anxiety "
    "disorder (F41.1); sleep has improved since the last review and panic episodes are down to "
    "about one a week. Could we compare notes before the medication review on the 14th? "
    "Best, Dana"
)
#: settings a caller's shell may carry that would change what is measured
STRAY_SETTINGS = ("ROI_KEYS", "ROI_PROXY_HOPS", "ROI_SMTP_URL", "ROI_COOKIE_SECURE")


@dataclass(frozen=True)
class Seeded:
    recipient_provider_id: int
    client_ids: list[int]
    #: the therapist's authenticator secret (practices require a second factor of staff)
    totp_secret: str


@dataclass
class Tally:
    requests: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    first_error: str | None = None

    def rate(self) -> float:
        return self.requests / self.seconds


# --- the instance --------------------------------------------------------------------------------


def environment(instance: Path, database_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "ROI_INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(32),
    }
    for name in STRAY_SETTINGS:
        env.pop(name, None)
    return env


def initialize(env: dict[str, str], folder: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "roi.cli", "init"],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"roi init failed:\n{done.stdout}{done.stderr}")


def seed(env: dict[str, str], clients: int) -> Seeded:
    """Accounts through roi's services; releases inserted directly, already active."""
    os.environ.clear()
    os.environ.update(env)  # create_app() reads its settings from the environment
    app = create_app()
    with app.app_context():
        session = db.session()
        settings = app.config["ROI_SETTINGS"]
        library: FormLibrary = app.extensions["roi.forms"]

        def clinician(email: str, name: str, practice: str) -> tuple[Actor, int]:
            user = service.create_user(
                session,
                Actor.system(),
                email=email,
                password=PASSWORD,
                role=Role.CLINICIAN,
                name=name,
                organization=practice,
                client_id=None,
                argon2=settings.argon2,
            )
            provider = session.scalar(select(Provider.id).where(Provider.user_id == user.id))
            assert provider is not None  # noqa: S101 - clinicians get a directory entry
            return Actor(user.id, Role.CLINICIAN, user.organization_id), provider

        therapist, therapist_provider = clinician(THERAPIST, "Dana Whitfield", "Bench Counseling")
        secret = mfa.begin_totp(session, therapist, THERAPIST).secret
        totp = pyotp.TOTP(secret)
        # the previous step's code, so the token request's current code is a later, unused one
        mfa.confirm_totp(session, therapist, totp.generate_otp(totp.timecode(now()) - 1))
        _, psychiatrist_provider = clinician(
            "psychiatrist@bench.example", "Samuel Okafor", "Bench Psychiatry"
        )
        form = library.get("general-authorization")
        signed = now() - timedelta(days=3)
        client_ids = []
        for number in range(clients):
            record = service.create_client(
                session,
                therapist,
                service.NewClient(f"Client{number}", "Bench", date(1980, 1, 1), None),
            )
            client_ids.append(record.id)
        with unit_of_work(session):
            for client_id in client_ids:
                row = new_uuid()
                session.add(
                    Consent(
                        uuid=row,
                        client_id=client_id,
                        organization_id=therapist.organization_id,
                        discloser_provider_id=therapist_provider,
                        recipient_provider_id=psychiatrist_provider,
                        created_by_id=therapist.user_id,
                        template_id=form.id,
                        template_version=form.version,
                        kind=form.kind,
                        categories=["diagnosis", "medications", "treatment_plan"],
                        purposes=["treatment", "medication_management"],
                        information_description_sealed=vault.seal(
                            b"Diagnosis, medications and treatment plan.",
                            vault.Place("consents", "information_description_sealed", row),
                        ),
                        expires_on=signed.date() + timedelta(days=365),
                        direction=Direction.TWO_WAY,
                        status=ConsentStatus.ACTIVE,
                        created_at=signed - timedelta(days=1),
                        sent_at=signed - timedelta(hours=20),
                        signed_at=signed,
                        document_sha256=secrets.token_hex(32),
                    )
                )
        db.session.remove()
        db.engine.dispose()
    return Seeded(psychiatrist_provider, client_ids, secret)


# --- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(
    app: str, env: dict[str, str], folder: Path, workers: int, probe: str
) -> Iterator[str]:
    """gunicorn as `roi serve` runs it (sync workers, access log to stdout through roi's masking
    logger); yields its base URL once `probe` answers 200, and stops its process group after."""
    port = free_port()
    name = app.split(":")[0]
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"{HOST}:{port}",
        "--access-logfile",
        "-",
        "--logger-class",
        "roi.serving.MaskingLogger",
        "--timeout",
        "60",
        app,
    ]
    out, err = folder / f"{name}.out", folder / f"{name}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(  # noqa: S603 - gunicorn from this interpreter
            command, env=env, cwd=folder, stdout=stdout, stderr=stderr, start_new_session=True
        )
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{app} did not start:\n{err.read_text(errors='replace')}")
            with suppress(requests.RequestException):  # not listening yet, or still booting
                if requests.get(url + probe, timeout=10).status_code == 200:
                    break
            time.sleep(0.2)
        yield url
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group this script started; SIGKILL it if it lingers."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


# --- the load ------------------------------------------------------------------------------------


def token_for(url: str, seeded: Seeded) -> str:
    otp = pyotp.TOTP(seeded.totp_secret).now()
    response = requests.post(
        f"{url}/api/v1/tokens",
        json={"email": THERAPIST, "password": PASSWORD, "otp": otp},
        timeout=30,
    )
    if response.status_code != 201:
        raise SystemExit(f"could not get a token: {response.status_code} {response.text}")
    return str(response.json()["token"])


def drive(
    url: str, headers: dict[str, str], seeded: Seeded, threads: int, seconds: float, tally: Tally
) -> None:
    """`threads` clients posting as fast as answers come, for `seconds`; adds to `tally`."""
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def client(number: int) -> None:
        with requests.Session() as http:
            http.headers.update(headers)
            ids = seeded.client_ids
            sent = 0
            while time.perf_counter() < deadline:
                body: dict[str, Any] = {
                    "client_id": ids[(number + sent * threads) % len(ids)],
                    "recipient_provider_id": seeded.recipient_provider_id,
                    "categories": ["diagnosis"],
                    "purpose": "treatment",
                    "subject": SUBJECT,
                    "body": BODY,
                }
                began = time.perf_counter()
                response = http.post(url, json=body, timeout=60)
                took = time.perf_counter() - began
                sent += 1
                with lock:
                    tally.requests += 1
                    tally.statuses[response.status_code] += 1
                    tally.latencies.append(took)
                    if response.status_code != 201 and tally.first_error is None:
                        tally.first_error = f"{response.status_code} {response.text[:300]}"

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    tally.seconds += time.perf_counter() - start


# --- running -------------------------------------------------------------------------------------


@contextmanager
def database(folder: Path, url: str | None) -> Iterator[str]:
    """The URL roi and the bare app share: a SQLite file, or a fresh PostgreSQL schema."""
    if not url:
        yield f"sqlite:///{folder / 'instance' / 'roi.db'}"
        return
    schema = f"roi_bench_{secrets.token_hex(4)}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def line(label: str, tally: Tally) -> str:
    median = 1000 * statistics.median(tally.latencies)
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(tally.statuses.items()))
    return (
        f"{label:34} {tally.rate():8.1f} req/s   median {median:6.1f} ms   "
        f"({tally.requests} requests; {statuses})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="clients with a release")
    parser.add_argument("--seconds", type=float, default=30.0, help="of load on each server")
    parser.add_argument("--threads", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each server")
    parser.add_argument("--rounds", type=int, default=6, help="alternations between the two")
    parser.add_argument("--database-url", help="a PostgreSQL URL (a scratch database)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        with database(folder, args.database_url) as url:
            env = environment(folder / "instance", url)
            start = time.perf_counter()
            initialize(env, folder)
            seeded = seed(env, args.clients)
            print(f"instance ready (roi init + seeding) in {time.perf_counter() - start:.1f} s")
            run(args, env, folder, seeded, make_url(url).get_backend_name())


def run(
    args: argparse.Namespace, env: dict[str, str], folder: Path, seeded: Seeded, backend: str
) -> None:
    bare_env = {**env, "PYTHONPATH": str(ROOT / "bench")}
    tallies = {"bare": Tally(), "roi": Tally()}
    with (
        gunicorn("roi.serving:served_app()", env, folder, args.workers, "/login") as roi_url,
        gunicorn("bare_app:create_app()", bare_env, folder, args.workers, "/health") as bare,
    ):
        token = token_for(roi_url, seeded)
        targets: dict[str, tuple[str, dict[str, Any]]] = {
            "bare": (f"{bare}/bare/messages", {}),
            "roi": (f"{roi_url}/api/v1/messages", {"Authorization": f"Bearer {token}"}),
        }
        for url, headers in targets.values():  # first requests import and connect
            drive(url, headers, seeded, args.threads, 1.0, Tally())
        share = args.seconds / args.rounds
        order = list(targets)
        for _ in range(args.rounds):
            for which in order:
                url, headers = targets[which]
                drive(url, headers, seeded, args.threads, share, tallies[which])
            # bare, roi, roi, bare, ...: a machine that speeds up or slows down during the run
            # weighs on both alike
            order.reverse()
    bare_tally, roi_tally = tallies["bare"], tallies["roi"]
    print(
        f"\n== {backend}: gunicorn {args.workers} workers each, {args.threads} client threads, "
        f"{args.rounds} x {share:.0f} s on each, {len(seeded.client_ids)} clients"
    )
    print(line("bare Flask, one indexed read", bare_tally))
    print(line("POST /api/v1/messages", roi_tally))
    ratio = roi_tally.rate() / bare_tally.rate()
    verdict = "PASS" if ratio >= GOAL else "MISS"
    print(f"ratio messages/bare: {ratio:.2f} (goal >= {GOAL}) {verdict}")
    for label, tally in tallies.items():
        if tally.first_error is not None:
            print(f"!! {label}: not every answer was 201, e.g. {tally.first_error}")


if __name__ == "__main__":
    main()
