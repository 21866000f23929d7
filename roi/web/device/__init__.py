"""In-office signing: the client-only pages of a clinician's device handed to the client."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("device", __name__, url_prefix="/device")

from roi.web.device import views  # noqa: E402,F401 - registers the routes on bp
