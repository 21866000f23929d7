"""Downloads every audience shares."""

from __future__ import annotations

from datetime import date

from flask import Response


def pdf_response(data: bytes, filename: str, mimetype: str = "application/pdf") -> Response:
    """A PDF (or a scan's) download that no browser or proxy keeps (SECURITY B6)."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Length"] = str(len(data))
    return response


def period_args(
    since: date | None, until: date | None, part2: bool, summarize: bool = False
) -> dict[str, str]:
    """The query parameters an accounting download carries, so it holds what the page shows."""
    args: dict[str, str] = {}
    if since:
        args["since"] = since.isoformat()
    if until:
        args["until"] = until.isoformat()
    if part2:
        args["part2"] = "y"
    if summarize:
        args["summarize"] = "y"
    return args
