"""API v1: disclosure decisions and provider messages (CONTRACT.md), each view one service call."""

from __future__ import annotations

from typing import Any

from flask import Response as FlaskResponse
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validate

from roi.accounts.policy import Permission
from roi.clock import iso
from roi.consent import gate
from roi.consent.emergency import MAX_NATURE, MAX_NOT_TOLD_REASON, MAX_PERSONNEL, EmergencyBasis
from roi.extensions import db
from roi.messaging import emergencies, queries, service
from roi.web.api.schemas import ApiErrorSchema, AttachmentInSchema, Id, ReasonSchema, upload_of
from roi.web.security import actor, form_library, requires

PREFIX = "/api/v1"
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
CODES = fields.List(
    fields.String(validate=validate.Length(min=1, max=60)),
    required=True,
    validate=validate.Length(min=1, max=30),
)

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


class DecisionInSchema(Schema):
    client_id = Id(required=True)
    recipient_provider_id = Id(required=True)
    categories = CODES
    purposes = CODES


class DecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["permit", "deny"]))
    consent_id = fields.Integer(allow_none=True)
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)
    covered_until = fields.String(
        allow_none=True, metadata={"description": "on permit: how long the consent lasts"}
    )


class EmergencyInSchema(Schema):
    """Each field is checked by the service, which names every one that is missing (422)."""

    basis = fields.String(
        load_default="", metadata={"enum": [basis.value for basis in EmergencyBasis]}
    )
    nature = fields.String(load_default="", validate=validate.Length(max=MAX_NATURE))
    recipient_personnel = fields.String(
        load_default="", validate=validate.Length(max=MAX_PERSONNEL)
    )
    client_not_told_reason = fields.String(
        load_default="",
        validate=validate.Length(max=MAX_NOT_TOLD_REASON),
        metadata={"description": "why the client is not told of it; otherwise they are"},
    )


class EmergencySchema(Schema):
    id = fields.Integer(required=True)
    basis = fields.String(required=True)
    nature = fields.String(required=True)
    recipient_personnel = fields.String(required=True)
    at = fields.String(required=True, metadata={"format": "date-time"})
    client_told = fields.Boolean(required=True)


class MessageInSchema(Schema):
    client_id = Id(required=True)
    recipient_provider_id = Id(required=True)
    categories = CODES
    purpose = fields.String(required=True, validate=validate.Length(min=1, max=60))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=service.MAX_SUBJECT))
    body = fields.String(required=True, validate=validate.Length(min=1, max=service.MAX_BODY))
    reply_to_id = Id(load_default=None, allow_none=True)
    attachments = fields.List(
        fields.Nested(AttachmentInSchema),
        load_default=list,
        validate=validate.Length(max=service.MAX_ATTACHMENTS),
    )
    emergency = fields.Nested(
        EmergencyInSchema,
        load_default=None,
        allow_none=True,
        metadata={"description": "send without a consent under an emergency basis"},
    )


class AttachmentSchema(Schema):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)


class MessageSchema(Schema):
    id = fields.Integer(required=True)
    consent_id = fields.Integer(required=True, allow_none=True)
    client_id = fields.Integer(required=True)
    sender_provider_id = fields.Integer(required=True)
    recipient_provider_id = fields.Integer(required=True)
    reply_to_id = fields.Integer(allow_none=True)
    categories = fields.List(fields.String(), required=True)
    purpose = fields.String(required=True)
    subject = fields.String(required=True)
    body = fields.String(required=True)
    scope_summary = fields.String(required=True)
    part2_notice = fields.String(allow_none=True)
    sent_at = fields.String(required=True, metadata={"format": "date-time"})
    read_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True)
    emergency = fields.Nested(EmergencySchema, required=True, allow_none=True)


class BoxQuerySchema(Schema):
    box = fields.String(
        load_default="inbox", validate=validate.OneOf([b.value for b in queries.Box])
    )
    client_id = Id(load_default=None, strict=False)


def message_json(opened: service.Opened) -> dict[str, Any]:
    message = opened.message
    return {
        "id": message.id,
        "consent_id": message.consent_id,
        "client_id": message.client_id,
        "sender_provider_id": message.sender_provider_id,
        "recipient_provider_id": message.recipient_provider_id,
        "reply_to_id": message.reply_to_id,
        "categories": list(message.categories),
        "purpose": message.purpose,
        "subject": opened.subject,
        "body": opened.body,
        "scope_summary": message.scope_summary,
        "part2_notice": message.part2_notice,
        "sent_at": iso(message.sent_at),
        "read_at": iso(message.read_at) if message.read_at else None,
        "attachments": [
            {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in opened.attachments
        ],
        "emergency": emergency_json(opened.emergency) if opened.emergency else None,
    }


def emergency_json(emergency: emergencies.OpenedEmergency) -> dict[str, Any]:
    return {
        "id": emergency.id,
        "basis": emergency.basis.value,
        "nature": emergency.nature,
        "recipient_personnel": emergency.recipient_personnel,
        "at": iso(emergency.at),
        "client_told": emergency.client_told,
    }


def decision_json(decision: gate.Decision) -> dict[str, Any]:
    return {
        "decision": "permit" if decision.permitted else "deny",
        "consent_id": decision.consent_id,
        "reasons": [reason.as_json() for reason in decision.reasons],
        "covered_until": gate.covers_until(decision.consent) if decision.consent else None,
    }


@decisions.route("", methods=["POST"])
@requires(Permission.CHECK_DISCLOSURE)
@decisions.arguments(DecisionInSchema())
@decisions.response(200, DecisionSchema)
@decisions.alt_response(404, schema=ApiErrorSchema, description="No such client of yours")
@decisions.alt_response(422, schema=ApiErrorSchema, description="Unknown recipient or code")
@decisions.doc(security=BEARER)
def check_disclosure(body: dict[str, Any]) -> dict[str, Any]:
    """Would this disclosure be permitted now, and if not, why? Nothing is disclosed."""
    request = service.Request(
        client_id=body["client_id"],
        recipient_provider_id=body["recipient_provider_id"],
        categories=tuple(body["categories"]),
        purposes=tuple(body["purposes"]),
    )
    return decision_json(service.check(db.session(), actor(), form_library(), request))


@messages.route("", methods=["POST"])
@requires(Permission.SEND_MESSAGES)
@messages.arguments(MessageInSchema())
@messages.response(201, MessageSchema)
@messages.alt_response(
    403, schema=ApiErrorSchema, description="No consent covers it (`reasons` says why)"
)
@messages.alt_response(404, schema=ApiErrorSchema, description="No such client of yours")
@messages.alt_response(422, schema=ApiErrorSchema, description="Invalid fields")
@messages.alt_response(429, schema=ApiErrorSchema, description="Above the emergency rate")
@messages.doc(security=BEARER)
def send_message(body: dict[str, Any]) -> dict[str, Any]:
    """Send a message about a client; it goes out only if a consent covers it now, or, with
    `emergency`, under that emergency basis (recorded as `disclosure.emergency`)."""
    outgoing = service.Outgoing(
        client_id=body["client_id"],
        recipient_provider_id=body["recipient_provider_id"],
        categories=tuple(body["categories"]),
        purpose=body["purpose"],
        subject=body["subject"],
        body=body["body"],
        reply_to_id=body["reply_to_id"],
        attachments=tuple(upload_of(a) for a in body["attachments"]),
        emergency=emergencies.EmergencyStatement(**body["emergency"])
        if body["emergency"]
        else None,
    )
    message = service.send(db.session(), actor(), form_library(), outgoing)
    return message_json(service.as_sent(message, outgoing))


@messages.route("", methods=["GET"])
@requires(Permission.READ_MESSAGES)
# a misspelt filter is refused, not silently ignored (the answer would be wider than asked)
@messages.arguments(BoxQuerySchema(), location="query", unknown=RAISE)
@messages.response(200, MessageSchema(many=True))
@messages.doc(security=BEARER)
def list_messages(args: dict[str, Any]) -> list[dict[str, Any]]:
    """Your inbox or sent box, newest first (bodies opened; each reading is audited)."""
    session = db.session()
    found = queries.messages_for(
        session, actor(), queries.Box(args["box"]), client_id=args["client_id"]
    )
    return [message_json(opened) for opened in service.open_messages(session, actor(), found)]


@messages.route("/<int:message_id>", methods=["GET"])
@requires(Permission.READ_MESSAGES)
@messages.response(200, MessageSchema)
@messages.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@messages.doc(security=BEARER)
def get_message(message_id: int) -> dict[str, Any]:
    """One message you sent or received (reading it is audited)."""
    return message_json(service.open_message(db.session(), actor(), message_id))


@messages.route("/<int:message_id>/attachments/<int:attachment_id>", methods=["GET"])
@requires(Permission.READ_MESSAGES)
@messages.response(200, description="The attached file")
@messages.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@messages.doc(security=BEARER)
def get_attachment(message_id: int, attachment_id: int) -> FlaskResponse:
    """One attachment of a message you sent or received (reading it is audited)."""
    found, content = service.attachment_content(db.session(), actor(), message_id, attachment_id)
    response = FlaskResponse(content, mimetype=found.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="attachment-{found.id}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
