"""Shared helpers for the audit tests: appending entries and getting past the triggers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from roi import audit
from roi.accounts.models import Organization
from roi.actor import Actor, Role
from roi.audit import Action, AuditEntry
from roi.audit.schema import trigger_statements
from roi.db import unit_of_work

CLINICIAN = Actor(
    user_id=7, role=Role.CLINICIAN, organization_id=3, ip="192.0.2.1", request_id="r1"
)


def append(session: Session, count: int, actor: Actor = CLINICIAN) -> list[AuditEntry]:
    """`count` entries, each committed in its own unit of work."""
    entries = []
    for i in range(count):
        with unit_of_work(session):
            entries.append(
                audit.record(
                    session,
                    actor,
                    Action.RECORD_VIEWED,
                    client_id=100 + i,
                    categories=["mental_health", "diagnosis"],
                    purpose="treatment",
                    detail={"n": i},
                )
            )
    return entries


def append_with_organization(session: Session, actor: Actor, name: str) -> int:
    """One organization and its audit entry in one unit of work; returns the organization id."""
    with unit_of_work(session):
        org = Organization(name=name)
        session.add(org)
        session.flush()
        audit.record(
            session, actor, Action.ORGANIZATION_CREATED, detail={"organization_id": org.id}
        )
        return org.id


def count_entries(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


@contextmanager
def triggers_off(session: Session, is_postgres: bool) -> Iterator[None]:
    """Simulate an attacker with owner access: the append-only triggers are out of the way.

    They are put back afterwards (the PostgreSQL database is shared by the whole run).
    """
    session.rollback()
    if is_postgres:
        session.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER audit_entries_no_update"))
        session.execute(text("DROP TRIGGER audit_entries_no_delete"))
    session.commit()
    try:
        yield
    finally:
        session.rollback()
        if is_postgres:
            session.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER USER"))
        else:
            for sql in trigger_statements("sqlite"):
                session.execute(text(sql))
        session.commit()


def tamper(session: Session, is_postgres: bool, *statements: str) -> None:
    """Run raw SQL against the audit tables past the triggers, and commit it."""
    with triggers_off(session, is_postgres):
        for sql in statements:
            session.execute(text(sql))
        session.commit()
