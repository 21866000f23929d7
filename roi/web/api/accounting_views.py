"""API v1: a client's accounting of disclosures (CONTRACT.md, 45 CFR 164.528)."""

from __future__ import annotations

from flask_smorest import Blueprint

PREFIX = "/api/v1"

accounting = Blueprint(
    "accounting",
    __name__,
    url_prefix=f"{PREFIX}/clients",
    description="Accounting of disclosures",
)

blueprints = (accounting,)
