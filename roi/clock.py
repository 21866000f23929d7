"""The one clock: every time roi stores or compares is an aware UTC datetime; a day people name
is turned into one, or read from one, here, with the system's time zone database (zoneinfo),
which PostgreSQL reads too (`roi.db.day_start_sql`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


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
