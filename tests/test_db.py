"""Units of work: one write transaction each, never one inside another."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from roi.accounts.models import Organization
from roi.db import unit_of_work


def _add_then_nest(session: Session) -> None:
    with unit_of_work(session):
        session.add(Organization(name="Half done"))
        session.flush()
        with unit_of_work(session):
            session.add(Organization(name="Never"))


def test_a_unit_of_work_inside_another_is_refused_and_nothing_is_committed(session: Session):
    # When a unit of work that added a row starts a second one inside it, that is refused
    with pytest.raises(RuntimeError, match="inside another"):
        _add_then_nest(session)
    # Then the outer work was rolled back, not committed half done
    assert session.scalar(select(func.count()).select_from(Organization)) == 0
    # and the session takes a new unit of work afterwards
    with unit_of_work(session):
        session.add(Organization(name="Whole"))
    assert session.scalar(select(Organization.name)) == "Whole"
