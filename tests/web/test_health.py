"""`GET /healthz` and `GET /readyz` as CONTRACT.md writes them, for load balancers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import downgrade
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from werkzeug.test import TestResponse

from roi.actor import Role
from roi.audit import AuditEntry
from roi.extensions import db
from roi.vault.keyring import KEY_FILE, FileKeyProvider, KeyRing
from tests.factories import make_user
from tests.instances import close, initialized_app, instance_app

READY = {"database": "ok", "keys": "ok", "migrations": "ok"}


@pytest.fixture
def migrated(tmp_path: Path, empty_database_url: str) -> Iterator[Flask]:
    """An instance after `roi init` on an empty database, with one person (so one audit entry)."""
    app = initialized_app(tmp_path / "instance", empty_database_url)
    with app.app_context():
        make_user(db.session(), Role.CLINICIAN)
    yield app
    close(app)


def audit_entries(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def readyz_once(app: Flask) -> TestResponse:
    """Ask a short-lived host once, then give back its connections."""
    try:
        return app.test_client().get("/readyz")
    finally:
        close(app)


def test_healthz_answers_while_the_process_serves(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_readyz_is_ready_on_an_initialized_instance(migrated: Flask) -> None:
    before = audit_entries(migrated)
    client = migrated.test_client()
    for _ in range(20):
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.get_json() == READY
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert audit_entries(migrated) == before


def test_readyz_names_a_schema_behind_its_migrations(migrated: Flask) -> None:
    with migrated.app_context():
        downgrade(revision="-1")
    response = migrated.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {**READY, "migrations": "behind"}


def test_readyz_names_a_schema_never_migrated(client) -> None:
    # The suite's schema comes from create_all: no alembic_version, as if `roi init` never ran.
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {**READY, "migrations": "behind"}


def test_readyz_names_a_key_ring_from_another_instance(
    migrated: Flask, empty_database_url: str, tmp_path: Path
) -> None:
    # Given a second host on the same database, handed some other instance's key ring
    other = tmp_path / "other-host"
    other.mkdir()
    FileKeyProvider(other / KEY_FILE).store(KeyRing.generate())
    response = readyz_once(instance_app(other, empty_database_url))
    # Then it is not ready, and says the keys are why
    assert response.status_code == 503
    assert response.get_json() == {**READY, "keys": "mismatch"}


def test_readyz_names_a_database_that_does_not_answer(
    instance_path: Path, tmp_path: Path, postgres_schema: str | None
) -> None:
    if postgres_schema is None:
        url = f"sqlite:///{tmp_path / 'no-such-folder' / 'roi.db'}"
    else:
        url = make_url(postgres_schema).set(database="roi_no_such_database").render_as_string(False)
    response = readyz_once(instance_app(instance_path, url))
    assert response.status_code == 503
    # Words only: no driver message, host or path in the body; what needs the database is unknown
    assert response.get_json() == {
        "database": "unavailable",
        "keys": "unknown",
        "migrations": "unknown",
    }
    assert "Set-Cookie" not in response.headers
