"""Whole instances, set up as an operator does (`roi init` runs the real migrations), for the tests
that care about the schema's revision: readiness, backup and restore."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from roi import create_app
from roi.cli import roi_group
from roi.extensions import db
from tests.conftest import TEST_ARGON2


def instance_app(folder: Path, database_url: str) -> Flask:
    """The app of the instance folder `folder` on `database_url`, as `roi serve` would build it."""
    app = create_app(
        {
            "instance_path": folder,
            "database_url": database_url,
            "secret_key": "test-secret-key-not-for-production",
            "argon2": TEST_ARGON2,
        }
    )
    app.testing = True
    return app


def initialized_app(folder: Path, database_url: str) -> Flask:
    """`instance_app` after `roi init`: schema at head, a key ring in `folder` if it had none."""
    app = instance_app(folder, database_url)
    result = app.test_cli_runner().invoke(roi_group, ["init"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return app


def close(app: Flask) -> None:
    """Give back the app's database connections (a PostgreSQL database cannot be dropped in use)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@contextmanager
def new_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server of `server_url`, dropped afterwards."""
    name = f"roi_instance_{secrets.token_hex(4)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
