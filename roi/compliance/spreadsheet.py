"""CSV files a spreadsheet opens safely: no cell runs as a formula, none breaks a line."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

#: a spreadsheet runs a cell starting with one of these as a formula (CSV injection)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: control characters shown as escapes, so a crafted name cannot break a line or a terminal
_CONTROL_ESCAPES = {
    code: (
        "\\n" if code == 10 else "\\r" if code == 13 else "\\t" if code == 9 else f"\\x{code:02x}"
    )
    for code in [*range(32), 127]
}
#: what a multi-line cell (an address) keeps as it is: line breaks and tabs
_LAYOUT = {9: "\t", 10: "\n", 13: "\r"}


def safe_cell(value: object, *, multiline: bool = False) -> str:
    """A value as a spreadsheet cell that cannot run as a formula nor break a line.

    A cell starting with = + - @, a tab or a carriage return gets a leading apostrophe (OWASP
    "CSV injection"); control characters are written as visible escapes (SECURITY G5), except
    the line breaks and tabs of a `multiline` cell (CSV quoting keeps those inside the cell).
    """
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_STARTS):
        text = "'" + text
    escapes = {**_CONTROL_ESCAPES, **_LAYOUT} if multiline else _CONTROL_ESCAPES
    return text.translate(escapes)


def csv_file(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, multiline: bool = False
) -> bytes:
    """A CSV file of safe cells: UTF-8 with a byte-order mark (so spreadsheets read it as
    UTF-8), a header row, CRLF line ends."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value, multiline=multiline) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
