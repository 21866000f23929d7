"""The one clock: every time roi stores or compares is an aware UTC datetime; a day people name
is turned into one, or read from one, here, with the system's time zone database (zoneinfo),
which PostgreSQL reads too (`roi.db.day_start_sql`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo, available_timezones


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def day_start(day: date, time_zone: str = "UTC") -> datetime:
    """00:00 of `day` where `time_zone` is, as a UTC instant: when a day people name (a
    release's end, the day a letter arrived) begins on their practice's calendar."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def local_day(moment: datetime, time_zone: str) -> date:
    """The calendar day `moment` falls on where `time_zone` is."""
    return moment.astimezone(ZoneInfo(time_zone or "UTC")).date()


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as CONTRACT.md writes every time."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@cache
def time_zones() -> frozenset[str]:
    """The time zones a practice or a person may keep: UTC, and every zone of the system's tz
    database named by its place (`Europe/Paris`, `America/Los_Angeles`).

    Left out are the database's old names without a place (`CET`, `EST5EDT`, `Zulu`) and
    `Etc/` (whose `GMT+5` is five hours behind GMT): PostgreSQL reads a name that is also an
    abbreviation as that fixed offset (`CET` without its summer time, so SQL and Python would
    begin a day an hour apart), and people's names for them read "Unknown Region". Each has a
    place of its own to choose instead."""
    placed = {zone for zone in available_timezones() if "/" in zone}
    return frozenset({zone for zone in placed if not zone.startswith("Etc/")} | {"UTC"})
