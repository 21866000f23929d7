"""Signing in and out, the home redirect, and changing one's password."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__)

from roi.web.auth import views  # noqa: E402,F401 - registers the routes on bp
