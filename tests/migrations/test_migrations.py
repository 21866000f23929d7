"""Migrations: from empty to head on both databases, head equals the models, down and up again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import DatabaseError

from roi import create_app
from roi.db import Base
from roi.extensions import db
from tests.conftest import TEST_ARGON2


@pytest.fixture
def migration_app(empty_database_url, instance_path):
    app = create_app(
        {
            "instance_path": instance_path,
            "database_url": empty_database_url,
            "secret_key": "test",
            "argon2": TEST_ARGON2,
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def app_tables(app) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_reaches_the_models(migration_app):
    with migration_app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], "the models changed without a migration: flask db revision --autogenerate"
    assert app_tables(migration_app) == {t.name for t in Base.metadata.sorted_tables}


def test_migrated_audit_log_is_append_only_and_has_its_head(migration_app):
    from roi import audit
    from roi.actor import Actor

    with migration_app.app_context():
        upgrade()
        audit.record(db.session, Actor.system(), audit.Action.AUDIT_VERIFIED)
        db.session.commit()
        assert audit.verify(db.session).ok
        for statement in ("UPDATE audit_entries SET purpose = 'x'", "DELETE FROM audit_entries"):
            with pytest.raises(DatabaseError):
                db.session.execute(text(statement))
            db.session.rollback()


def test_downgrade_to_base_and_up_again(migration_app):
    with migration_app.app_context():
        upgrade()
        downgrade(revision="base")
    assert app_tables(migration_app) == set()
    with migration_app.app_context():
        upgrade()
    assert "audit_entries" in app_tables(migration_app)
