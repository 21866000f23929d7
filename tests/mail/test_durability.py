"""SECURITY I4: the app is killed between commit and delivery, the worker during delivery, again
and again. Every committed change's mail is delivered; none for a change that did not commit; a
mail is delivered at most twice (a worker killed after the server took it), with one Message-ID.

`ROI_OUTBOX_KILLS` sets the number of kill rounds (default 4; the catalogue asks 50 — run it so
now and then)."""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from roi import mail
from roi.actor import Role
from roi.clock import now
from roi.consent.models import Notification
from roi.mail.models import OutboxItem, OutboxStatus
from tests.factories import make_user

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

ROUNDS = int(os.environ.get("ROI_OUTBOX_KILLS", "4"))
ROOT = Path(__file__).resolve().parents[2]
#: how long a round may take to show progress before the test calls the children stuck
PATIENCE = 60.0


def spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.mail._outbox_child", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for(condition, what: str) -> None:
    """Wait until `condition()` holds: the children's progress is the event waited on."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"no progress: {what}"
        time.sleep(0.02)


def test_killing_the_app_and_the_worker_loses_no_mail_and_sends_none_twice_over(
    session, engine, database_url, instance_path, settings, smtp_server
):
    controller, handler = smtp_server
    smtp_url = f"smtp://127.0.0.1:{controller.port}"
    user = make_user(session, Role.CLINICIAN)
    rng = random.Random(20261129)

    def committed() -> int:
        session.rollback()
        return session.scalar(select(func.count(Notification.id))) or 0

    first = 0
    for _ in range(ROUNDS):
        # Given an app committing changes and a worker delivering their mail
        before_changes, before_mail = committed(), len(handler.received)
        writer = spawn(database_url, str(instance_path), "writer", str(user.user.id), str(first))
        worker = spawn(database_url, str(instance_path), "worker", smtp_url)
        try:
            wait_for(lambda at=before_changes: committed() > at + 5, "the app commits")
            wait_for(lambda at=before_mail: len(handler.received) > at, "the worker delivers")
            # When both are killed at a random moment
            time.sleep(rng.uniform(0, 0.05))
        finally:
            for child in (writer, worker):
                child.send_signal(signal.SIGKILL)
                child.wait()
        first += 100_000
    # And a worker runs once more after every lease has run out
    with time_machine.travel(now() + mail.outbox.LEASE, tick=False):
        smtp_settings = dataclasses.replace(settings, smtp_url=smtp_url)
        while mail.deliver_due(session, smtp_settings, limit=500).sent:
            pass
    # Then every committed change has its mail, and no mail is without its change
    session.rollback()
    changes = set(session.scalars(select(Notification.text)))
    received = [message_from_bytes(raw) for raw in handler.received]
    assert {str(m["Subject"]) for m in received} == changes
    # And a mail went out at most twice, always with the same Message-ID
    per_id = Counter(str(m["Message-ID"]) for m in received)
    assert max(per_id.values()) <= 2
    assert len(per_id) == len(changes)
    assert set(session.scalars(select(OutboxItem.status))) == {OutboxStatus.SENT}
