"""Real servers for tests that need a socket: the test app in a thread, or gunicorn in a process.

Both listen on 127.0.0.1 only, on a port the kernel chose for a socket bound before the server
starts (so parallel test processes never race for a port), and are stopped at teardown within
bounded time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import requests
from flask import Flask
from werkzeug.serving import make_server

HOST = "127.0.0.1"
#: how long gunicorn may take to answer its first request (argon2 and imports on 2 busy cores)
START_TIMEOUT = 45.0
STOP_TIMEOUT = 10.0
SECRET_KEY = "live-test-secret-key-not-for-production"


def listening_socket() -> socket.socket:
    """A socket listening on 127.0.0.1 on a port the kernel chose."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    sock.listen(64)
    return sock


@contextmanager
def serve_in_thread(app: Flask) -> Iterator[str]:
    """Serve `app` with werkzeug in a background thread; yields its base URL."""
    server = make_server(HOST, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=STOP_TIMEOUT)
        assert not thread.is_alive(), "the live server did not stop"


@dataclass
class Gunicorn:
    """A running gunicorn: its base URL and the files its stdout and stderr go to."""

    url: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def output(self) -> str:
        """Everything gunicorn and the app have written so far (access log, error log)."""
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")


@contextmanager
def gunicorn(
    instance_path: Path,
    database_url: str,
    log_dir: Path,
    *,
    workers: int = 2,
    extra_args: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
) -> Iterator[Gunicorn]:
    """Start `gunicorn roi.serving:served_app()` (as `roi serve` does) on a free port and wait
    until it answers GET /login.

    The parent binds the socket and gunicorn inherits it (`--bind fd://N`): no other process can
    take the port between choosing it and gunicorn listening on it.

    The app runs with its production settings (argon2 cost, Secure cookies) on the test database
    and the test key ring in `instance_path`.
    """
    sock = listening_socket()
    port = sock.getsockname()[1]
    env = {
        **os.environ,
        "ROI_INSTANCE_PATH": str(instance_path),
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        **(extra_env or {}),
    }
    for name in ("ROI_PROXY_HOPS", "ROI_KEYS", "ROI_SMTP_URL", "ROI_COOKIE_SECURE"):
        if extra_env is None or name not in extra_env:
            env.pop(name, None)
    stdout, stderr = log_dir / "gunicorn.out", log_dir / "gunicorn.err"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"fd://{sock.fileno()}",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        *extra_args,
        "roi.serving:served_app()",
    ]
    with stdout.open("wb") as out, stderr.open("wb") as err, sock:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=log_dir,
            stdout=out,
            stderr=err,
            start_new_session=True,
            pass_fds=(sock.fileno(),),
        )
    server = Gunicorn(f"http://{HOST}:{port}", process, stdout, stderr)
    try:
        _wait_until_up(server)
        yield server
    finally:
        _stop(process)


def _wait_until_up(server: Gunicorn) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(
                f"gunicorn exited with {server.process.returncode}:\n{server.output()}"
            )
        try:
            if requests.get(f"{server.url}/login", timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            # a loaded machine can take longer than one attempt's timeout to serve the first page
            pass
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer within {START_TIMEOUT} s:\n{server.output()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole process group (master and workers); SIGKILL if it lingers."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)
    # Workers die with the master; make sure no straggler of the group survives.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
