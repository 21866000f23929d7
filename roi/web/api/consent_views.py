"""API v1: form templates and consents (CONTRACT.md), each view one service call."""

from __future__ import annotations

from typing import Any

from flask import Response as FlaskResponse
from flask import request
from flask_smorest import Blueprint
from marshmallow import RAISE

from roi.accounts.policy import Permission
from roi.actor import Role
from roi.clock import iso, now
from roi.consent import lifecycle, queries
from roi.consent.library import FormTemplate
from roi.consent.models import (
    Consent,
    ConsentStatus,
    Direction,
    ExpiryEventKind,
    OutsideMethod,
    Revocation,
    SignerRelationship,
)
from roi.consent.representation import signer_rule_of
from roi.errors import Invalid
from roi.extensions import db
from roi.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_
from roi.web.api.schemas import (
    ApiErrorSchema,
    ConsentInSchema,
    ConsentQuerySchema,
    ConsentSchema,
    ExpiryEventInSchema,
    FormTemplateQuerySchema,
    FormTemplateSchema,
    PaperConsentInSchema,
    RevocationInSchema,
    SignatureInSchema,
    upload_of,
)
from roi.web.downloads import pdf_response
from roi.web.inputs import takes_scans
from roi.web.security import actor, client_ip, form_library, requires, settings

PREFIX = "/api/v1"
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]

templates = Blueprint(
    "form_templates", __name__, url_prefix=f"{PREFIX}/form-templates", description="Release forms"
)
consents = Blueprint("consents", __name__, url_prefix=f"{PREFIX}/consents", description="Consents")


def template_json(template: FormTemplate) -> dict[str, Any]:
    return {
        "id": template.id,
        "title": template.title,
        "version": template.version,
        "kind": template.kind.value,
        "categories": [{"code": c.code, "label": c.label} for c in template.categories],
        "purposes": [{"code": p.code, "label": p.label} for p in template.purposes],
    }


def consent_json(consent: Consent) -> dict[str, Any]:
    """A consent as CONTRACT.md writes it; `status` is the state now (past its date = expired)."""

    def at(value: object) -> str | None:
        return iso(value) if value is not None else None  # type: ignore[arg-type]

    return {
        "id": consent.id,
        "status": consent.status_at(now()).value,
        "client_id": consent.client_id,
        "template_id": consent.template_id,
        "template_version": consent.template_version,
        "language": consent.language,
        "kind": consent.kind,
        "discloser": {
            "provider_id": consent.discloser_provider_id,
            "name": consent.discloser.name,
            "organization_id": consent.organization_id,
            "organization": consent.organization.name,
        },
        "recipient_provider_id": consent.recipient_provider_id,
        "categories": list(consent.categories),
        "purposes": list(consent.purposes),
        "information_description": lifecycle.description_of(consent),
        "direction": consent.direction.value,
        "signer_relationship": consent.signer_relationship.value,
        "required_signer": (rule := signer_rule_of(consent)).who.value,
        "required_signer_reason": rule.reason,
        "expires_on": consent.expires_on,
        "expires_at": at(lifecycle.date_end(consent)),
        "expiry_event": consent.expiry_event,
        "expiry_event_kind": consent.expiry_event_kind.value if consent.expiry_event_kind else None,
        "created_at": at(consent.created_at),
        "sent_at": at(consent.sent_at),
        "signed_at": at(consent.signed_at),
        "revoked_at": at(consent.revoked_at),
        "expired_at": at(consent.expired_at),
        "voided_at": at(consent.voided_at),
        "supersedes_id": consent.supersedes_id,
        "share_request_id": consent.share_request_id,
        "document_sha256": consent.document_sha256,
        "signature_method": consent.signature.method if consent.signature else None,
        "revocation": _revocation_json(consent.revocation),
    }


def _revocation_json(revocation: Revocation | None) -> dict[str, Any] | None:
    if revocation is None:
        return None
    return {
        "method": revocation.method,
        "received_on": revocation.received_on,
        "recorded_by": revocation.revoked_by_id,
        "confirmed_on": revocation.confirmed_on,
    }


@templates.route("", methods=["GET"])
@requires(Permission.SIGNED_IN)
@templates.arguments(FormTemplateQuerySchema(), location="query", unknown=RAISE)
@templates.response(200, FormTemplateSchema(many=True))
@templates.doc(security=BEARER)
def list_form_templates(query: dict[str, Any]) -> list[dict[str, Any]]:
    """The release forms this installation offers, their texts in the language of `?lang=`,
    else of Accept-Language (a form without that language's text is in English)."""
    language = query["lang"] or request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE
    return [template_json(t.in_language(language)) for t in form_library().all()]


@consents.route("", methods=["POST"])
@requires(Permission.PREPARE_CONSENT)
@consents.arguments(ConsentInSchema())
@consents.response(201, ConsentSchema)
@consents.alt_response(422, schema=ApiErrorSchema, description="Invalid fields")
@consents.alt_response(404, schema=ApiErrorSchema, description="No such client of yours")
@consents.doc(security=BEARER)
def create_consent(body: dict[str, Any]) -> dict[str, Any]:
    """Create a draft release for a client of your organization."""
    return consent_json(
        lifecycle.create(db.session(), actor(), consent_fields(body), form_library())
    )


def consent_fields(body: dict[str, Any]) -> lifecycle.ConsentFields:
    """The release's own fields of a `POST /consents` (or `/consents/paper`) body."""
    return lifecycle.ConsentFields(
        client_id=body["client_id"],
        template_id=body["template_id"],
        recipient_provider_id=body["recipient_provider_id"],
        categories=tuple(body["categories"]),
        purposes=tuple(body["purposes"]),
        information_description=body["information_description"],
        expires_on=body["expires_on"],
        expiry_event=body["expiry_event"],
        expiry_event_kind=ExpiryEventKind(kind) if (kind := body["expiry_event_kind"]) else None,
        direction=Direction(body["direction"]),
        signer_relationship=SignerRelationship(body["signer_relationship"]),
        share_request_id=body["share_request_id"],
        language=body["language"],
    )


@consents.route("/paper", methods=["POST"])
@requires(Permission.PREPARE_CONSENT)
@takes_scans
@consents.arguments(PaperConsentInSchema())
@consents.response(201, ConsentSchema)
@consents.alt_response(422, schema=ApiErrorSchema, description="Missing elements, each named")
@consents.alt_response(404, schema=ApiErrorSchema, description="No such client of yours")
@consents.doc(security=BEARER)
def record_paper_consent(body: dict[str, Any]) -> dict[str, Any]:
    """Record a release signed on paper from its scan: active at once, signature_method
    `paper`; refused, naming each missing element, as a send would be."""
    paper = lifecycle.PaperSignature(
        signed_on=body["signed_on"],
        signer_name=body["signer_name"],
        relationship=SignerRelationship(body["signer_relationship"]),
        representative_authority=body.get("representative_authority"),
        scan=upload_of(body["scan"]),
        language=body["language"],
    )
    consent = lifecycle.record_paper(
        db.session(), actor(), consent_fields(body), paper, form_library()
    )
    return consent_json(consent)


@consents.route("", methods=["GET"])
@requires(Permission.VIEW_CONSENTS)
# a misspelt filter is refused, not silently ignored (the answer would be wider than asked)
@consents.arguments(ConsentQuerySchema(), location="query", unknown=RAISE)
@consents.response(200, ConsentSchema(many=True))
@consents.doc(security=BEARER)
def list_consents(args: dict[str, Any]) -> list[dict[str, Any]]:
    """The consents you may see, newest first."""
    status = ConsentStatus(args["status"]) if args.get("status") else None
    found = queries.consents_for(
        db.session(), actor(), client_id=args.get("client_id"), status=status
    )
    return [consent_json(c) for c in found]


@consents.route("/<int:consent_id>", methods=["GET"])
@requires(Permission.VIEW_CONSENTS)
@consents.response(200, ConsentSchema)
@consents.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@consents.doc(security=BEARER)
def get_consent(consent_id: int) -> dict[str, Any]:
    """One consent you may see."""
    return consent_json(queries.consent_for(db.session(), actor(), consent_id))


@consents.route("/<int:consent_id>/send", methods=["POST"])
@requires(Permission.PREPARE_CONSENT)
@consents.response(200, ConsentSchema)
@consents.alt_response(409, schema=ApiErrorSchema, description="Not a draft")
@consents.alt_response(422, schema=ApiErrorSchema, description="Missing elements, each named")
@consents.doc(security=BEARER)
def send_consent(consent_id: int) -> dict[str, Any]:
    """Send a complete draft for signature (the client gets an emailed link if they have an
    email address on file)."""
    sent = lifecycle.send_for_signature(
        db.session(),
        actor(),
        consent_id,
        form_library(),
        invitation_lifetime=settings().invitation_lifetime,
    )
    return consent_json(sent.consent)


@consents.route("/<int:consent_id>/signing-link", methods=["POST"])
@requires(Permission.PREPARE_CONSENT)
@consents.response(200, ConsentSchema)
@consents.alt_response(409, schema=ApiErrorSchema, description="Not waiting for a signature")
@consents.alt_response(422, schema=ApiErrorSchema, description="The client has no email address")
@consents.doc(security=BEARER)
def resend_signing_link(consent_id: int) -> dict[str, Any]:
    """Mail the client a new link to sign a release waiting for their signature (the first
    expired, was locked, or never arrived); the earlier link stops working."""
    sent = lifecycle.resend_signing_link(
        db.session(), actor(), consent_id, invitation_lifetime=settings().invitation_lifetime
    )
    return consent_json(sent.consent)


@consents.route("/<int:consent_id>/signature", methods=["POST"])
@requires(Permission.SIGN_CONSENT)
@consents.arguments(SignatureInSchema())
@consents.response(200, ConsentSchema)
@consents.alt_response(409, schema=ApiErrorSchema, description="Not waiting for a signature")
@consents.doc(security=BEARER)
def sign_consent(body: dict[str, Any], consent_id: int) -> dict[str, Any]:
    """Sign a consent waiting for your signature (clients)."""
    signed = lifecycle.sign_as_client(
        db.session(),
        actor(),
        consent_id,
        lifecycle.SignatureInput(
            signer_name=body["signer_name"],
            relationship=SignerRelationship(body["signer_relationship"]),
            agree=body["agree"],
            representative_authority=body.get("representative_authority"),
            language=body["language"],
        ),
        lifecycle.Identity(
            method="api_token",
            # marked: the evidence page of the signed PDF says it in the document's language
            assurance=N_("Signed in to roi with a password (API token)"),
            ip=client_ip(),
            user_agent=request.headers.get("User-Agent"),
            signer_user_id=actor().user_id,
        ),
        form_library(),
    )
    return consent_json(signed)


@consents.route("/<int:consent_id>/document.pdf", methods=["GET"])
@requires(Permission.VIEW_CONSENTS)
@consents.response(200, description="The signed PDF exactly as signed (application/pdf)")
@consents.alt_response(404, schema=ApiErrorSchema, description="Not found, not yours, not signed")
@consents.doc(security=BEARER)
def consent_document(consent_id: int) -> FlaskResponse:
    """The signed PDF; its SHA-256 equals `document_sha256`."""
    consent, document = lifecycle.signed_pdf(db.session(), actor(), consent_id)
    return pdf_response(document, f"release-{consent.id}.pdf")


@consents.route("/<int:consent_id>/revocation", methods=["POST"])
# the client revokes their own consent; staff of the disclosing practice record one received
# outside roi: the services check which (REVOKE_CONSENT, RECORD_REVOCATION)
@requires(Permission.VIEW_CONSENTS)
@takes_scans
@consents.arguments(RevocationInSchema())
@consents.response(200, ConsentSchema)
@consents.alt_response(409, schema=ApiErrorSchema, description="Not active")
@consents.alt_response(422, schema=ApiErrorSchema, description="Invalid fields")
@consents.doc(security=BEARER)
def revoke_consent(body: dict[str, Any], consent_id: int) -> dict[str, Any]:
    """Revoke your consent (clients), or record a revocation received by letter, fax, email,
    in person or by phone (clinicians and compliance of the disclosing practice); effective at
    once."""
    if actor().role is Role.CLIENT:
        revoked = lifecycle.revoke(
            db.session(), actor(), consent_id, reason=body.get("reason"), method="api"
        )
        return consent_json(revoked)
    missing = {
        name: "Required when staff record a revocation received outside roi."
        for name in ("method", "received_on")
        if body.get(name) is None
    }
    if missing:
        raise Invalid(missing)
    received = lifecycle.ReceivedRevocation(
        method=OutsideMethod(body["method"]),
        received_on=body["received_on"],
        reason=body.get("reason"),
        document=upload_of(body["document"]) if body.get("document") else None,
    )
    return consent_json(lifecycle.record_revocation(db.session(), actor(), consent_id, received))


@consents.route("/<int:consent_id>/expiry-event", methods=["POST"])
@requires(Permission.PREPARE_CONSENT)
@consents.arguments(ExpiryEventInSchema())
@consents.response(200, ConsentSchema)
@consents.alt_response(409, schema=ApiErrorSchema, description="Not active")
@consents.doc(security=BEARER)
def record_expiry_event(body: dict[str, Any], consent_id: int) -> dict[str, Any]:
    """Record that the consent's expiration event happened."""
    return consent_json(
        lifecycle.record_expiry_event(db.session(), actor(), consent_id, body["occurred_on"])
    )
