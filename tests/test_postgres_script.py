"""scripts/test-postgres.sh, which `make test` asks for its PostgreSQL database: a PostgreSQL
that is not installed lets the run go on on SQLite alone (and says so); one that is installed
but cannot be used fails the run, with the reason.

Each test runs the script with a PATH of fake PostgreSQL commands only, so the machine's own
PostgreSQL is never asked or touched, and `sleep` answers at once.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "test-postgres.sh"
#: a cluster as `pg_lsclusters --no-header` prints it, on a port nothing listens on
CLUSTER = "15 main 54329 {status} postgres /nonexistent /dev/null"
#: the few real commands the script needs besides its PostgreSQL ones
REAL_TOOLS = ("head", "seq", "id")


def fake_commands(bin_dir: Path, answers: dict[str, str]) -> Path:
    """A directory of commands, each a shell body that notes its name in `calls`; the
    PostgreSQL ones are fakes, the rest links to the real tools."""
    bin_dir.mkdir()
    calls = bin_dir / "calls"
    for name, body in answers.items():
        command = bin_dir / name
        command.write_text(f'#!/bin/bash\necho {name} >> "{calls}"\n{body}\n')
        command.chmod(0o755)
    for tool in REAL_TOOLS:
        real = shutil.which(tool)
        assert real, f"{tool} is not installed"
        (bin_dir / tool).symlink_to(real)
    return calls


def run_script(bin_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # ROI_REQUIRE_POSTGRES is left out unless given: CI sets it, and these tests are about what
    # happens without it
    return subprocess.run(
        ["/bin/bash", str(SCRIPT)],
        env={"PATH": str(bin_dir), "ROI_TEST_DB_NAME": "roi_script_test", **env},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


def called(calls: Path) -> list[str]:
    return calls.read_text().split() if calls.exists() else []


# Every PostgreSQL command the script may run, answering like a working PostgreSQL; each test
# breaks one. `sleep` never waits.
WORKING = {
    "pg_lsclusters": f"echo '{CLUSTER.format(status='down')}'",
    "pg_ctlcluster": "exit 0",
    "pg_isready": "exit 0",
    "psql": "echo 1",
    "createuser": "exit 0",
    "dropdb": "exit 0",
    "createdb": "exit 0",
    "sudo": "exit 1",
    "su": "exit 1",
    "sleep": "exit 0",
}


#: the name `id -un` gives the script
ME = pwd.getpwuid(os.getuid()).pw_name


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        pytest.param(
            {"pg_ctlcluster": "echo 'Job for postgresql@15-main.service failed.' >&2; exit 1"},
            "test-postgres: could not start PostgreSQL 15/main",
            id="start",
        ),
        pytest.param(
            {"pg_isready": "exit 2"}, "test-postgres: PostgreSQL did not become ready", id="ready"
        ),
        pytest.param(
            {"psql": "exit 2"}, f"test-postgres: could not create the role {ME}", id="role"
        ),
        pytest.param(
            {"createdb": "exit 1"},
            "test-postgres: could not create roi_script_test",
            id="database",
        ),
    ],
)
def test_an_installed_postgresql_that_cannot_be_used_fails_the_run(tmp_path, broken, reason):
    # Given PostgreSQL installed, its cluster down, and one step of getting a database failing
    calls = fake_commands(tmp_path / "bin", {**WORKING, **broken})
    # When `make test` asks for a database, without ROI_REQUIRE_POSTGRES
    result = run_script(tmp_path / "bin")
    # Then the run fails, saying why in one line, and hands out no database
    assert result.returncode != 0
    assert result.stderr.splitlines()[-1] == reason
    assert result.stdout == ""
    # And it got as far as PostgreSQL's own commands (the fakes: PATH holds nothing else)
    assert called(calls)[0] == "pg_lsclusters"


def test_a_working_postgresql_gives_a_fresh_database(tmp_path):
    # Given PostgreSQL installed and down, and every step working; the developer's role exists
    # already, so the postgres account (sudo, which they may not have) is not needed
    calls = fake_commands(tmp_path / "bin", WORKING)
    # When a database is asked for
    result = run_script(tmp_path / "bin")
    # Then the cluster is started and the URL of a fresh database is printed
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "postgresql+psycopg:///roi_script_test?host=/var/run/postgresql&port=54329\n"
    )
    assert called(calls)[:2] == ["pg_lsclusters", "pg_ctlcluster"]
    assert called(calls)[-2:] == ["dropdb", "createdb"]


@pytest.mark.parametrize(("require", "status"), [("0", 0), ("1", 1)])
def test_without_postgresql_the_run_goes_on_on_sqlite_unless_required(tmp_path, require, status):
    # Given a machine with no PostgreSQL commands at all
    fake_commands(tmp_path / "bin", {})
    # When a database is asked for
    result = run_script(tmp_path / "bin", ROI_REQUIRE_POSTGRES=require)
    # Then no database is handed out, and the reason is given; only CI (which requires
    # PostgreSQL) fails, `make test` goes on on SQLite and prints its banner
    assert result.returncode == status
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "test-postgres: PostgreSQL is not installed (Debian package postgresql)"
    )
