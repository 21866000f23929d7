"""The client portal: a client's own releases."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/portal")

from roi.web.portal import (  # noqa: E402,F401 - registers the routes on bp
    accounting_views,
    restriction_views,
    share_views,
    views,
)
