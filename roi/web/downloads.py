"""Downloads every audience shares."""

from __future__ import annotations

from flask import Response


def pdf_response(data: bytes, filename: str) -> Response:
    """A PDF download that no browser or proxy keeps (SECURITY B6)."""
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Length"] = str(len(data))
    return response
