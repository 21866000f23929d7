"""Dates and times as a person reads them, in the language being spoken (`roi.i18n.speaking`):
a day in words, and a moment in a named time zone, the zone said in words.

Documents and mails both use these, so a client reads the same time on the PDF they signed and in
the mail about it. The audit trail keeps UTC (`utc_moment`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_timezone_name

from roi import i18n
from roi.clock import time_zones


def long_date(value: date) -> str:
    """'March 4, 1990'; '4 de marzo de 1990'."""
    return format_date(value, "long", locale=i18n.current_language())


def local_moment(value: datetime, time_zone: str) -> str:
    """'November 29, 2026, 4:01 PM (Eastern Standard Time)': the day and minute in `time_zone`,
    the zone named; a naive datetime is a bug and is refused."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a document")
    language = i18n.current_language()
    # zoneinfo, as roi.clock: babel's own lookup prefers pytz, whose database may be another
    # release than the system's
    moment = value.astimezone(ZoneInfo(time_zone or "UTC"))
    day = format_date(moment, "long", locale=language)
    minute = format_time(moment, "short", locale=language)
    zone = get_timezone_name(moment, "long", locale=language)
    return f"{day}, {minute} ({zone})"


def zone_name(time_zone: str, language: str | None = None) -> str:
    """'Pacific Time', 'hora del Pacífico': a time zone as people call it, in `language` (the one
    being spoken); UTC, and a name roi no longer offers (`Etc/UTC`, kept from before), as
    written."""
    if time_zone == "UTC" or time_zone not in time_zones():
        # CLDR's generic names for these read "Unknown Region (UTC) Time"
        return time_zone
    return get_timezone_name(
        ZoneInfo(time_zone), "long", locale=language or i18n.current_language()
    )


def utc_moment(value: datetime) -> str:
    """'November 23, 2026, 14:05:09 UTC': to the second, as the evidence and audit keep it."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a document")
    moment = value.astimezone(UTC)
    return f"{long_date(moment.date())}, {moment:%H:%M:%S} UTC"
