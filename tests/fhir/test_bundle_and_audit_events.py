"""GET /api/v1/clients/{id}/fhir (a Bundle of a client's consents and disclosures) and
GET /api/v1/audit-events/{seq}/fhir (one audit entry as an AuditEvent), with their refusals."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from roi.audit import Action, AuditEntry
from roi.consent import lifecycle
from roi.documents.fhir import MEDIA_TYPE
from roi.errors import ConsentRequired
from roi.messaging import service
from tests.factories import make_client
from tests.fhir.conftest import disclose
from tests.helpers import bearer


def bundle_of(client, client_id: int, token: str):
    return client.get(f"/api/v1/clients/{client_id}/fhir", headers=bearer(token))


def audit_event(client, seq: int, token: str):
    return client.get(f"/api/v1/audit-events/{seq}/fhir", headers=bearer(token))


def kinds(bundle: Bundle) -> list[str]:
    return [entry.resource.get_resource_type() for entry in bundle.entry or []]


def entry_seq(session, action: Action) -> int:
    session.rollback()
    return session.scalars(select(AuditEntry.seq).where(AuditEntry.action == action)).one()


@pytest.fixture
def history(session, referral):
    """A signed consent, one disclosure under it, then a revocation and a refused disclosure."""
    consent = referral.signed(session)
    message = disclose(session, referral)
    lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
    with pytest.raises(ConsentRequired):
        disclose(session, referral)
    return consent, message


# --- the client's Bundle -----------------------------------------------------------------------


def test_compliance_gets_consents_and_disclosures_in_a_valid_bundle(
    client, session, referral, tokens, history
):
    consent, message = history
    response = bundle_of(client, referral.client_id, tokens.officer)
    assert response.status_code == 200
    assert response.mimetype == MEDIA_TYPE
    bundle = Bundle.model_validate_json(response.data)
    assert bundle.type == "collection"
    assert kinds(bundle) == ["Consent", "AuditEvent"]
    fhir_consent, disclosure = (entry.resource for entry in bundle.entry)
    assert fhir_consent.id == str(consent.id)
    assert fhir_consent.status == "inactive"
    # the disclosure is the permitted one only: a refused attempt disclosed nothing
    assert [c.code for c in disclosure.subtype] == ["disclosure.permitted"]
    what = {entity.what.reference for entity in disclosure.entity if entity.what}
    assert {
        f"Patient/{referral.client_id}",
        f"Consent/{consent.id}",
        f"Communication/{message.id}",
        f"Practitioner/{referral.recipient_id}",
    } == what
    assert all(entry.fullUrl.startswith("urn:uuid:") for entry in bundle.entry)


def test_the_client_gets_their_own_record_without_staff_addresses(
    client, session, referral, tokens
):
    # Given a disclosure sent from a known address
    referral.signed(session)
    sender = replace(referral.therapist.actor, ip="203.0.113.9")
    service.send(
        session,
        sender,
        referral.library,
        service.Outgoing(
            client_id=referral.client_id,
            recipient_provider_id=referral.recipient_id,
            categories=("diagnosis",),
            purpose="treatment",
            subject="Referral",
            body="Summary.",
        ),
    )
    # Then the client's own Bundle lists it, without the sender's network address
    bundle = Bundle.model_validate_json(bundle_of(client, referral.client_id, tokens.client).data)
    assert kinds(bundle) == ["Consent", "AuditEvent"]
    assert bundle.entry[1].resource.agent[0].network is None
    # while compliance sees where it came from
    officer_view = Bundle.model_validate_json(
        bundle_of(client, referral.client_id, tokens.officer).data
    )
    assert officer_view.entry[1].resource.agent[0].network.address == "203.0.113.9"


def test_clinicians_of_the_practice_get_the_consents_only(
    client, session, referral, tokens, history
):
    # the disclosures are the accounting of disclosures, which clinicians do not read
    bundle = Bundle.model_validate_json(
        bundle_of(client, referral.client_id, tokens.therapist).data
    )
    assert kinds(bundle) == ["Consent"]


def test_a_client_with_a_revoked_consent_never_reaches_the_recipient(
    client, session, referral, tokens, history
):
    # SECURITY C7: the psychiatrist of the revoked consent, through the bundle path
    response = bundle_of(client, referral.client_id, tokens.psychiatrist)
    assert response.status_code == 404
    assert b"Avery" not in response.data


def test_the_recipient_gets_the_bundle_as_the_client_record_while_the_consent_is_active(
    client, session, referral, tokens
):
    # CONTRACT GET /clients/{id}/fhir, "as GET /clients/{id}": a clinician named on an active
    # consent sees the client, and their Bundle holds the consents they may read, no disclosures
    consent = referral.signed(session)
    disclose(session, referral)
    draft = referral.draft(session)  # the therapist's practice's, not the psychiatrist's to see
    record = f"/api/v1/clients/{referral.client_id}"
    assert client.get(record, headers=bearer(tokens.psychiatrist)).status_code == 200
    listed = client.get("/api/v1/clients", headers=bearer(tokens.psychiatrist)).get_json()
    assert [c["id"] for c in listed] == [referral.client_id]
    answer = bundle_of(client, referral.client_id, tokens.psychiatrist)
    assert answer.status_code == 200
    bundle = Bundle.model_validate_json(answer.data)
    assert kinds(bundle) == ["Consent"]
    assert [entry.fullUrl for entry in bundle.entry or []] == [f"urn:uuid:{consent.uuid}"]
    assert draft.uuid not in answer.get_data(as_text=True)
    # And the record and the Bundle go when the consent does (SECURITY C7)
    lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
    assert client.get(record, headers=bearer(tokens.psychiatrist)).status_code == 404
    assert client.get("/api/v1/clients", headers=bearer(tokens.psychiatrist)).get_json() == []
    assert bundle_of(client, referral.client_id, tokens.psychiatrist).status_code == 404


def test_other_practices_and_other_clients_get_not_found(
    client, session, referral, tokens, history
):
    for token in (tokens.other_officer, tokens.psychiatrist):
        assert bundle_of(client, referral.client_id, token).status_code == 404
    someone_else = make_client(session, referral.therapist, given_name="Ruth")
    assert bundle_of(client, someone_else.id, tokens.client).status_code == 404
    assert bundle_of(client, 999_999, tokens.officer).status_code == 404


def test_a_client_with_no_consents_is_an_empty_collection(client, session, referral, tokens):
    new = make_client(session, referral.therapist, given_name="Ruth")
    bundle = Bundle.model_validate_json(bundle_of(client, new.id, tokens.officer).data)
    assert bundle.type == "collection"
    assert bundle.entry is None


def test_a_bundle_export_is_audited(client, session, referral, tokens, history, officer):
    bundle_of(client, referral.client_id, tokens.officer)
    session.rollback()
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.AUDIT_EXPORTED)
    ).one()
    assert entry.actor_id == officer.user.id
    assert entry.client_id == referral.client_id
    assert entry.detail == {"format": "fhir", "resource": "Bundle", "consents": 1, "disclosures": 1}


# --- one audit entry ---------------------------------------------------------------------------


def test_a_disclosure_entry_is_a_valid_audit_event(client, session, referral, tokens, history):
    consent, message = history
    seq = entry_seq(session, Action.DISCLOSURE_PERMITTED)
    stored = session.get(AuditEntry, seq)
    response = audit_event(client, seq, tokens.officer)
    assert response.status_code == 200
    assert response.mimetype == MEDIA_TYPE
    event = AuditEvent.model_validate_json(response.data)
    assert event.id == str(seq)
    assert event.type.code == "110106"  # DICOM "Export": information left the practice
    assert [(c.system, c.code) for c in event.subtype] == [
        ("urn:roi:codes:audit-action", "disclosure.permitted")
    ]
    assert event.outcome == "0"
    assert event.recorded == stored.at
    assert event.agent[0].who.identifier.value == str(referral.therapist.user.id)
    assert event.agent[0].who.display == "Dana Whitfield"
    assert event.source.observer.display == "roi"
    assert event.purposeOfEvent[0].coding[0].code == "TREAT"
    entities = {entity.what.reference: entity for entity in event.entity}
    assert f"Communication/{message.id}" in entities
    details = {d.type: d.valueString for d in entities[f"Consent/{consent.id}"].detail}
    assert details == {"categories": "diagnosis", "purpose": "treatment"}
    # the entry's place in the hash chain travels with it
    assert event.extension[0].valueString == stored.hash


def test_a_denied_disclosure_says_why(client, session, referral, tokens, history):
    seq = entry_seq(session, Action.DISCLOSURE_DENIED)
    event = AuditEvent.model_validate_json(audit_event(client, seq, tokens.officer).data)
    assert event.outcome == "4"
    assert "consent_revoked" in event.outcomeDesc
    # the reasons sit on the consent they are about (the revoked one)
    consent = next(e for e in event.entity if e.what and e.what.reference.startswith("Consent/"))
    assert {d.type: d.valueString for d in consent.detail}["reasons"] == "consent_revoked"


def test_audit_events_are_for_compliance_of_the_practice_only(
    client, session, referral, tokens, history
):
    seq = entry_seq(session, Action.DISCLOSURE_PERMITTED)
    assert audit_event(client, seq, tokens.other_officer).status_code == 404
    assert audit_event(client, 999_999, tokens.officer).status_code == 404
    for token in (tokens.therapist, tokens.psychiatrist, tokens.client):
        assert audit_event(client, seq, token).status_code == 403


def test_the_other_practice_sees_its_own_people_entries(client, session, referral, tokens):
    # Given the psychiatrist (Northgate) signed in: that entry is Northgate's, not Riverside's
    session.rollback()
    login = session.scalars(
        select(AuditEntry.seq).where(
            AuditEntry.action == Action.AUTH_TOKEN_ISSUED,
            AuditEntry.actor_id == referral.psychiatrist.user.id,
        )
    ).first()
    assert login is not None
    assert audit_event(client, login, tokens.other_officer).status_code == 200
    assert audit_event(client, login, tokens.officer).status_code == 404


def test_an_audit_event_export_is_audited(client, session, referral, tokens, history, officer):
    seq = entry_seq(session, Action.DISCLOSURE_PERMITTED)
    audit_event(client, seq, tokens.officer)
    session.rollback()
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.AUDIT_EXPORTED)
    ).one()
    assert entry.actor_id == officer.user.id
    assert entry.client_id == referral.client_id
    assert entry.detail == {"format": "fhir", "resource": "AuditEvent", "seq": seq}
