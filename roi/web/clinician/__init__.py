"""The clinician workspace: clients and the provider directory (releases and messages follow)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("clinician", __name__, url_prefix="/clinician")

from roi.web.clinician import (  # noqa: E402,F401 - registers the routes on bp
    consent_views,
    message_views,
    restriction_views,
    views,
)
