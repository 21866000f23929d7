"""API v1: disclosures made outside roi (CONTRACT.md `POST /clients/{id}/disclosures`).

Each view is one call of `roi.compliance.disclosures`, which scopes (a client of the actor's
organization, else 404) and audits (`disclosure.recorded`).
"""

from __future__ import annotations

from typing import Any

from flask import Response as FlaskResponse
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from roi.accounts.policy import Permission
from roi.clock import iso
from roi.compliance import disclosures
from roi.compliance.models import DisclosureBasis, OutsideDisclosure
from roi.extensions import db
from roi.web.api.schemas import ApiErrorSchema, AttachmentInSchema, Day, Id, upload_of
from roi.web.inputs import takes_scans
from roi.web.security import actor, requires

PREFIX = "/api/v1"
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]

outside = Blueprint(
    "outside_disclosures",
    __name__,
    url_prefix=PREFIX,
    description="Disclosures made outside roi",
)
blueprints = (outside,)


class RecipientInSchema(Schema):
    provider_id = Id(load_default=None, allow_none=True)
    name = fields.String(load_default=None, allow_none=True)
    address = fields.String(load_default=None, allow_none=True)


class OutsideDisclosureInSchema(Schema):
    disclosed_on = Day(required=True)
    recipient = fields.Nested(RecipientInSchema, required=True)
    description = fields.String(required=True)
    purpose = fields.String(required=True)
    basis = fields.String(
        required=True, validate=validate.OneOf([b.value for b in DisclosureBasis])
    )
    request_document = fields.Nested(AttachmentInSchema, load_default=None, allow_none=True)
    substance_use_records = fields.Boolean(
        load_default=False,
        metadata={"description": "it carried substance-use-disorder records (42 CFR Part 2)"},
    )


class RecipientOutSchema(Schema):
    provider_id = fields.Integer(allow_none=True)
    name = fields.String(allow_none=True)
    address = fields.String(allow_none=True)


class OutsideDisclosureSchema(Schema):
    id = fields.Integer(required=True)
    client_id = fields.Integer(required=True)
    disclosed_on = fields.String(required=True, metadata={"format": "date"})
    recipient = fields.Nested(RecipientOutSchema, required=True)
    description = fields.String(required=True)
    purpose = fields.String(required=True)
    basis = fields.String(required=True)
    substance_use_records = fields.Boolean(required=True)
    request_document = fields.Dict(
        allow_none=True, metadata={"description": "`{content_type, sha256}` of the request kept"}
    )
    recorded_by = fields.Integer(required=True)
    recorded_at = fields.String(required=True, metadata={"format": "date-time"})


def disclosure_json(found: OutsideDisclosure) -> dict[str, Any]:
    text = disclosures.opened(found)
    return {
        "id": found.id,
        "client_id": found.client_id,
        "disclosed_on": found.disclosed_on.isoformat(),
        "recipient": {
            "provider_id": found.recipient_provider_id,
            "name": text.recipient_name,
            "address": text.recipient_address,
        },
        "description": text.description,
        "purpose": text.purpose,
        "basis": found.basis.value,
        "substance_use_records": found.substance_use_records,
        "request_document": (
            {"content_type": found.request_content_type, "sha256": found.request_sha256}
            if found.request_sha256
            else None
        ),
        "recorded_by": found.recorded_by_id,
        "recorded_at": iso(found.recorded_at),
    }


@outside.route("/clients/<int:client_id>/disclosures", methods=["POST"])
@requires(Permission.RECORD_OUTSIDE_DISCLOSURE)
@takes_scans
@outside.arguments(OutsideDisclosureInSchema())
@outside.response(201, OutsideDisclosureSchema)
@outside.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@outside.alt_response(422, schema=ApiErrorSchema, description="Invalid fields")
@outside.doc(security=BEARER)
def record_disclosure(body: dict[str, Any], client_id: int) -> dict[str, Any]:
    """Record a disclosure made by phone, fax, mail or in court (clinician or compliance of the
    client's organization); the client's accounting lists it on `disclosed_on`."""
    recipient = body["recipient"]
    document = body["request_document"]
    new = disclosures.NewOutsideDisclosure(
        client_id=client_id,
        disclosed_on=body["disclosed_on"],
        description=body["description"],
        purpose=body["purpose"],
        basis=body["basis"],
        recipient_provider_id=recipient["provider_id"],
        recipient_name=recipient["name"],
        recipient_address=recipient["address"],
        request_document=upload_of(document) if document else None,
        substance_use_records=body["substance_use_records"],
    )
    return disclosure_json(disclosures.record(db.session(), actor(), new))


@outside.route("/clients/<int:client_id>/disclosures", methods=["GET"])
@requires(Permission.RECORD_OUTSIDE_DISCLOSURE)
@outside.response(200, OutsideDisclosureSchema(many=True))
@outside.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@outside.doc(security=BEARER)
def list_disclosures(client_id: int) -> list[dict[str, Any]]:
    """The disclosures made outside roi recorded about this client, newest first."""
    found = disclosures.disclosures_of(db.session(), actor(), client_id)
    return [disclosure_json(d) for d in found]


@outside.route("/outside-disclosures/<int:disclosure_id>/request-document", methods=["GET"])
@requires(Permission.RECORD_OUTSIDE_DISCLOSURE)
@outside.response(200, description="The written request, as recorded")
@outside.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@outside.doc(security=BEARER)
def request_document(disclosure_id: int) -> FlaskResponse:
    """The written request kept with a disclosure (downloading it is audited)."""
    found, content = disclosures.request_document(db.session(), actor(), disclosure_id)
    response = FlaskResponse(content, mimetype=found.request_content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="request-{found.id}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
