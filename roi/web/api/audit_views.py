"""API v1: the disclosure log and chain verification (CONTRACT.md), compliance only."""

from __future__ import annotations

from flask_smorest import Blueprint

PREFIX = "/api/v1"

audit_events = Blueprint(
    "audit_events", __name__, url_prefix=f"{PREFIX}/audit-events", description="Audit log"
)
audit = Blueprint("audit", __name__, url_prefix=f"{PREFIX}/audit", description="Audit chain")

blueprints = (audit_events, audit)
