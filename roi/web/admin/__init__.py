"""Administration: users and their access."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from roi.web.admin import views  # noqa: E402,F401 - registers the routes on bp
