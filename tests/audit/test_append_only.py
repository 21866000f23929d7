"""Append-only at the database (SECURITY G4) and atomicity with the action (SECURITY G3)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from roi import audit
from roi.accounts.models import Organization
from roi.audit import Action, AuditHead
from roi.audit.schema import install_statements, uninstall_statements
from roi.db import unit_of_work
from tests.audit.helpers import CLINICIAN, append, append_with_organization, count_entries


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_entries SET purpose = 'x' WHERE seq = 1",
        "UPDATE audit_entries SET purpose = 'x'",
        "DELETE FROM audit_entries WHERE seq = 2",
        "DELETE FROM audit_entries",
    ],
)
def test_update_and_delete_are_refused(session: Session, sql: str) -> None:
    # Given two entries
    append(session, 2)
    # When raw SQL tries to change or remove them, then the database refuses
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(sql))
    session.rollback()
    # And the chain is untouched
    assert audit.verify(session).entries == 2


def test_head_row_stays_updatable(session: Session) -> None:
    append(session, 1)
    head = session.get(AuditHead, 1)
    assert head is not None
    assert head.seq == 1


def test_install_statements_are_idempotent(session: Session) -> None:
    # Re-running what a migration runs must not fail nor add a second head row
    append(session, 1)
    dialect = session.get_bind().dialect.name
    for sql in install_statements(dialect):
        session.execute(text(sql))
    session.commit()
    assert session.scalar(select(func.count()).select_from(AuditHead)) == 1
    with pytest.raises(DBAPIError):
        session.execute(text("DELETE FROM audit_entries"))
    session.rollback()
    assert uninstall_statements(dialect)
    with pytest.raises(ValueError, match="mysql"):
        install_statements("mysql")


@pytest.fixture
def failing_audit_insert(session: Session, is_postgres: bool) -> Iterator[None]:
    """An audit insert with purpose 'boom' fails inside the database."""
    if is_postgres:
        session.execute(
            text(
                "CREATE FUNCTION roi_test_boom() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'boom'; END $$"
            )
        )
        session.execute(
            text(
                "CREATE TRIGGER roi_test_boom BEFORE INSERT ON audit_entries FOR EACH ROW "
                "WHEN (NEW.purpose = 'boom') EXECUTE FUNCTION roi_test_boom()"
            )
        )
    else:
        session.execute(
            text(
                "CREATE TRIGGER roi_test_boom BEFORE INSERT ON audit_entries "
                "WHEN NEW.purpose = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END"
            )
        )
    session.commit()
    yield
    session.rollback()
    session.execute(
        text("DROP TRIGGER roi_test_boom" + (" ON audit_entries" if is_postgres else ""))
    )
    if is_postgres:
        session.execute(text("DROP FUNCTION roi_test_boom()"))
    session.commit()


@pytest.mark.usefixtures("failing_audit_insert")
def test_action_and_its_entry_commit_together_or_not_at_all(session: Session) -> None:
    # Given one organization created with its entry
    append_with_organization(session, CLINICIAN, "Kept practice")

    # When the next unit of work inserts an organization but its audit insert fails
    def create_organization() -> None:
        with unit_of_work(session):
            org = Organization(name="Lost practice")
            session.add(org)
            session.flush()
            audit.record(
                session,
                CLINICIAN,
                Action.ORGANIZATION_CREATED,
                purpose="boom",
                detail={"organization_id": org.id},
            )

    with pytest.raises(DBAPIError, match="boom"):
        create_organization()
    # Then neither the organization nor the entry exists, and the head did not move
    names = session.scalars(select(Organization.name)).all()
    assert names == ["Kept practice"]
    assert count_entries(session) == 1
    head = session.get(AuditHead, 1)
    assert head is not None
    assert head.seq == 1
    # And the chain goes on from seq 2
    append_with_organization(session, CLINICIAN, "Next practice")
    assert audit.verify(session).entries == 2
