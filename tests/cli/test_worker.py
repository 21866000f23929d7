"""`roi worker`: `--once` delivers everything due and exits; the long-running worker delivers as
mail arrives and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from roi import mail
from roi.cli import roi_group
from roi.cli.worker import drain
from roi.db import commits_begun, unit_of_work
from roi.extensions import db

ROOT = Path(__file__).resolve().parents[2]


def enqueue(app, count: int) -> None:
    with app.app_context():
        with unit_of_work(db.session()):
            for n in range(count):
                mail.enqueue(
                    db.session(), mail.Mail(to=f"p{n}@example.org", subject="Hi", text=".")
                )
        db.session.remove()


def test_once_delivers_everything_due_across_batches(app, instance_path):
    # Given more mail than one batch
    enqueue(app, mail.outbox.BATCH + 5)
    # When the worker runs once
    result = app.test_cli_runner().invoke(roi_group, ["worker", "--once"], catch_exceptions=False)
    # Then all of it is delivered and counted
    assert result.exit_code == 0, result.output
    assert "delivered 25, to retry 0, failed 0" in result.output
    assert len(list((instance_path / "outbox").glob("*.eml"))) == 25


def test_an_idle_worker_looks_with_reads_alone_and_sees_mail_that_comes_later(app):
    settings = app.config["ROI_SETTINGS"]
    with app.app_context():
        session = db.session()
        before = commits_begun(session)
        # When the worker looks at an empty outbox with no link request waiting
        assert drain(settings) == mail.Delivery()
        # Then it took no write transaction (on SQLite, the app's one write turn), and it keeps
        # no read open until its next look
        assert commits_begun(session) == before
        assert not session.in_transaction()
        # And mail the app writes meanwhile goes out at its next look
        enqueue(app, 1)
        assert drain(settings).sent == 1


@pytest.mark.subprocess
def test_the_worker_delivers_as_mail_arrives_and_stops_on_sigterm(app, instance_path, database_url):
    env = {
        **os.environ,
        "ROI_INSTANCE_PATH": str(instance_path),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "roi.cli", "worker", "--interval", "0.05"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert "delivering the outbox" in (worker.stdout.readline() if worker.stdout else "")
        # When a mail is committed while it runs
        enqueue(app, 1)
        # Then it is delivered without anyone asking (the file is the event waited for)
        deadline = time.monotonic() + 30
        while not list((instance_path / "outbox").glob("*.eml")):
            assert time.monotonic() < deadline, "the worker delivered nothing"
            time.sleep(0.02)
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=30)
        if worker.stdout:
            worker.stdout.close()
    assert code == 0
