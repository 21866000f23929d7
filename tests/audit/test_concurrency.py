"""Concurrent writers never fork the chain nor leave a gap; a killed writer leaves no orphan.

Under pytest-xdist these run in the `concurrency` group (one worker, one after another, with the
other race tests), so their 8 threads or 4 processes contend with each other, not with a second
race test for the 2 cores.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from roi import audit
from roi.accounts.models import Organization
from roi.actor import Actor, Role
from roi.audit import Action, AuditEntry
from roi.db import unit_of_work
from roi.vault.keyring import KEY_FILE
from tests.audit.helpers import append

ROOT = Path(__file__).resolve().parents[2]
#: writers killed mid-work in the crash test (each commits at least once before it is killed)
KILLS = 20
pytestmark = pytest.mark.xdist_group("concurrency")


def _assert_gapless_and_verified(session: Session, count: int) -> None:
    seqs = session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)).all()
    assert seqs == list(range(1, count + 1))
    result = audit.verify(session)
    assert (result.ok, result.entries) == (True, count), result


def _in_eight_threads(engine: Engine, work: Callable[[Session, Actor], None]) -> None:
    """`work` in 8 threads released at once, each with its own session and actor; fails if any
    thread met an error."""
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        actor = Actor(user_id=n, role=Role.CLINICIAN, organization_id=1)
        try:
            with Session(engine) as own:
                start.wait()
                work(own, actor)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_threads_append_without_forks_or_gaps(engine: Engine, session: Session) -> None:
    # Given 8 threads, each with its own session, appending 25 entries each at the same time
    _in_eight_threads(engine, lambda own, actor: append(own, 25, actor))
    # Then every append succeeded, seq runs 1..200 and the chain verifies
    _assert_gapless_and_verified(session, 200)


def test_threads_appending_with_rows_to_write_leave_no_gap_and_name_their_rows(
    engine: Engine, session: Session
) -> None:
    # Given 8 threads each recording 25 entries, each entry written with a new row it names (as
    # a send writes its message in the statement that takes the head)
    named: dict[int, int] = {}

    def record_with_rows(own: Session, actor: Actor) -> None:
        for i in range(25):
            row = Organization(name=f"Practice {actor.user_id}-{i}")
            with unit_of_work(own):
                entry = audit.record(
                    own, actor, Action.RECORD_VIEWED, message_id=row, writing=[row]
                )
            named[entry.seq] = row.id

    _in_eight_threads(engine, record_with_rows)
    # Then every entry went in, seq runs 1..200, the chain verifies, and each entry names the row
    # written with it, which is there once
    _assert_gapless_and_verified(session, 200)
    stored = {
        seq: row for seq, row in session.execute(select(AuditEntry.seq, AuditEntry.message_id))
    }
    assert stored == named
    assert sorted(session.scalars(select(Organization.id))) == sorted(named.values())


def _writer(database_url: str, instance_path: Path, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.audit._writer",
            database_url,
            str(instance_path / KEY_FILE),
            str(count),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.subprocess
def test_processes_append_without_forks_or_gaps(
    database_url: str, instance_path: Path, session: Session
) -> None:
    # Given 4 processes, all connected, released at once to append 25 entries each
    children = [_writer(database_url, instance_path, 25) for _ in range(4)]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    # Then all finish, seq runs 1..100 and the chain verifies
    for child in children:
        child.communicate(timeout=60)
    assert [child.returncode for child in children] == [0, 0, 0, 0]
    _assert_gapless_and_verified(session, 100)


@pytest.mark.slow
@pytest.mark.subprocess
def test_killed_writer_leaves_no_orphans(
    database_url: str, instance_path: Path, session: Session, is_postgres: bool
) -> None:
    # Given a writer looping "organization + audit entry" in one unit of work, killed at random
    # moments, again and again (SECURITY I1); each writer is a fresh process forked by a server
    server = _writer(database_url, instance_path, 0)
    assert server.stdin is not None
    assert server.stdout is not None
    assert server.stdout.readline().strip() == "ready"
    rng = random.Random(os.getpid())
    for _ in range(KILLS):
        server.stdin.write("go\n")
        server.stdin.flush()
        word, pid = server.stdout.readline().split()
        assert word == "writing"
        threading.Event().wait(rng.uniform(0, 0.05))
        os.kill(int(pid), signal.SIGKILL)
        word, status = server.stdout.readline().split()
        assert word == "ended"
        assert os.WIFSIGNALED(int(status))
        assert os.WTERMSIG(int(status)) == signal.SIGKILL
    server.communicate(timeout=30)
    assert server.returncode == 0
    # Then the database is sound and the chain verifies
    if not is_postgres:
        assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    result = audit.verify(session)
    assert result.ok, result
    assert result.entries >= KILLS
    # And every organization has its entry, and every entry its organization
    organizations = set(session.scalars(select(Organization.id)))
    audited = {entry.detail["organization_id"] for entry in session.scalars(select(AuditEntry))}
    assert organizations == audited
