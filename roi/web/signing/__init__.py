"""Signing by emailed link, for clients without an account: link, date of birth, one-time code."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("signing", __name__, url_prefix="/sign")

from roi.web.signing import views  # noqa: E402,F401 - registers the routes on bp
