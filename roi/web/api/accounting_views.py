"""API v1: a client's accounting of disclosures (CONTRACT.md, 45 CFR 164.528) and accounting
requests (164.528(c)). Each view is one service call; the services scope and audit."""

from __future__ import annotations

from typing import Any

from flask import Response as FlaskResponse
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from roi.accounts.policy import Permission
from roi.clock import iso, now
from roi.compliance import accounting as accounting_service
from roi.compliance import requests
from roi.compliance.accounting import Row, Shown
from roi.compliance.models import AccountingRequest, Channel
from roi.extensions import db
from roi.web.api.schemas import ApiErrorSchema, Day
from roi.web.downloads import pdf_response
from roi.web.security import actor, form_library, requires

PREFIX = "/api/v1"
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]

accounting = Blueprint(
    "accounting",
    __name__,
    url_prefix=f"{PREFIX}/clients",
    description="Accounting of disclosures",
)
accounting_requests = Blueprint(
    "accounting_requests",
    __name__,
    url_prefix=f"{PREFIX}/accounting-requests",
    description="Accounting requests",
)

blueprints = (accounting, accounting_requests)


class AccountingQuerySchema(Schema):
    since = Day(
        load_default=None, metadata={"description": "first day (UTC); default six years ago"}
    )
    until = Day(load_default=None, metadata={"description": "last day (UTC), included"})
    part2 = fields.Boolean(
        load_default=False,
        metadata={"description": "only Part 2 disclosures (42 CFR 2.25; default three years)"},
    )


class RecipientSchema(Schema):
    provider_id = fields.Integer(allow_none=True)
    name = fields.String(required=True)
    organization = fields.String(required=True)
    address = fields.String(required=True)


class DisclosureSchema(Schema):
    at = fields.String(required=True, metadata={"format": "date-time"})
    recipient = fields.Nested(RecipientSchema, required=True)
    description = fields.String(required=True)
    purpose = fields.String(required=True)
    purpose_code = fields.String(allow_none=True)
    categories = fields.List(fields.String(), required=True)
    part2 = fields.Boolean(required=True)
    consent_id = fields.Integer(allow_none=True)
    message_id = fields.Integer(allow_none=True)


class AccountingRequestInSchema(Schema):
    received_on = Day(required=True)
    channel = fields.String(required=True, validate=validate.OneOf([c.value for c in Channel]))
    since = Day(load_default=None, allow_none=True)
    until = Day(load_default=None, allow_none=True)
    part2 = fields.Boolean(load_default=False)
    note = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=requests.MAX_NOTE)
    )


class ExtensionInSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(max=requests.MAX_REASON))


class RequestListQuerySchema(Schema):
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "fulfilled"]))


class AccountingRequestSchema(Schema):
    id = fields.Integer(required=True)
    client_id = fields.Integer(required=True)
    received_on = fields.String(required=True, metadata={"format": "date"})
    channel = fields.String(required=True)
    since = fields.String(required=True, metadata={"format": "date"})
    until = fields.String(required=True, metadata={"format": "date"})
    part2 = fields.Boolean(required=True)
    due_on = fields.String(required=True, metadata={"format": "date"})
    extended_to = fields.String(allow_none=True, metadata={"format": "date"})
    due = fields.String(required=True, metadata={"format": "date"})
    extension_reason = fields.String(allow_none=True)
    free = fields.Boolean(required=True)
    fee_may_apply = fields.Boolean(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["open", "overdue", "fulfilled"]))
    fulfilled_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    report_sha256 = fields.String(allow_none=True)
    report_entries = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True, metadata={"description": "staff only"})


def disclosure_json(row: Row) -> dict[str, Any]:
    """One disclosure as CONTRACT.md writes it, with a few extra fields."""
    return {
        "at": iso(row.at),
        "recipient": {
            "provider_id": row.recipient.provider_id,
            "name": row.recipient.name,
            "organization": row.recipient.organization,
            "address": row.recipient.address,
        },
        "description": row.description,
        "purpose": row.purpose,
        "purpose_code": row.purpose_code,
        "categories": list(row.categories),
        "part2": row.part2,
        "consent_id": row.consent_id,
        "message_id": row.message_id,
    }


def request_json(found: AccountingRequest, *, staff: bool) -> dict[str, Any]:
    today = now().date()
    status = "fulfilled" if found.fulfilled else ("overdue" if found.overdue(today) else "open")
    return {
        "id": found.id,
        "client_id": found.client_id,
        "received_on": found.received_on.isoformat(),
        "channel": found.channel.value,
        "since": found.period_start.isoformat(),
        "until": found.period_end.isoformat(),
        "part2": found.part2,
        "due_on": found.due_on.isoformat(),
        "extended_to": found.extended_to.isoformat() if found.extended_to else None,
        "due": found.due.isoformat(),
        "extension_reason": requests.extension_reason_of(found),
        "free": found.free,
        "fee_may_apply": not found.free,
        "status": status,
        "fulfilled_at": iso(found.fulfilled_at) if found.fulfilled_at else None,
        "report_sha256": found.report_sha256,
        "report_entries": found.report_entries,
        # the note is staff's own working text
        "note": requests.note_of(found) if staff else None,
    }


def _staff() -> bool:
    return actor().client_id is None


@accounting.route("/<int:client_id>/accounting-of-disclosures", methods=["GET"])
@requires(Permission.VIEW_ACCOUNTING)
# A misspelt parameter must not silently widen the answer (to six years, or to every category).
@accounting.arguments(AccountingQuerySchema, location="query", unknown=RAISE)
@accounting.response(200, DisclosureSchema(many=True))
@accounting.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@accounting.alt_response(422, schema=ApiErrorSchema, description="Invalid range")
@accounting.doc(security=BEARER)
def accounting_of_disclosures(args: dict[str, Any], client_id: int) -> list[dict[str, Any]]:
    """Who received what about this client: every permitted disclosure in the range, oldest
    first (six years by default). Compliance of the client's organization, or the client."""
    found = accounting_service.accounting(
        db.session(),
        actor(),
        form_library(),
        client_id,
        since=args["since"],
        until=args["until"],
        part2=args["part2"],
        shown=Shown.JSON,
    )
    return [disclosure_json(row) for row in found.rows]


@accounting.route("/<int:client_id>/accounting-requests", methods=["GET"])
@requires(Permission.VIEW_ACCOUNTING)
@accounting.response(200, AccountingRequestSchema(many=True))
@accounting.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@accounting.doc(security=BEARER)
def list_client_requests(client_id: int) -> list[dict[str, Any]]:
    """A client's accounting requests, newest first."""
    found = requests.client_requests(db.session(), actor(), client_id)
    return [request_json(r, staff=_staff()) for r in found]


@accounting.route("/<int:client_id>/accounting-requests", methods=["POST"])
@requires(Permission.MANAGE_ACCOUNTING_REQUESTS)
@accounting.arguments(AccountingRequestInSchema)
@accounting.response(201, AccountingRequestSchema)
@accounting.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@accounting.alt_response(422, schema=ApiErrorSchema, description="Invalid fields")
@accounting.doc(security=BEARER)
def create_request(body: dict[str, Any], client_id: int) -> dict[str, Any]:
    """Record a client's request for an accounting (compliance). Due 60 days after receipt."""
    new = requests.NewRequest(
        client_id=client_id,
        received_on=body["received_on"],
        channel=Channel(body["channel"]),
        since=body["since"],
        until=body["until"],
        part2=body["part2"],
        note=body["note"],
    )
    return request_json(requests.record(db.session(), actor(), new), staff=True)


@accounting_requests.route("", methods=["GET"])
@requires(Permission.MANAGE_ACCOUNTING_REQUESTS)
@accounting_requests.arguments(RequestListQuerySchema, location="query", unknown=RAISE)
@accounting_requests.response(200, AccountingRequestSchema(many=True))
@accounting_requests.doc(security=BEARER)
def list_requests(args: dict[str, Any]) -> list[dict[str, Any]]:
    """Open requests, soonest due first; or the latest fulfilled ones (compliance)."""
    if args["status"] == "open":
        found = requests.open_requests(db.session(), actor())
    else:
        found = requests.fulfilled_requests(db.session(), actor())
    return [request_json(r, staff=True) for r in found]


@accounting_requests.route("/<int:request_id>", methods=["GET"])
@requires(Permission.VIEW_ACCOUNTING)
@accounting_requests.response(200, AccountingRequestSchema)
@accounting_requests.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@accounting_requests.doc(security=BEARER)
def get_request(request_id: int) -> dict[str, Any]:
    """One accounting request (compliance of the organization, or the client)."""
    return request_json(requests.request_for(db.session(), actor(), request_id), staff=_staff())


@accounting_requests.route("/<int:request_id>/extension", methods=["POST"])
@requires(Permission.MANAGE_ACCOUNTING_REQUESTS)
@accounting_requests.arguments(ExtensionInSchema)
@accounting_requests.response(200, AccountingRequestSchema)
@accounting_requests.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@accounting_requests.alt_response(409, schema=ApiErrorSchema, description="Already extended")
@accounting_requests.alt_response(422, schema=ApiErrorSchema, description="No reason given")
@accounting_requests.doc(security=BEARER)
def extend_request(body: dict[str, Any], request_id: int) -> dict[str, Any]:
    """Extend the deadline once by 30 days, with the written reason for the delay."""
    found = requests.extend(db.session(), actor(), request_id, body["reason"])
    return request_json(found, staff=True)


@accounting_requests.route("/<int:request_id>/fulfilment", methods=["POST"])
@requires(Permission.MANAGE_ACCOUNTING_REQUESTS)
@accounting_requests.response(200, AccountingRequestSchema)
@accounting_requests.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@accounting_requests.alt_response(409, schema=ApiErrorSchema, description="Already fulfilled")
@accounting_requests.doc(security=BEARER)
def fulfil_request(request_id: int) -> dict[str, Any]:
    """Generate the accounting for the range asked for and attach it (sealed, with SHA-256)."""
    found = requests.fulfil(db.session(), actor(), form_library(), request_id)
    return request_json(found, staff=True)


@accounting_requests.route("/<int:request_id>/report.pdf", methods=["GET"])
@requires(Permission.VIEW_ACCOUNTING)
@accounting_requests.response(200, description="The report PDF, byte for byte as given")
@accounting_requests.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@accounting_requests.alt_response(409, schema=ApiErrorSchema, description="Not fulfilled yet")
@accounting_requests.doc(security=BEARER)
def request_report(request_id: int) -> FlaskResponse:
    """The report a fulfilled request was answered with; its SHA-256 is `report_sha256`."""
    found, data = requests.report(db.session(), actor(), request_id)
    return pdf_response(data, f"accounting-request-{found.id}.pdf")
