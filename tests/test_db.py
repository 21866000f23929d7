"""Units of work: one write transaction each, never one inside another; on SQLite, writers take
turns. `insert_rows`: new rows written without the ORM's flush, as a flush would leave them."""

from __future__ import annotations

import contextlib
import fcntl
import inspect
import os
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import Date, column, func, literal, null, select, update, values
from sqlalchemy.orm import Session

from roi import db
from roi.accounts.models import Organization, User
from roi.accounts.practice import COMMON_TIME_ZONES
from roi.actor import Role
from roi.clock import day_start, time_zones
from roi.db import insert_rows, unit_of_work
from tests.helpers import PATIENCE, statements_run, until

_TURN_CODE = db._writer_turn.__wrapped__.__code__  # type: ignore[attr-defined]


def _line_of(code: object, text: str) -> int:
    lines, first = inspect.getsourcelines(code)  # type: ignore[arg-type]
    return first + next(number for number, line in enumerate(lines) if text in line)


#: where a thread of this process waits while another thread has the turn
_THREAD_WAIT_LINE = _line_of(_TURN_CODE, "threads.acquire(")


def _waiting_for_the_thread_turn(thread: threading.Thread) -> bool:
    frame = sys._current_frames().get(thread.ident or 0)
    while frame is not None:
        if frame.f_code is _TURN_CODE:
            return frame.f_lineno == _THREAD_WAIT_LINE
        frame = frame.f_back
    return False


def _waiting_for_a_flock(descriptor: int) -> bool:
    """Whether some process waits for a flock() on the file open as `descriptor` (the kernel
    lists a waiter in /proc/locks with "->", the file as device major:minor in hex, then inode)."""
    found = os.fstat(descriptor)
    file = f"{os.major(found.st_dev):02x}:{os.minor(found.st_dev):02x}:{found.st_ino}"
    with open("/proc/locks") as locks:
        for line in locks:
            fields = line.split()
            if "->" in fields and "FLOCK" in fields and file in fields:
                return True
    return False


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
            first_may_end.wait(PATIENCE)
            if ending == "rollback":
                raise LookupError("the first writer gives up")

    def second() -> None:
        if not first_in.wait(PATIENCE):
            return  # the first writer failed: the test says so
        with Session(engine) as session, unit_of_work(session):
            second_in.set()
            session.add(Organization(name="Second"))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    try:
        # While one writer's unit of work is open, the next waits for its turn
        until(lambda: _waiting_for_the_thread_turn(threads[1]), "the second writer wait its turn")
        assert not second_in.is_set()
    finally:
        # When it ends, the next one goes ahead and writes
        first_may_end.set()
        for thread in threads:
            thread.join()
    with Session(engine) as session:
        names = set(session.scalars(select(Organization.name)))
    assert names == ({"First", "Second"} if ending == "commit" else {"Second"})


def test_a_sqlite_writer_waiting_on_another_process_goes_ahead_when_it_lets_go(engine, is_postgres):
    if is_postgres:
        pytest.skip("PostgreSQL writers wait on the rows they lock, not on a turn")
    turn = os.open(f"{os.path.abspath(engine.url.database)}-writers", os.O_RDWR | os.O_CREAT)
    fcntl.flock(turn, fcntl.LOCK_EX)
    wrote = threading.Event()

    def writer() -> None:
        with Session(engine) as session, unit_of_work(session):
            session.add(Organization(name="Waited"))
        wrote.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        # While the other process holds the turn, the writer waits for it
        until(lambda: _waiting_for_a_flock(turn), "the writer wait for the turn")
        assert not wrote.is_set()
    finally:
        os.close(turn)
    # When it lets go, the writer goes ahead
    thread.join()
    assert wrote.is_set()
    with Session(engine) as session:
        assert set(session.scalars(select(Organization.name))) == {"Waited"}


def _user(organization: Organization) -> User:
    return User(
        organization=organization,
        email="dana@north.example",
        email_key="dana@north.example",
        name="Dana Whitfield",
        role=Role.CLINICIAN,
        password_hash="not a real hash",
    )


@contextlib.contextmanager
def _statements(kinds: tuple[str, ...] = ("INSERT", "WITH")) -> Iterator[list[str]]:
    """The statements of the block that start with one of `kinds` (filled when it ends)."""
    seen: list[str] = []
    with statements_run() as run:
        yield seen
    seen.extend(statement for statement in run if statement.lstrip().upper().startswith(kinds))


def test_inserted_rows_get_their_keys_defaults_and_parents_keys(session, engine, is_postgres):
    # Given two new practices and a user of the first, related by the relationship only
    north, south = Organization(name="North Clinic"), Organization(name="South Clinic")
    user = _user(north)
    # When they are written in one call
    with _statements() as statements, unit_of_work(session):
        insert_rows(session, north, south, user)
    # Then each has its key, the user names its practice, and the defaults are on the rows
    assert north.id
    assert south.id > north.id  # rows of one table get their keys in the order given
    assert user.id
    assert user.organization_id == north.id
    assert north.mfa_required_for_staff is True
    assert north.emergency_sends_per_day == 3
    assert north.uuid != south.uuid
    # and the database holds what the rows say
    stored = session.execute(
        select(User.organization_id, Organization.created_at, Organization.mfa_required_for_staff)
        .join(Organization, Organization.id == User.organization_id)
        .where(User.id == user.id)
    ).one()
    assert tuple(stored) == (north.id, north.created_at, True)
    # PostgreSQL writes the second practice and the user, who names the first, in one statement
    # (one round trip), after the first (one table's rows are written in turn); SQLite writes
    # one row per statement
    assert len(statements) == (2 if is_postgres else 3)
    # and the session does not hold them
    assert north not in session
    assert user not in session


def test_a_rollback_leaves_nothing_of_inserted_rows(session):
    # When a unit of work that inserted rows fails
    north = Organization(name="North Clinic")

    def fail_after_inserting() -> None:
        with unit_of_work(session):
            insert_rows(session, north, _user(north))
            raise LookupError("the work gives up")

    with pytest.raises(LookupError):
        fail_after_inserting()
    # Then neither row is in the database, and the session holds nothing of them
    assert session.scalar(select(func.count()).select_from(Organization)) == 0
    assert session.scalar(select(func.count()).select_from(User)) == 0
    assert not list(session)
    # and a new unit of work writes rows as before
    again = Organization(name="North Clinic")
    with unit_of_work(session):
        insert_rows(session, again)
    assert session.scalar(select(Organization.name).where(Organization.id == again.id)) == (
        "North Clinic"
    )


def test_an_update_runs_with_the_rows_and_its_answer_comes_back(session, engine, is_postgres):
    # Given a practice in the database
    north = Organization(name="North Clinic")
    with unit_of_work(session):
        insert_rows(session, north)
    rename = (
        update(Organization)
        .where(Organization.id == north.id)
        .values(name="North Clinic and Annex")
        .returning(Organization.id, Organization.name)
    )
    # When a user of it is written with an update of the practice to follow
    user = _user(north)
    with _statements(("INSERT", "WITH", "UPDATE")) as statements, unit_of_work(session):
        answer = insert_rows(session, user, then=rename)
    # Then the user is written, the update ran and what it returned comes back
    assert user.id
    assert tuple(answer) == (north.id, "North Clinic and Annex")
    assert session.scalar(select(Organization.name)) == "North Clinic and Annex"
    # in one statement on PostgreSQL (one round trip); SQLite runs the update after the insert
    assert len(statements) == (1 if is_postgres else 2)


def test_an_update_that_changes_nothing_answers_none(session):
    # When the update given to follow the rows matches no row
    nobody = update(Organization).where(Organization.id == -1).values(name="x")
    with unit_of_work(session):
        answer = insert_rows(
            session, Organization(name="North Clinic"), then=nobody.returning(Organization.id)
        )
    # Then the answer is None, and the rows are written all the same
    assert answer is None
    assert session.scalar(select(func.count()).select_from(Organization)) == 1


def test_postgresql_describes_a_result_as_psycopg_does_until_the_cursor_runs_on(
    engine, is_postgres
):
    if not is_postgres:
        pytest.skip("psycopg's cursor (SQLite's describes its columns itself)")
    with engine.connect() as connection:
        cursor = connection.connection.cursor()
        cursor.execute("SELECT 1 AS one, 'two' AS two")
        described = cursor.description
        assert len(described) == 2
        assert [column.name for column in described] == ["one", "two"]
        assert [column.type_code for column in described] == [
            column.type_code for column in psycopg.Cursor.description.fget(cursor)
        ]
        unread = cursor.description
        cursor.execute("SELECT 4 AS four, 5 AS five")
        # read after the cursor ran on: refused, not answered with the new result's columns
        with pytest.raises(psycopg.InterfaceError):
            unread[0]
        assert [column.name for column in cursor.description] == ["four", "five"]
        cursor.execute("UPDATE users SET id = id WHERE false")
        assert cursor.description is None
        cursor.close()


@pytest.mark.parametrize(
    ("zone", "days"),
    [
        ("UTC", [date(2026, 3, 8)]),
        # the days around the US's daylight-saving changes (at 2 a.m.), and an ordinary one
        ("America/Los_Angeles", [date(2026, 3, 8), date(2026, 11, 1), date(2027, 6, 30)]),
        ("Asia/Tokyo", [date(2026, 3, 8), date(2026, 11, 1)]),
        ("Pacific/Kiritimati", [date(2026, 3, 8)]),
        ("Pacific/Pago_Pago", [date(2026, 3, 8)]),
        # clocks that change at midnight: a day without its midnight (it begins at 1 a.m.), and
        # a day whose midnight comes twice (it begins at the first)
        ("Atlantic/Azores", [date(2025, 3, 30), date(2025, 10, 26)]),
        ("America/Havana", [date(2025, 3, 9), date(2025, 11, 2)]),
        ("America/Santiago", [date(2025, 9, 7)]),
    ],
)
def test_a_day_begins_in_sql_where_python_says_it_does(session, zone, days):
    found = [session.scalar(select(db.day_start_sql(literal(day, Date()), zone))) for day in days]
    assert found == [day_start(day, zone) for day in days]
    # and a day that is not known is no instant either
    assert session.scalar(select(db.day_start_sql(null(), zone))) is None


def days_around_changes(zone: str, years: range) -> list[date]:
    """Mid-January and mid-July, and the days either side of each change of `zone`'s clocks in
    `years` (found by its offset at noon)."""
    info = ZoneInfo(zone)
    days = [date(year, month, 15) for year in years for month in (1, 7)]
    day = date(years.start, 1, 1)
    offset = datetime.combine(day, time(12), tzinfo=info).utcoffset()
    while day.year < years.stop:
        following = day + timedelta(days=1)
        next_offset = datetime.combine(following, time(12), tzinfo=info).utcoffset()
        if next_offset != offset:
            days += [day, following, following + timedelta(days=1)]
        day, offset = following, next_offset
    return days


def test_every_zone_roi_offers_begins_its_days_alike_in_sql_and_python(session):
    # PostgreSQL reads a zone with its own tz database, and a name that is also an abbreviation
    # as that fixed offset ("CET"): every zone a practice may choose must give the instant
    # Python gives, on the days its clocks change and on ordinary ones
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite's day_start_sql calls clock.day_start itself")
    differ = {}
    for zone in sorted(time_zones()):
        days = days_around_changes(zone, range(2025, 2028))
        found = session.scalars(
            select(db.day_start_sql(column("day", Date()), zone)).select_from(
                values(column("day", Date()), name="days").data([(day,) for day in days])
            )
        ).all()
        expected = [day_start(day, zone) for day in days]
        mismatched = [pair for pair in zip(found, expected, strict=True) if pair[0] != pair[1]]
        if mismatched:
            differ[zone] = mismatched[0]
    assert differ == {}


def test_only_zones_named_by_their_place_are_offered():
    # a place, or UTC; not the old names PostgreSQL and people's names read otherwise
    assert {"UTC", "Europe/Paris", "America/Los_Angeles"} <= time_zones()
    assert not {"CET", "EST5EDT", "Zulu", "GMT", "Etc/UTC", "Etc/GMT+5"} & time_zones()
    assert {zone for zone, _name in COMMON_TIME_ZONES} <= time_zones()


def test_a_day_that_begins_twice_begins_at_its_first_midnight():
    # the Azores set clocks back from 1 a.m. to midnight on 26 October 2025
    assert day_start(date(2025, 10, 26), "Atlantic/Azores") == datetime(2025, 10, 26, tzinfo=UTC)
