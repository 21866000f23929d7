"""The `roi` command as CONTRACT.md writes it: init, demo, user add, serve."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from roi import create_app
from roi.accounts.models import Client, Provider, User
from roi.cli import roi_group
from roi.extensions import db
from tests.conftest import TEST_ARGON2
from tests.factories import enrol_test_totp
from tests.helpers import login_as


@pytest.fixture
def fresh_app(tmp_path, empty_database_url):
    """An app on an empty instance folder (no keys) and an empty database."""
    app = create_app(
        {
            "instance_path": tmp_path / "fresh",
            "database_url": empty_database_url,
            "secret_key": "test",
            "argon2": TEST_ARGON2,
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def run(app, *args: str):
    return app.test_cli_runner().invoke(roi_group, list(args), catch_exceptions=False)


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


def test_init_creates_keys_and_schema_and_is_idempotent(fresh_app, tmp_path):
    first = run(fresh_app, "init")
    assert first.exit_code == 0, first.output
    keys = tmp_path / "fresh" / "keys.json"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    ring = keys.read_text()
    second = run(fresh_app, "init")
    assert second.exit_code == 0, second.output
    assert keys.read_text() == ring, "a second init must not replace the keys"
    assert count(fresh_app, User) == 0


def test_demo_seeds_every_role_and_prints_logins(fresh_app, tmp_path):
    run(fresh_app, "init")
    result = run(fresh_app, "demo")
    assert result.exit_code == 0, result.output
    for role in ("clinician", "client", "compliance", "admin"):
        assert role in result.output
    with fresh_app.app_context():
        roles = set(db.session.scalars(select(User.role)))
        orgs = {u.organization.name for u in db.session.scalars(select(User)) if u.organization}
    assert {r.value for r in roles} == {"clinician", "client", "compliance", "admin"}
    assert orgs == {"Riverside Counseling", "Northgate Psychiatry"}
    assert count(fresh_app, Client) >= 3
    assert count(fresh_app, Provider) >= 3
    saved = tmp_path / "fresh" / "demo_accounts.txt"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    # a printed login works: a client's at once, a staff member's after setting up a second factor
    assert "set up an authenticator app at their first sign-in" in result.output
    logins = {line.split()[0]: line.split()[1:] for line in saved.read_text().splitlines()}
    client = fresh_app.test_client()
    for role, status in (("client", 201), ("clinician", 401)):
        email, password = logins[role]
        response = client.post("/api/v1/tokens", json={"email": email, "password": password})
        assert response.status_code == status
    assert response.get_json()["error"] == "mfa_required"
    # and the demo's admin, once their authenticator is set up, sees their own practice only
    # (SECURITY C9)
    admin_email, admin_password = logins["admin"]
    with fresh_app.app_context():
        admin = db.session.scalars(select(User).where(User.email == admin_email)).one()
        enrol_test_totp(db.session(), admin)
    browser = fresh_app.test_client()
    login_as(browser, admin_email, admin_password)
    users = browser.get("/admin/users").get_data(as_text=True)
    assert "dana@riverside.example" in users
    assert "okafor@northgate.example" not in users
    # and the demo is not added twice
    again = run(fresh_app, "demo")
    assert again.exit_code != 0
    assert "already exist" in again.output
    quiet = run(fresh_app, "demo", "--if-empty")
    assert quiet.exit_code == 0
    assert "no demo data added" in quiet.output


def test_user_add_prints_the_id_and_json(fresh_app):
    run(fresh_app, "init")
    result = run(
        fresh_app,
        "user",
        "add",
        "--email",
        "a@example.org",
        "--password",
        "violet kettle harbor thunder",
        "--role",
        "clinician",
        "--name",
        "Ana",
        "--org",
        "New Org",
    )
    assert result.exit_code == 0, result.output
    user_id = int(result.output.strip())
    as_json = run(
        fresh_app,
        "user",
        "add",
        "--email",
        "b@example.org",
        "--password",
        "violet kettle harbor thunder",
        "--role",
        "admin",
        "--name",
        "Bo",
        "--json",
    )
    assert json.loads(as_json.output) == {"id": user_id + 1}
    with fresh_app.app_context():
        entry = db.session.scalar(select(Provider).where(Provider.user_id == user_id))
        assert entry is not None
        assert entry.organization_name == "New Org"


def test_user_add_for_a_client_links_the_record(fresh_app):
    run(fresh_app, "init")
    run(fresh_app, "demo")
    with fresh_app.app_context():
        maya = db.session.scalar(select(Client).where(Client.given_name == "Maya"))
        maya_id = maya.id
    result = run(
        fresh_app,
        "user",
        "add",
        "--email",
        "maya@example.org",
        "--password",
        "violet kettle harbor thunder",
        "--role",
        "client",
        "--name",
        "Maya Chen",
        "--client-id",
        str(maya_id),
        "--json",
    )
    assert result.exit_code == 0, result.output
    with fresh_app.app_context():
        assert db.session.get(Client, maya_id).user_id == json.loads(result.output)["id"]


def test_user_add_refusals_are_one_line(fresh_app):
    run(fresh_app, "init")
    result = run(
        fresh_app,
        "user",
        "add",
        "--email",
        "a@example.org",
        "--password",
        "short",
        "--role",
        "clinician",
        "--name",
        "Ana",
    )
    assert result.exit_code != 0
    error_lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(error_lines) == 1
    assert "password" in error_lines[0]
    assert "organization" in error_lines[0]
    bad_role = run(
        fresh_app,
        "user",
        "add",
        "--email",
        "a@example.org",
        "--password",
        "x" * 20,
        "--role",
        "wizard",
        "--name",
        "Ana",
    )
    assert bad_role.exit_code == 2
    # a name that would read differently from what it is: refused as on the forms and the API
    disguised = run(
        fresh_app,
        "user",
        "add",
        "--email",
        "b@example.org",
        "--password",
        "quiet harbor violet thunder kettle",
        "--role",
        "admin",
        "--name",
        "Ana\u202eeno",
    )
    assert disguised.exit_code != 0
    assert "name" in disguised.output
    with fresh_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_serve_starts_gunicorn_on_the_app(fresh_app, monkeypatch):
    run(fresh_app, "init")
    seen: dict[str, list[str]] = {}
    monkeypatch.setattr(os, "execv", lambda path, args: seen.setdefault("args", args))
    result = run(fresh_app, "serve", "--host", "127.0.0.1", "--port", "8123")
    assert result.exit_code == 0, result.output
    args = seen["args"]
    assert args[1:3] == ["-m", "gunicorn"]
    assert "127.0.0.1:8123" in args
    assert args[-1] == "roi.serving:served_app()"


def test_console_script_runs_init_and_reports_a_dead_database(tmp_path):
    env = {**os.environ, "ROI_INSTANCE_PATH": str(tmp_path / "i")}
    ok = subprocess.run(
        [sys.executable, "-m", "roi.cli", "init"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    env["DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2"
    dead = subprocess.run(
        [sys.executable, "-m", "roi.cli", "init"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dead.returncode != 0
    assert "cannot connect to the database" in dead.stderr
    assert "Traceback" not in dead.stderr
