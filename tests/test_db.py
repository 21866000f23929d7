"""Units of work: one write transaction each, never one inside another; on SQLite, writers take
turns."""

from __future__ import annotations

import contextlib
import threading

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


@pytest.mark.parametrize("ending", ["commit", "rollback"])
def test_sqlite_writers_take_turns_and_the_next_starts_when_one_ends(engine, is_postgres, ending):
    if is_postgres:
        pytest.skip("PostgreSQL writers wait on the rows they lock, not on a turn")
    first_in, first_may_end, second_in = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with (
            Session(engine) as session,
            contextlib.suppress(LookupError),
            unit_of_work(session),
        ):
            session.add(Organization(name="First"))
            first_in.set()
            first_may_end.wait()
            if ending == "rollback":
                raise LookupError("the first writer gives up")

    def second() -> None:
        first_in.wait()
        with Session(engine) as session, unit_of_work(session):
            second_in.set()
            session.add(Organization(name="Second"))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    # While one writer's unit of work is open, the next waits for its turn
    assert not second_in.wait(0.3)
    # When it ends, the next one goes ahead and writes
    first_may_end.set()
    for thread in threads:
        thread.join()
    with Session(engine) as session:
        names = set(session.scalars(select(Organization.name)))
    assert names == ({"First", "Second"} if ending == "commit" else {"Second"})
