"""Audit test fixtures: the session starts with the head row in place, as a migration leaves it."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from roi.audit.schema import head_row_statement


@pytest.fixture
def session(session: Session) -> Session:
    # The PostgreSQL fixture truncates every table between tests, audit_head included.
    session.execute(text(head_row_statement(session.get_bind().dialect.name)))
    session.commit()
    return session
