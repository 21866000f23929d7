"""The compliance workspace: disclosure log and audit."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("compliance", __name__, url_prefix="/compliance")

from roi.web.compliance import (  # noqa: E402,F401 - registers the routes on bp
    accounting_views,
    emergency_views,
    log_views,
    restriction_views,
    views,
    words,
)
