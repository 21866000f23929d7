"""API v1: restrictions the client asked for (CONTRACT.md `/restrictions`, 45 CFR 164.522(a));
each view one call of `roi.consent.restrictions`, which scopes and audits."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from roi.accounts.policy import Permission
from roi.clock import iso
from roi.consent import restrictions
from roi.consent.models import Restriction
from roi.extensions import db
from roi.web.api.schemas import ApiErrorSchema, Id
from roi.web.security import actor, form_library, requires

PREFIX = "/api/v1"
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]

client_restrictions = Blueprint(
    "client_restrictions",
    __name__,
    url_prefix=f"{PREFIX}/clients",
    description="Restrictions a client asked for",
)
restriction_calls = Blueprint(
    "restrictions",
    __name__,
    url_prefix=f"{PREFIX}/restrictions",
    description="Deciding and ending restrictions",
)

blueprints = (client_restrictions, restriction_calls)


class RestrictionInSchema(Schema):
    recipient_provider_id = Id(load_default=None, allow_none=True)
    categories = fields.List(
        fields.String(validate=validate.Length(min=1, max=60)),
        load_default=list,
        validate=validate.Length(max=30),
    )
    description = fields.String(
        required=True, validate=validate.Length(min=1, max=restrictions.MAX_DESCRIPTION)
    )
    paid_out_of_pocket = fields.Boolean(
        load_default=False,
        metadata={"description": "to a health plan, for care paid in full out of pocket"},
    )


class RestrictionDecisionInSchema(Schema):
    agree = fields.Boolean(required=True)
    reason = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=restrictions.MAX_REASON)
    )


class TerminationInSchema(Schema):
    reason = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=restrictions.MAX_REASON)
    )
    clients_request = fields.Boolean(
        load_default=False,
        metadata={
            "description": "staff record the client's own request to end it (letter, phone, in "
            "person); the only way staff end one on a health plan for care paid out of pocket"
        },
    )


class RestrictionSchema(Schema):
    id = fields.Integer(required=True)
    client_id = fields.Integer(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["requested", "agreed", "declined", "terminated"])
    )
    recipient_provider_id = fields.Integer(allow_none=True)
    categories = fields.List(fields.String(), required=True)
    description = fields.String(required=True)
    paid_out_of_pocket = fields.Boolean(required=True)
    requested_at = fields.String(required=True, metadata={"format": "date-time"})
    requested_via = fields.String(required=True)
    decided_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    decision_reason = fields.String(allow_none=True)
    terminated_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    terminated_by = fields.String(allow_none=True)
    termination_reason = fields.String(allow_none=True)


def restriction_json(found: Restriction) -> dict[str, Any]:
    return {
        "id": found.id,
        "client_id": found.client_id,
        "status": found.status.value,
        "recipient_provider_id": found.recipient_provider_id,
        "categories": list(found.categories),
        "description": restrictions.text_of(found, "description_sealed"),
        "paid_out_of_pocket": found.paid_out_of_pocket,
        "requested_at": iso(found.requested_at),
        "requested_via": found.requested_via,
        "decided_at": iso(found.decided_at) if found.decided_at else None,
        "decision_reason": restrictions.text_of(found, "decision_reason_sealed") or None,
        "terminated_at": iso(found.terminated_at) if found.terminated_at else None,
        "terminated_by": found.terminated_by,
        "termination_reason": restrictions.text_of(found, "termination_reason_sealed") or None,
    }


@client_restrictions.route("/<int:client_id>/restrictions", methods=["POST"])
@requires(Permission.REQUEST_RESTRICTION)
@client_restrictions.arguments(RestrictionInSchema())
@client_restrictions.response(201, RestrictionSchema)
@client_restrictions.alt_response(404, schema=ApiErrorSchema, description="Not your client")
@client_restrictions.alt_response(422, schema=ApiErrorSchema, description="Invalid fields")
@client_restrictions.doc(security=BEARER)
def request_restriction(body: dict[str, Any], client_id: int) -> dict[str, Any]:
    """Ask that some information not be shared (the client; or staff on the client's behalf)."""
    new = restrictions.NewRestriction(
        recipient_provider_id=body["recipient_provider_id"],
        categories=tuple(body["categories"]),
        description=body["description"],
        paid_out_of_pocket=body["paid_out_of_pocket"],
    )
    found = restrictions.request(db.session(), actor(), form_library(), client_id, new)
    return restriction_json(found)


@client_restrictions.route("/<int:client_id>/restrictions", methods=["GET"])
@requires(Permission.REQUEST_RESTRICTION)
@client_restrictions.response(200, RestrictionSchema(many=True))
@client_restrictions.alt_response(404, schema=ApiErrorSchema, description="Not your client")
@client_restrictions.doc(security=BEARER)
def list_restrictions(client_id: int) -> list[dict[str, Any]]:
    """A client's restrictions, newest first."""
    found = restrictions.restrictions_for(db.session(), actor(), client_id)
    return [restriction_json(r) for r in found]


@restriction_calls.route("/<int:restriction_id>/decision", methods=["POST"])
@requires(Permission.DECIDE_RESTRICTION)
@restriction_calls.arguments(RestrictionDecisionInSchema())
@restriction_calls.response(200, RestrictionSchema)
@restriction_calls.alt_response(404, schema=ApiErrorSchema, description="Not yours")
@restriction_calls.alt_response(409, schema=ApiErrorSchema, description="Already decided")
@restriction_calls.alt_response(422, schema=ApiErrorSchema, description="Must be agreed")
@restriction_calls.doc(security=BEARER)
def decide_restriction(body: dict[str, Any], restriction_id: int) -> dict[str, Any]:
    """Agree to or decline a requested restriction (staff of the client's practice)."""
    found = restrictions.decide(
        db.session(), actor(), restriction_id, agree=body["agree"], reason=body["reason"]
    )
    return restriction_json(found)


@restriction_calls.route("/<int:restriction_id>/termination", methods=["POST"])
@requires(Permission.REQUEST_RESTRICTION)
@restriction_calls.arguments(TerminationInSchema())
@restriction_calls.response(200, RestrictionSchema)
@restriction_calls.alt_response(404, schema=ApiErrorSchema, description="Not yours")
@restriction_calls.alt_response(409, schema=ApiErrorSchema, description="Not in force")
@restriction_calls.doc(security=BEARER)
def terminate_restriction(body: dict[str, Any], restriction_id: int) -> dict[str, Any]:
    """End a restriction from now on (the client at any time; the practice, telling the client)."""
    found = restrictions.terminate(
        db.session(),
        actor(),
        restriction_id,
        reason=body["reason"],
        clients_request=body["clients_request"],
    )
    return restriction_json(found)
