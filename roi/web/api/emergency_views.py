"""API v1: compliance's review queue of emergency disclosures (CONTRACT.md
`/emergency-disclosures`); each view one service call, which scopes and audits."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from roi.accounts.policy import Permission
from roi.clock import iso
from roi.compliance import emergencies
from roi.extensions import db
from roi.web.api.schemas import ApiErrorSchema
from roi.web.security import actor, requires

PREFIX = "/api/v1"
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]

emergency_disclosures = Blueprint(
    "emergency_disclosures",
    __name__,
    url_prefix=f"{PREFIX}/emergency-disclosures",
    description="Emergency disclosures and their review",
)

blueprints = (emergency_disclosures,)


class QueueQuerySchema(Schema):
    reviewed = fields.Boolean(
        load_default=None,
        allow_none=True,
        metadata={"description": "true: reviewed only; false: waiting only; absent: all"},
    )


class ReviewInSchema(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=emergencies.MAX_NOTE))


class EmergencyDisclosureSchema(Schema):
    id = fields.Integer(required=True)
    message_id = fields.Integer(required=True)
    at = fields.String(required=True, metadata={"format": "date-time"})
    sender = fields.String(required=True)
    recipient = fields.String(required=True)
    client_id = fields.Integer(required=True)
    basis = fields.String(required=True)
    nature = fields.String(required=True)
    recipient_personnel = fields.String(required=True)
    client_told = fields.Boolean(required=True)
    client_not_told_reason = fields.String(allow_none=True)
    reviewed_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    review_note = fields.String(allow_none=True)


def entry_json(entry: emergencies.Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "message_id": entry.message_id,
        "at": iso(entry.at),
        "sender": entry.sender,
        "recipient": entry.recipient,
        "client_id": entry.client_id,
        "basis": entry.basis.value,
        "nature": entry.nature,
        "recipient_personnel": entry.recipient_personnel,
        "client_told": entry.client_told,
        "client_not_told_reason": entry.client_not_told_reason or None,
        "reviewed_at": iso(entry.reviewed_at) if entry.reviewed_at else None,
        "review_note": entry.review_note,
    }


@emergency_disclosures.route("", methods=["GET"])
@requires(Permission.REVIEW_EMERGENCY_DISCLOSURES)
@emergency_disclosures.arguments(QueueQuerySchema(), location="query", unknown=RAISE)
@emergency_disclosures.response(200, EmergencyDisclosureSchema(many=True))
@emergency_disclosures.alt_response(403, schema=ApiErrorSchema, description="Not compliance")
@emergency_disclosures.doc(security=BEARER)
def list_emergency_disclosures(args: dict[str, Any]) -> list[dict[str, Any]]:
    """Your organization's emergency disclosures, newest first (looking is audited)."""
    found = emergencies.queue(db.session(), actor(), reviewed=args["reviewed"])
    return [entry_json(entry) for entry in found]


@emergency_disclosures.route("/<int:disclosure_id>/review", methods=["POST"])
@requires(Permission.REVIEW_EMERGENCY_DISCLOSURES)
@emergency_disclosures.arguments(ReviewInSchema())
@emergency_disclosures.response(200, EmergencyDisclosureSchema)
@emergency_disclosures.alt_response(403, schema=ApiErrorSchema, description="Not compliance")
@emergency_disclosures.alt_response(404, schema=ApiErrorSchema, description="Not yours")
@emergency_disclosures.alt_response(409, schema=ApiErrorSchema, description="Already reviewed")
@emergency_disclosures.alt_response(422, schema=ApiErrorSchema, description="No note")
@emergency_disclosures.doc(security=BEARER)
def review_emergency_disclosure(body: dict[str, Any], disclosure_id: int) -> dict[str, Any]:
    """Record your review of one emergency disclosure, with a note (audited)."""
    return entry_json(emergencies.review(db.session(), actor(), disclosure_id, body["note"]))
