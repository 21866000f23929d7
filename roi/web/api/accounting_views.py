"""API v1: a client's accounting of disclosures (CONTRACT.md, 45 CFR 164.528), accounting
requests with their fee and letters (164.528(c)), suspensions (164.528(a)(2)) and the practice's
fee. Each view is one service call; the services scope and audit."""

from __future__ import annotations

from typing import Any

from flask import Response as FlaskResponse
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from roi.accounts.policy import Permission
from roi.clock import iso
from roi.compliance import accounting as accounting_service
from roi.compliance import requests, suspensions
from roi.compliance.accounting import Entry, Kind, Shown
from roi.compliance.models import AccountingRequest, AccountingSuspension, Channel
from roi.errors import Invalid, NotFound
from roi.extensions import db
from roi.i18n import N_
from roi.web.api.schemas import ApiErrorSchema, Day, Id
from roi.web.downloads import pdf_response
from roi.web.security import actor, form_library, practice_today, requires

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

accounting_suspensions = Blueprint(
    "accounting_suspensions",
    __name__,
    url_prefix=f"{PREFIX}/accounting-suspensions",
    description="Suspensions of the accounting (45 CFR 164.528(a)(2))",
)

accounting_settings = Blueprint(
    "accounting_settings",
    __name__,
    url_prefix=f"{PREFIX}/accounting-settings",
    description="The practice's accounting fee",
)

blueprints = (accounting, accounting_requests, accounting_suspensions, accounting_settings)


class AccountingQuerySchema(Schema):
    since = Day(
        load_default=None,
        metadata={
            "description": "first day, from its midnight where the client's practice is; "
            "default six years before today there"
        },
    )
    until = Day(
        load_default=None,
        metadata={"description": "last day, included up to midnight where the practice is"},
    )
    part2 = fields.Boolean(
        load_default=False,
        metadata={"description": "only Part 2 disclosures (42 CFR 2.25; default three years)"},
    )
    summarize = fields.Boolean(
        load_default=False,
        metadata={
            "description": "repeated disclosures to one recipient for one purpose as one entry "
            "with `count` and `last_at` (45 CFR 164.528(b)(3))"
        },
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
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in Kind]))
    basis = fields.String(required=True)
    required_by_hipaa = fields.Boolean(required=True)
    #: an emergency or outside disclosure's own id
    record_id = fields.Integer(allow_none=True)
    date_only = fields.Boolean(required=True, metadata={"description": "only the day is known"})
    count = fields.Integer(
        required=True, metadata={"description": "disclosures this entry stands for"}
    )
    last_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class AccountingRequestInSchema(Schema):
    # staff recording a request give both; a client asking for their own gives neither (roi
    # receives it today, online)
    received_on = Day(load_default=None, metadata={"description": "staff: the day it arrived"})
    channel = fields.String(
        load_default=None,
        validate=validate.OneOf([c.value for c in Channel]),
        metadata={"description": "staff: how it arrived"},
    )
    since = Day(load_default=None, allow_none=True)
    until = Day(load_default=None, allow_none=True)
    part2 = fields.Boolean(load_default=False)
    note = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=requests.MAX_NOTE)
    )


class ExtensionInSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(max=requests.MAX_REASON))


class ChangeInSchema(Schema):
    since = Day(load_default=None, allow_none=True)
    until = Day(load_default=None, allow_none=True)
    part2 = fields.Boolean(load_default=False)


class SettingsSchema(Schema):
    repeat_fee_cents = fields.Integer(
        required=True,
        metadata={"description": "the fee for a second accounting within 12 months, in cents"},
    )


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
    status = fields.String(
        required=True, validate=validate.OneOf(["open", "overdue", "fulfilled", "withdrawn"])
    )
    fee_cents = fields.Integer(
        allow_none=True, metadata={"description": "the fee the client was told in advance"}
    )
    awaiting_fee_answer = fields.Boolean(
        required=True,
        metadata={"description": "a fee was quoted: the client accepts, changes or withdraws"},
    )
    fee_accepted_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    freed_by_request_id = fields.Integer(
        allow_none=True,
        metadata={"description": "the free request whose withdrawal made this one free"},
    )
    fee_dropped_cents = fields.Integer(
        allow_none=True, metadata={"description": "the fee it carried until it was made free"}
    )
    refund_owed = fields.Boolean(
        required=True,
        metadata={"description": "made free after the client agreed to its fee: pay it back"},
    )
    withdrawn_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    fulfilled_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    report_sha256 = fields.String(allow_none=True)
    report_entries = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True, metadata={"description": "staff only"})


class SuspensionInSchema(Schema):
    agency = fields.String(required=True)
    recipient_provider_id = Id(load_default=None, allow_none=True)
    until = Day(required=True)
    written = fields.Boolean(required=True)
    statement = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "the statement; for an oral one, required: what and who"},
    )


class SuspensionSchema(Schema):
    id = fields.Integer(required=True)
    agency = fields.String(required=True)
    recipient_provider_id = fields.Integer(allow_none=True)
    until = fields.String(required=True, metadata={"format": "date"})
    written = fields.Boolean(required=True)
    statement = fields.String(allow_none=True)
    recorded_at = fields.String(required=True, metadata={"format": "date-time"})
    active = fields.Boolean(required=True)


def suspension_json(found: AccountingSuspension) -> dict[str, Any]:
    return {
        "id": found.id,
        "agency": found.agency,
        "recipient_provider_id": found.recipient_provider_id,
        "until": found.until.isoformat(),
        "written": found.written,
        "statement": suspensions.statement_of(found),
        "recorded_at": iso(found.recorded_at),
        "active": found.until >= practice_today(),
    }


def disclosure_json(entry: Entry) -> dict[str, Any]:
    """One disclosure (or summary) as CONTRACT.md writes it, with a few extra fields."""
    row = entry.row
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
        "kind": row.kind.value,
        "basis": row.basis,
        "required_by_hipaa": row.required_by_hipaa,
        "record_id": row.record_id,
        "date_only": row.date_only,
        "count": entry.count,
        "last_at": iso(entry.last_at) if entry.last_at else None,
    }


def request_json(found: AccountingRequest, *, staff: bool) -> dict[str, Any]:
    today = practice_today()
    if found.closed:
        status = "fulfilled" if found.fulfilled else "withdrawn"
    else:
        status = "overdue" if found.overdue(today) else "open"
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
        "fee_cents": found.fee_cents,
        "awaiting_fee_answer": found.awaiting_fee_answer,
        "fee_accepted_at": iso(found.fee_accepted_at) if found.fee_accepted_at else None,
        "freed_by_request_id": found.freed_by_id,
        "fee_dropped_cents": found.fee_dropped_cents,
        "refund_owed": found.refund_owed,
        "withdrawn_at": iso(found.withdrawn_at) if found.withdrawn_at else None,
        # the note is staff's own working text
        "note": requests.note_of(found) if staff else None,
    }


def _staff() -> bool:
    return actor().client_id is None


@accounting.route("/<int:client_id>/accounting-of-disclosures", methods=["GET"])
@requires(Permission.VIEW_ACCOUNTING)
# A misspelt parameter must not silently widen the answer (to six years, or to every category).
@accounting.arguments(AccountingQuerySchema(), location="query", unknown=RAISE)
@accounting.response(200, DisclosureSchema(many=True))
@accounting.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@accounting.alt_response(422, schema=ApiErrorSchema, description="Invalid range")
@accounting.doc(security=BEARER)
def accounting_of_disclosures(args: dict[str, Any], client_id: int) -> list[dict[str, Any]]:
    """Who received what about this client, oldest first (six years by default): what HIPAA
    requires (`required_by_hipaa`: emergency and 164.512 disclosures, through roi or outside
    it), then the disclosures the client authorized. Compliance of the client's organization,
    or the client."""
    found = accounting_service.accounting(
        db.session(),
        actor(),
        form_library(),
        client_id,
        since=args["since"],
        until=args["until"],
        part2=args["part2"],
        summarized=args["summarize"],
        shown=Shown.JSON,
    )
    return [disclosure_json(entry) for entry in (*found.required, *found.beyond)]


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
@requires(Permission.VIEW_ACCOUNTING)
@accounting.arguments(AccountingRequestInSchema())
@accounting.response(201, AccountingRequestSchema)
@accounting.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@accounting.alt_response(409, schema=ApiErrorSchema, description="The client's last is open")
@accounting.alt_response(422, schema=ApiErrorSchema, description="Invalid fields")
@accounting.doc(security=BEARER)
def create_request(body: dict[str, Any], client_id: int) -> dict[str, Any]:
    """Record a client's request for an accounting (compliance: the day it arrived and how), or
    ask for your own (the client: received today). Due 60 days after receipt."""
    if not _staff():
        return _ask(body, client_id)
    missing = {
        name: N_("Give it for a request staff record.")
        for name in ("received_on", "channel")
        if body[name] is None
    }
    if missing:
        raise Invalid(missing)
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


def _ask(body: dict[str, Any], client_id: int) -> dict[str, Any]:
    """A client's own request, as the portal's: for their own record only (another's is 404)."""
    if client_id != actor().client_id:
        raise NotFound("client")
    given = [name for name in ("received_on", "channel") if body[name] is not None]
    if given:
        raise Invalid({name: N_("roi records this for your own request.") for name in given})
    found = requests.ask(
        db.session(),
        actor(),
        since=body["since"],
        until=body["until"],
        part2=body["part2"],
        note=body["note"],
    )
    return request_json(found, staff=False)


@accounting_requests.route("", methods=["GET"])
@requires(Permission.MANAGE_ACCOUNTING_REQUESTS)
@accounting_requests.arguments(RequestListQuerySchema(), location="query", unknown=RAISE)
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
@accounting_requests.arguments(ExtensionInSchema())
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


@accounting_suspensions.route("", methods=["POST"])
@requires(Permission.MANAGE_ACCOUNTING_POLICY)
@accounting_suspensions.arguments(SuspensionInSchema())
@accounting_suspensions.response(201, SuspensionSchema)
@accounting_suspensions.alt_response(422, schema=ApiErrorSchema, description="Invalid fields")
@accounting_suspensions.doc(security=BEARER)
def create_suspension(body: dict[str, Any]) -> dict[str, Any]:
    """Record an agency's statement suspending its entries from accountings until `until`
    (compliance); an oral one holds at most 30 days and must be documented."""
    new = suspensions.NewSuspension(
        agency=body["agency"],
        until=body["until"],
        written=body["written"],
        recipient_provider_id=body["recipient_provider_id"],
        statement=body["statement"],
    )
    return suspension_json(suspensions.suspend(db.session(), actor(), new))


@accounting_suspensions.route("", methods=["GET"])
@requires(Permission.MANAGE_ACCOUNTING_POLICY)
@accounting_suspensions.response(200, SuspensionSchema(many=True))
@accounting_suspensions.doc(security=BEARER)
def list_suspensions() -> list[dict[str, Any]]:
    """The organization's suspensions, the latest ending first (compliance)."""
    return [suspension_json(s) for s in suspensions.suspensions(db.session(), actor())]


@accounting_requests.route("/<int:request_id>/fee-acceptance", methods=["POST"])
@requires(Permission.VIEW_ACCOUNTING)
@accounting_requests.response(200, AccountingRequestSchema)
@accounting_requests.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@accounting_requests.alt_response(409, schema=ApiErrorSchema, description="No fee to accept")
@accounting_requests.doc(security=BEARER)
def accept_fee(request_id: int) -> dict[str, Any]:
    """The client agrees to the fee they were told (or compliance records that they did)."""
    return request_json(requests.accept_fee(db.session(), actor(), request_id), staff=_staff())


@accounting_requests.route("/<int:request_id>/withdrawal", methods=["POST"])
@requires(Permission.VIEW_ACCOUNTING)
@accounting_requests.response(200, AccountingRequestSchema)
@accounting_requests.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@accounting_requests.alt_response(409, schema=ApiErrorSchema, description="Already closed")
@accounting_requests.doc(security=BEARER)
def withdraw_request(request_id: int) -> dict[str, Any]:
    """The client withdraws the request (or compliance records that they did)."""
    return request_json(requests.withdraw(db.session(), actor(), request_id), staff=_staff())


@accounting_requests.route("/<int:request_id>/change", methods=["POST"])
@requires(Permission.VIEW_ACCOUNTING)
@accounting_requests.arguments(ChangeInSchema())
@accounting_requests.response(200, AccountingRequestSchema)
@accounting_requests.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@accounting_requests.alt_response(409, schema=ApiErrorSchema, description="Already closed")
@accounting_requests.alt_response(422, schema=ApiErrorSchema, description="Invalid range")
@accounting_requests.doc(security=BEARER)
def change_request(body: dict[str, Any], request_id: int) -> dict[str, Any]:
    """The client changes the range or kind the request covers."""
    found = requests.change(
        db.session(),
        actor(),
        request_id,
        since=body["since"],
        until=body["until"],
        part2=body["part2"],
    )
    return request_json(found, staff=_staff())


@accounting_requests.route("/<int:request_id>/fee-letter.pdf", methods=["GET"])
@requires(Permission.VIEW_ACCOUNTING)
@accounting_requests.response(200, description="The letter telling the client the fee")
@accounting_requests.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@accounting_requests.alt_response(409, schema=ApiErrorSchema, description="No fee")
@accounting_requests.doc(security=BEARER)
def fee_letter(request_id: int) -> FlaskResponse:
    """The letter telling the client the fee in advance (164.528(c)(2))."""
    found, data = requests.fee_letter(db.session(), actor(), request_id)
    return pdf_response(data, f"accounting-request-{found.id}-fee.pdf")


@accounting_requests.route("/<int:request_id>/extension-letter.pdf", methods=["GET"])
@requires(Permission.VIEW_ACCOUNTING)
@accounting_requests.response(200, description="The written statement of the delay")
@accounting_requests.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@accounting_requests.alt_response(409, schema=ApiErrorSchema, description="Not extended")
@accounting_requests.doc(security=BEARER)
def extension_letter(request_id: int) -> FlaskResponse:
    """The reasons for the delay and the new date, as a letter (164.528(c)(1)(ii)(A))."""
    found, data = requests.extension_letter(db.session(), actor(), request_id)
    return pdf_response(data, f"accounting-request-{found.id}-extension.pdf")


@accounting_settings.route("", methods=["GET"])
@requires(Permission.MANAGE_ACCOUNTING_POLICY)
@accounting_settings.response(200, SettingsSchema)
@accounting_settings.doc(security=BEARER)
def get_accounting_settings() -> dict[str, Any]:
    """The practice's fee for a repeat accounting (compliance)."""
    organization_id = actor().organization_id or 0
    return {"repeat_fee_cents": requests.repeat_fee(db.session(), organization_id)}


@accounting_settings.route("", methods=["PUT"])
@requires(Permission.MANAGE_ACCOUNTING_POLICY)
@accounting_settings.arguments(SettingsSchema())
@accounting_settings.response(200, SettingsSchema)
@accounting_settings.alt_response(422, schema=ApiErrorSchema, description="Invalid amount")
@accounting_settings.doc(security=BEARER)
def set_accounting_settings(body: dict[str, Any]) -> dict[str, Any]:
    """Set the fee quoted to requests recorded from now on (compliance)."""
    found = requests.set_repeat_fee(db.session(), actor(), body["repeat_fee_cents"])
    return {"repeat_fee_cents": found.repeat_fee_cents}
