"""GET /api/v1/consents/{id}/fhir: a FHIR R4 Consent that validates, says what the release says,
points at the signed PDF by URL and SHA-1, and is refused to everyone who may not read it."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
import time_machine
from fhir.resources.R4B.consent import Consent as FhirConsent
from sqlalchemy import select

from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.clock import iso, now
from roi.compliance import fhir as export
from roi.consent import lifecycle
from roi.consent.models import ConsentStatus, expiry_instant
from roi.documents.fhir import FHIR_STATUS, MEDIA_TYPE
from tests.factories import make_client_user, make_user, stand_in_documents
from tests.fhir.conftest import identity, signature
from tests.helpers import api_token, bearer

LOINC = "http://loinc.org"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"


def fhir_consent(client, consent_id: int, token: str):
    return client.get(f"/api/v1/consents/{consent_id}/fhir", headers=bearer(token))


def codes(concepts) -> set[tuple[str, str]]:
    return {(c.system, c.code) for concept in concepts for c in concept.coding}


def test_a_signed_consent_is_a_valid_fhir_consent(client, session, referral, tokens):
    # Given a signed release from the therapist to the psychiatrist
    consent = referral.signed(session)
    # When the therapist exports it
    response = fhir_consent(client, consent.id, tokens.therapist)
    # Then it is FHIR JSON that validates as an R4 Consent
    assert response.status_code == 200
    assert response.mimetype == MEDIA_TYPE
    assert response.headers["Cache-Control"] == "no-store"
    resource = FhirConsent.model_validate_json(response.data)
    assert resource.id == str(consent.id)
    assert resource.status == "active"
    assert codes([resource.scope]) == {
        ("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy")
    }
    assert (LOINC, "59284-0") in codes(resource.category)
    assert resource.patient.reference == f"Patient/{referral.client_id}"
    assert resource.patient.display == "Jordan Avery"
    assert resource.organization[0].display == "Riverside Counseling"
    assert resource.performer[0].reference == f"Patient/{referral.client_id}"
    assert iso(resource.dateTime) == iso(consent.signed_at)
    # HIPAA 164.508 is the rule it was given under
    assert ("http://terminology.hl7.org/CodeSystem/consentpolicycodes", "hipaa-auth") in codes(
        [resource.policyRule]
    )
    assert "section-164.508" in resource.policy[0].uri


def test_the_provision_says_who_what_why_and_until_when(client, session, referral, tokens):
    consent = referral.signed(session, purposes=("treatment", "medication_management"))
    resource = FhirConsent.model_validate_json(
        fhir_consent(client, consent.id, tokens.therapist).data
    )
    provision = resource.provision
    assert provision.type == "permit"
    assert iso(provision.period.start) == iso(consent.signed_at)
    assert provision.period.end == expiry_instant(consent.expires_on)
    roles = {(a.role.coding[0].system, a.role.coding[0].code): a.reference for a in provision.actor}
    assert roles[(PARTICIPATION, "PRCP")].reference == f"Practitioner/{referral.recipient_id}"
    assert roles[(PARTICIPATION, "PRCP")].display == "Samuel Okafor"
    assert roles[(PARTICIPATION, "AUT")].display == "Dana Whitfield"
    # one-way: the psychiatrist is only a recipient
    assert len(provision.actor) == 2
    purposes = {(p.system, p.code) for p in provision.purpose}
    # treatment maps to v3 ActReason; a purpose with no v3 equivalent keeps roi's own code
    assert purposes == {(ACT_REASON, "TREAT"), ("urn:roi:codes:purpose", "medication_management")}
    categories = {c.coding[0].code: c.coding[0].display for c in provision.code}
    assert set(categories) == {"diagnosis", "medications"}
    assert all(
        system == "urn:roi:codes:information-category" for system, _ in codes(provision.code)
    )


def test_the_signed_pdf_is_referenced_by_url_sha1_and_size(client, session, referral, tokens):
    consent = referral.signed(session)
    resource = FhirConsent.model_validate_json(
        fhir_consent(client, consent.id, tokens.therapist).data
    )
    attachment = resource.sourceAttachment
    assert attachment.contentType == "application/pdf"
    assert attachment.url.endswith(f"/api/v1/consents/{consent.id}/document.pdf")
    # the PDF at that URL is the one described: FHIR's Attachment.hash is base64(SHA-1)
    pdf = client.get(attachment.url, headers=bearer(tokens.therapist))
    assert pdf.status_code == 200
    assert attachment.size == len(pdf.data)
    raw = fhir_consent(client, consent.id, tokens.therapist).get_json()
    sha1 = base64.b64encode(hashlib.sha1(pdf.data).digest()).decode()  # noqa: S324 - FHIR's hash
    assert raw["sourceAttachment"]["hash"] == sha1
    assert hashlib.sha256(pdf.data).hexdigest() == consent.document_sha256


def test_a_draft_has_no_document_and_no_period_start(client, session, referral, tokens):
    draft = referral.draft(session)
    raw = fhir_consent(client, draft.id, tokens.therapist).get_json()
    resource = FhirConsent.model_validate(raw)
    assert resource.status == "draft"
    assert "sourceAttachment" not in raw
    assert "performer" not in raw
    assert resource.provision.period.start is None


def _in_state(session, referral, state: ConsentStatus):
    """A consent brought to `state` through the real lifecycle."""
    therapist, client = referral.therapist.actor, referral.client_person.actor
    if state is ConsentStatus.DRAFT:
        return referral.draft(session)
    if state is ConsentStatus.PENDING_SIGNATURE:
        return referral.sent(session)
    if state is ConsentStatus.VOIDED:
        return lifecycle.void(session, therapist, referral.sent(session).id)
    active = referral.signed(session)
    if state is ConsentStatus.ACTIVE:
        return active
    if state is ConsentStatus.REVOKED:
        return lifecycle.revoke(session, client, active.id, reason=None)
    if state is ConsentStatus.EXPIRED:
        return lifecycle.record_expiry_event(session, therapist, active.id, now().date())
    assert state is ConsentStatus.SUPERSEDED
    draft = lifecycle.new_version(session, therapist, active.id, referral.library)
    lifecycle.send_for_signature(
        session, therapist, draft.id, referral.library, invitation_lifetime=timedelta(days=7)
    )
    with stand_in_documents():
        lifecycle.sign_as_client(
            session,
            client,
            draft.id,
            signature(),
            identity(referral.client_person),
            referral.library,
        )
    return active


EXPECTED_STATUS = {
    ConsentStatus.DRAFT: "draft",
    ConsentStatus.PENDING_SIGNATURE: "proposed",
    ConsentStatus.ACTIVE: "active",
    ConsentStatus.REVOKED: "inactive",
    ConsentStatus.EXPIRED: "inactive",
    ConsentStatus.SUPERSEDED: "inactive",
    ConsentStatus.VOIDED: "entered-in-error",
}


def test_every_roi_state_has_a_fhir_status():
    assert set(FHIR_STATUS) == {state.value for state in ConsentStatus}
    assert {state.value: s for state, s in EXPECTED_STATUS.items()} == FHIR_STATUS


@pytest.mark.parametrize("state", list(ConsentStatus))
def test_each_state_exports_with_its_fhir_status(session, referral, state):
    # Given a consent brought to `state` the way users bring it there
    consent = _in_state(session, referral, state)
    session.rollback()
    assert session.get(type(consent), consent.id).status is state
    # When it is exported
    body = export.export_consent(
        session,
        referral.therapist.actor,
        consent.id,
        referral.library,
        document_url=lambda i: f"https://roi.test/api/v1/consents/{i}/document.pdf",
    )
    resource = FhirConsent.model_validate_json(body)
    # Then FHIR's status says it, and roi's own state travels along unfolded
    assert resource.status == EXPECTED_STATUS[state]
    assert [(t.system, t.code) for t in resource.meta.tag] == [
        ("urn:roi:codes:consent-state", state.value)
    ]
    if state is ConsentStatus.REVOKED:
        # a revoked consent's permission ended when it was revoked, not at its date
        assert resource.provision.period.end == session.get(type(consent), consent.id).revoked_at


def test_an_active_consent_past_its_date_exports_as_expired(client, session, referral, tokens):
    consent = referral.signed(session, expires_on=now().date() + timedelta(days=3))
    with time_machine.travel(now() + timedelta(days=4)):
        token = api_token(client, referral.therapist.email, referral.therapist.password)
        resource = FhirConsent.model_validate_json(fhir_consent(client, consent.id, token).data)
    assert resource.status == "inactive"
    assert resource.meta.tag[0].code == "expired"


def test_two_way_and_sensitive_categories(client, session, referral, tokens):
    consent = referral.signed(
        session,
        template_id="part2-consent",
        categories=("sud_diagnosis", "sud_treatment"),
        purposes=("treatment", "care_coordination"),
        direction="two_way",
        information_description="Substance use disorder diagnosis and treatment records.",
    )
    resource = FhirConsent.model_validate_json(
        fhir_consent(client, consent.id, tokens.therapist).data
    )
    provision = resource.provision
    # two-way: each side both originates and receives
    pairs = {(a.role.coding[0].code, a.reference.reference) for a in provision.actor}
    recipient = f"Practitioner/{referral.recipient_id}"
    discloser = f"Practitioner/{consent.discloser_provider_id}"
    assert {("PRCP", recipient), ("AUT", recipient), ("AUT", discloser), ("IRCP", discloser)} == (
        pairs
    )
    # 42 CFR Part 2: the policy, the rule and the sensitivity label say so
    assert any("part-2" in policy.uri for policy in resource.policy)
    assert ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "42CFRPart2") in codes(
        [resource.policyRule]
    )
    assert {label.code for label in provision.securityLabel} == {"ETH"}
    assert {(p.system, p.code) for p in provision.purpose} == {
        (ACT_REASON, "TREAT"),
        (ACT_REASON, "COC"),
    }


# --- who may export ----------------------------------------------------------------------------


def test_everyone_who_may_read_the_consent_may_export_it(client, session, referral, tokens):
    consent = referral.signed(session)
    for token in (tokens.therapist, tokens.psychiatrist, tokens.client, tokens.officer):
        assert fhir_consent(client, consent.id, token).status_code == 200


def test_other_practices_and_other_clients_get_not_found(client, session, referral, tokens):
    consent = referral.signed(session)
    stranger = make_user(session, Role.CLINICIAN, org="Elm Street Clinic", name="Ana Ruiz")
    _, other_client = make_client_user(session, referral.therapist, given_name="Ruth")
    for token in (
        tokens.other_officer,
        api_token(client, stranger.email, stranger.password),
        api_token(client, other_client.email, other_client.password),
    ):
        response = fhir_consent(client, consent.id, token)
        assert response.status_code == 404
        assert response.get_json()["error"] == "not_found"
    missing = fhir_consent(client, 999_999, tokens.therapist)
    assert missing.status_code == 404


def test_a_role_that_reads_no_consents_is_forbidden(client, session, referral):
    consent = referral.signed(session)
    admin = make_user(session, Role.ADMIN, name="Alex Morgan")
    token = api_token(client, admin.email, admin.password)
    assert fhir_consent(client, consent.id, token).status_code == 403


def test_no_token_no_export(client, session, referral):
    consent = referral.signed(session)
    assert client.get(f"/api/v1/consents/{consent.id}/fhir").status_code == 401


def test_the_recipient_loses_the_export_when_the_client_revokes(client, session, referral, tokens):
    # SECURITY C7: the client's name must not reach the recipient once the consent is revoked
    consent = referral.signed(session)
    assert fhir_consent(client, consent.id, tokens.psychiatrist).status_code == 200
    lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
    refused = fhir_consent(client, consent.id, tokens.psychiatrist)
    assert refused.status_code == 404
    assert b"Avery" not in refused.data
    # ... while the practice that holds it, the client and compliance still have it on record
    for token in (tokens.therapist, tokens.client, tokens.officer):
        response = fhir_consent(client, consent.id, token)
        assert response.status_code == 200
        assert response.get_json()["status"] == "inactive"


def test_the_recipient_cannot_export_a_release_not_yet_signed(client, session, referral, tokens):
    pending = referral.sent(session)
    assert fhir_consent(client, pending.id, tokens.psychiatrist).status_code == 404
    assert fhir_consent(client, pending.id, tokens.therapist).status_code == 200


def test_a_client_never_sees_a_draft(client, session, referral, tokens):
    draft = referral.draft(session)
    assert fhir_consent(client, draft.id, tokens.client).status_code == 404


def test_the_export_is_audited_as_a_record_view(client, session, referral, tokens, officer):
    consent = referral.signed(session)
    fhir_consent(client, consent.id, tokens.officer)
    session.rollback()
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.RECORD_VIEWED)
    ).one()
    assert entry.actor_id == officer.user.id
    assert entry.consent_id == consent.id
    assert entry.client_id == referral.client_id
    assert entry.detail == {"format": "fhir", "resource": "Consent"}
    # computing the hash opened the stored PDF, but nobody downloaded it
    downloads = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.DOCUMENT_DOWNLOADED)
    ).all()
    assert downloads == []


def test_the_route_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/consents/{consent_id}/fhir"]["get"]
    assert MEDIA_TYPE in operation["responses"]["200"]["content"]
    assert "/api/v1/clients/{client_id}/fhir" in spec["paths"]
    assert "/api/v1/audit-events/{seq}/fhir" in spec["paths"]


def test_the_document_link_comes_from_the_base_url_never_the_host_header(
    app, client, session, referral, tokens
):
    # SECURITY D6: a forged Host must not put another site's address into a record an EHR keeps
    consent = referral.signed(session)
    answer = client.get(
        f"/api/v1/consents/{consent.id}/fhir",
        headers={**bearer(tokens.therapist), "Host": "evil.example"},
    )
    base = app.config["ROI_SETTINGS"].base_url
    url = answer.get_json()["sourceAttachment"]["url"]
    assert url == f"{base}/api/v1/consents/{consent.id}/document.pdf"
    assert "evil.example" not in answer.get_data(as_text=True)
