"""API v1: FHIR R4 exports of consents, audit entries and a client's record.

Each answer is FHIR JSON (`application/fhir+json`), built and validated by `roi.documents.fhir`
from the records `roi.compliance.fhir` loads for the caller; the schemas here only describe the
answers in the OpenAPI document (a FHIR resource is far larger than any schema worth repeating).
"""

from __future__ import annotations

from flask import Response, request, url_for
from flask_smorest import Blueprint
from marshmallow import INCLUDE, Schema, fields

from roi.accounts.policy import Permission
from roi.audit.search import MAX_SEQ
from roi.compliance import fhir as export
from roi.documents.fhir import MEDIA_TYPE
from roi.extensions import db
from roi.web.api.schemas import ApiErrorSchema
from roi.web.security import actor, form_library, requires, settings

PREFIX = "/api/v1"
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]

fhir = Blueprint("fhir", __name__, url_prefix=PREFIX, description="FHIR R4 export")

blueprints = (fhir,)


class FhirResourceSchema(Schema):
    """Any FHIR R4 resource: `resourceType` names it; the rest is the FHIR specification's."""

    class Meta:
        unknown = INCLUDE

    resourceType = fields.String(required=True)  # FHIR's own element name
    id = fields.String()


class FhirConsentSchema(FhirResourceSchema):
    status = fields.String(
        required=True,
        metadata={
            "description": "draft→draft, pending_signature→proposed, active→active, "
            "revoked/expired/superseded→inactive, voided→entered-in-error; roi's own state "
            "is in meta.tag (urn:roi:codes:consent-state)"
        },
    )


class FhirBundleSchema(FhirResourceSchema):
    type = fields.String(required=True, metadata={"description": "always `collection`"})


def _fhir(body: str) -> Response:
    response = Response(body, mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


def _document_url(consent_id: int) -> str:
    """The signed PDF's address under ROI_BASE_URL (as a mail's links are), never the request's
    Host: a forged Host must not put another site's address into a record an EHR keeps."""
    path = url_for("consents.consent_document", consent_id=consent_id)
    # the base holds any path prefix a proxy serves roi under, as the script root does
    return settings().base_url + path.removeprefix(request.script_root)


@fhir.route("/consents/<int:consent_id>/fhir", methods=["GET"])
@requires(Permission.VIEW_CONSENTS)
@fhir.response(200, FhirConsentSchema, content_type=MEDIA_TYPE, description="A FHIR R4 Consent")
@fhir.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@fhir.doc(security=BEARER)
def consent_resource(consent_id: int) -> Response:
    """A consent as a FHIR R4 `Consent`, with the signed PDF referenced by URL and SHA-1."""
    return _fhir(
        export.export_consent(
            db.session(), actor(), consent_id, form_library(), document_url=_document_url
        )
    )


@fhir.route("/clients/<int:client_id>/fhir", methods=["GET"])
@requires(Permission.VIEW_CONSENTS)
@fhir.response(
    200, FhirBundleSchema, content_type=MEDIA_TYPE, description="A FHIR R4 Bundle (collection)"
)
@fhir.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@fhir.doc(security=BEARER)
def client_bundle(client_id: int) -> Response:
    """A client's consents, and for compliance and the client their disclosures as
    `AuditEvent`s, in one FHIR R4 Bundle of type `collection`."""
    return _fhir(
        export.export_client(
            db.session(), actor(), client_id, form_library(), document_url=_document_url
        )
    )


# an audit entry's seq is BIGINT, beyond a record id's range
@fhir.route(f"/audit-events/<int(max={MAX_SEQ}):seq>/fhir", methods=["GET"])
@requires(Permission.VIEW_DISCLOSURE_LOG)
@fhir.response(200, FhirResourceSchema, content_type=MEDIA_TYPE, description="A FHIR R4 AuditEvent")
@fhir.alt_response(404, schema=ApiErrorSchema, description="Not found or not in your scope")
@fhir.doc(security=BEARER)
def audit_event_resource(seq: int) -> Response:
    """One audit entry as a FHIR R4 `AuditEvent` (compliance, for their organization)."""
    return _fhir(export.export_audit_event(db.session(), actor(), seq))
