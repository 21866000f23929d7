"""What roi accepts from people in any field: text that is text, names and emails that read as
they look, dates a record can hold, ids the database can hold.

Pure rules with no framework in them; the web forms (roi.web.forms) and the API schemas
(roi.web.api.schemas) both apply them, so a page and the API refuse the same input.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from roi.i18n import N_, Message

#: a record's id column is INTEGER: 32-bit on PostgreSQL (whose driver binds it as such, so a
#: larger number is an error there, not a miss), 64-bit on SQLite; the smaller bound holds for both
MAX_ID = 2**31 - 1

#: no record of roi's (a birth, a consent, a request, a log entry) lies outside these days
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2200, 12, 31)
DAY_REASON = Message(
    "Give a date between %(first)s and %(last)s.",
    first=FIRST_DAY.isoformat(),
    last=LAST_DAY.isoformat(),
)
#: the same range as a pattern on `YYYY-MM-DD`, for the OpenAPI document
DAY_PATTERN = r"^(19[0-9][0-9]|2[01][0-9][0-9]|2200)-[0-9][0-9]-[0-9][0-9]$"

# The patterns are written for Python's re and JSON Schema (ECMA-262) alike: the API's OpenAPI
# document states them (roi.web.api), so a client knows the rule before it is refused.

#: any text: no NUL, and no UTF-16 half on its own (no database or encoder takes either)
TEXT_PATTERN = r"^[^\x00\ud800-\udfff]*$"
TEXT_REASON = N_("Contains a character that is not text (NUL or a broken character).")

#: names and email addresses, besides: nothing that makes one name look like another, or breaks
#: a line in a log or an email header. C0 and C1 controls (CR, LF among them) and DEL;
#: bidirectional embeddings, overrides, isolates and marks; zero-width spaces and joiners, the
#: word joiner and the byte-order mark
NAME_PATTERN = (
    r"^[^\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff"
    r"\ud800-\udfff]*$"
)
NAME_REASON = N_("Contains an invisible, control or direction-changing character; type it plainly.")

_TEXT = re.compile(TEXT_PATTERN)
_NAME = re.compile(NAME_PATTERN)


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text in any field, or None if it can."""
    return None if _TEXT.fullmatch(value) else TEXT_REASON


def name_problem(value: str) -> str | None:
    """Why `value` cannot be a person's or an organization's name or an email address."""
    return None if _NAME.fullmatch(value) else NAME_REASON


def normal_name(value: str) -> str:
    """A name in NFC, so that one name typed two ways is stored, compared and shown as one."""
    return unicodedata.normalize("NFC", value)


def day_problem(value: date) -> str | None:
    """Why `value` cannot be a date in a record, or None if it can."""
    if not FIRST_DAY <= value <= LAST_DAY:
        return DAY_REASON
    return None
