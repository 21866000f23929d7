"""API v1: disclosure decisions and provider messages (CONTRACT.md), each view one service call."""

from __future__ import annotations

from flask_smorest import Blueprint

PREFIX = "/api/v1"

decisions = Blueprint(
    "disclosure_decisions",
    __name__,
    url_prefix=f"{PREFIX}/disclosure-decisions",
    description="Ask the consent gate",
)
messages = Blueprint(
    "messages", __name__, url_prefix=f"{PREFIX}/messages", description="Provider messages"
)

blueprints = (decisions, messages)
