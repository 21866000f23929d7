"""The one clock: every time roi stores or compares is an aware UTC datetime."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as CONTRACT.md writes every time."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
