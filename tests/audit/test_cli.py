"""`roi audit verify` and `roi audit checkpoint` through Flask's CLI runner."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from roi import audit
from roi.audit import Action, AuditEntry
from roi.cli.audit import audit_group
from tests.audit.helpers import append, tamper


@pytest.fixture
def invoke(app):
    # Registered at the top level here, so the test does not depend on the `roi` group's wiring.
    if "audit" not in app.cli.commands:
        app.cli.add_command(audit_group)
    runner = app.test_cli_runner()

    def run(*args: str) -> Result:
        return runner.invoke(args=["audit", *args])

    return run


def test_verify_reports_ok_and_the_head(invoke, session: Session) -> None:
    entries = append(session, 3)
    result = invoke("verify")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"ok 3 entries, head {entries[-1].hash}\n"


def test_verify_names_the_first_bad_seq(invoke, session: Session, is_postgres: bool) -> None:
    append(session, 4)
    tamper(session, is_postgres, "UPDATE audit_entries SET client_id = 1 WHERE seq = 2")
    result = invoke("verify")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert "seq 2" in lines[0]


def test_verify_json(invoke, session: Session, is_postgres: bool) -> None:
    append(session, 2)
    ok = invoke("verify", "--json")
    assert ok.exit_code == 0
    assert json.loads(ok.stdout)["entries"] == 2
    tamper(session, is_postgres, "DELETE FROM audit_entries WHERE seq = 1")
    broken = invoke("verify", "--json")
    assert broken.exit_code == 1
    assert json.loads(broken.stdout)["first_bad_seq"] == 1


def test_checkpoint_file_is_private_and_catches_a_cut_tail(
    invoke, session: Session, is_postgres: bool, tmp_path: Path
) -> None:
    # Given a checkpoint written to a file
    append(session, 5)
    path = tmp_path / "checkpoint.json"
    result = invoke("checkpoint", "--output", str(path))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    checkpoint = audit.Checkpoint.from_json(path.read_text())
    assert checkpoint.seq == 5
    # And its export is itself an audit entry
    session.rollback()
    entry = session.scalars(select(AuditEntry).where(AuditEntry.seq == 6)).one()
    assert entry.action is Action.AUDIT_CHECKPOINT
    assert invoke("verify", "--checkpoint", str(path)).exit_code == 0
    # When the last entries are cut and the head moved back
    tamper(
        session,
        is_postgres,
        "DELETE FROM audit_entries WHERE seq > 3",
        "UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_entries WHERE seq = 3)",
    )
    # Then plain verify passes but verify against the checkpoint names seq 4
    assert invoke("verify").exit_code == 0
    cut = invoke("verify", "--checkpoint", str(path))
    assert cut.exit_code == 1
    assert "seq 4" in cut.stderr


def test_checkpoint_to_stdout(invoke, session: Session) -> None:
    append(session, 1)
    result = invoke("checkpoint")
    assert result.exit_code == 0, result.output
    assert audit.Checkpoint.from_json(result.stdout).seq == 1


def test_bad_checkpoint_file_is_one_line(invoke, session: Session, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{}")
    result = invoke("verify", "--checkpoint", str(path))
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert "checkpoint" in result.stderr
