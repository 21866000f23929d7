"""API v1: FHIR R4 exports of consents, audit entries and a client's record."""

from __future__ import annotations

from flask_smorest import Blueprint

PREFIX = "/api/v1"

fhir = Blueprint("fhir", __name__, url_prefix=PREFIX, description="FHIR R4 export")

blueprints = (fhir,)
