"""roi.documents.fhir on plain data: every resource it builds validates, and the mappings hold."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent

from roi.audit import Action, Outcome
from roi.documents import fhir

SIGNED = datetime(2025, 3, 4, 15, 30, tzinfo=UTC)
ENDS = datetime(2026, 3, 4, tzinfo=UTC)
PATIENT = fhir.Ref("Patient", 7, "Jordan Avery")

FACTS = fhir.ConsentFacts(
    consent_id=3,
    consent_uuid="7b0c1c55-9d7e-4b1a-8d2c-2f1f0e5a4b31",
    state="active",
    kind="general",
    patient=PATIENT,
    organization=fhir.Ref("Organization", 1, "Riverside Counseling"),
    discloser=fhir.Ref("Practitioner", 10, "Dana Whitfield"),
    recipient=fhir.Ref("Practitioner", 11, "Samuel Okafor"),
    two_way=False,
    categories=(fhir.Code("diagnosis", "Diagnosis"), fhir.Code("hiv", "HIV status", ("hiv",))),
    purposes=(fhir.Code("legal_matter", "A legal matter"),),
    created_at=SIGNED,
    signed_at=SIGNED,
    ends_at=ENDS,
    signer=PATIENT,
    document=fhir.SignedDocument("https://roi.test/doc.pdf", b"%PDF-1.7 signed", SIGNED),
)


def round_trip(resource, kind):
    return kind.model_validate_json(fhir.to_json(resource))


def test_a_consent_round_trips_through_r4b_validation():
    consent = round_trip(fhir.consent_resource(FACTS), Consent)
    assert consent.identifier[0].value == f"urn:uuid:{FACTS.consent_uuid}"
    assert consent.provision.period.start == SIGNED
    assert consent.provision.period.end == ENDS
    assert consent.sourceAttachment.size == len(FACTS.document.pdf)
    # the HIV category carries its sensitivity label
    assert [label.code for label in consent.provision.securityLabel] == ["HIV"]
    assert [(p.code, p.display) for p in consent.provision.purpose] == [("HLEGAL", "legal")]


def test_attachment_hash_is_base64_sha1():
    data = b"%PDF-1.7 signed"
    expected = base64.b64encode(hashlib.sha1(data).digest()).decode()  # noqa: S324 - FHIR's hash
    assert fhir.attachment_hash(data) == expected
    consent = fhir.consent_resource(FACTS)
    assert base64.b64encode(consent.sourceAttachment.hash).decode() == expected


def test_a_representative_signer_and_an_event_expiry():
    facts = replace(
        FACTS,
        signer=fhir.Ref("RelatedPerson", None, "Morgan Avery (parent)"),
        ends_at=None,
        kind="psychotherapy_notes",
        categories=(
            fhir.Code("psychotherapy_notes", "Psychotherapy notes", ("psychotherapy_notes",)),
        ),
    )
    consent = round_trip(fhir.consent_resource(facts), Consent)
    assert consent.performer[0].type == "RelatedPerson"
    assert consent.performer[0].display == "Morgan Avery (parent)"
    assert consent.provision.period.end is None
    rule = {c.code for c in consent.policyRule.coding}
    assert rule == {"hipaa-auth", "HIPAAPsyNotes"}
    assert [label.code for label in consent.provision.securityLabel] == ["PSYTHPN"]


def test_an_unknown_state_is_refused_rather_than_guessed():
    with pytest.raises(KeyError):
        fhir.consent_resource(replace(FACTS, state="archived"))


def test_two_purposes_mapping_to_one_code_appear_once():
    facts = replace(
        FACTS,
        purposes=(fhir.Code("treatment", "Treatment"), fhir.Code("treatment", "Treatment")),
    )
    consent = fhir.consent_resource(facts)
    assert [p.code for p in consent.provision.purpose] == ["TREAT"]


def audit_facts(action: str, outcome: str, **changes) -> fhir.AuditFacts:
    base = fhir.AuditFacts(
        seq=42,
        at=SIGNED,
        action=action,
        outcome=outcome,
        actor_id=5,
        actor_role="clinician",
        actor_display="Dana Whitfield",
        ip="192.0.2.1",
        organization=fhir.Ref("Organization", 1, "Riverside Counseling"),
        client=PATIENT,
        consent_id=3,
        message_id=9,
        recipient=fhir.Ref("Practitioner", 11, "Samuel Okafor"),
        subject_user_id=None,
        categories=("diagnosis",),
        purpose="treatment",
        reasons=(),
        hash="ab" * 32,
    )
    return replace(base, **changes)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_action_and_outcome_makes_a_valid_audit_event(action, outcome):
    event = round_trip(fhir.audit_event_resource(audit_facts(action, outcome)), AuditEvent)
    assert event.subtype[0].code == action.value
    assert event.action in {"C", "R", "U", "D", "E"}
    assert event.outcome == ("0" if outcome in (Outcome.SUCCESS, Outcome.PERMIT) else "4")


@pytest.mark.parametrize(
    ("action", "letter"),
    [
        (Action.CONSENT_CREATED, "C"),
        (Action.CONSENT_REVOKED, "U"),
        (Action.MESSAGE_READ, "R"),
        (Action.AUDIT_EXPORTED, "R"),
        (Action.DISCLOSURE_PERMITTED, "E"),
        (Action.AUTH_LOGIN, "E"),
        (Action.KEY_REMOVED, "D"),
    ],
)
def test_crud_letters(action, letter):
    assert fhir.audit_event_resource(audit_facts(action, "success")).action == letter


def test_the_system_and_anonymous_actors():
    system = fhir.audit_event_resource(
        audit_facts("keys.rotated", "success", actor_id=None, actor_role="system", client=None)
    )
    assert system.agent[0].who.type == "Device"
    assert system.agent[0].requestor is False
    anonymous = fhir.audit_event_resource(
        audit_facts("auth.login_failed", "failure", actor_id=None, actor_role="anonymous")
    )
    assert anonymous.agent[0].requestor is True
    assert anonymous.agent[0].who.identifier is None


def test_a_collection_keeps_its_entries_in_order():
    consent = fhir.consent_resource(FACTS)
    event_facts = audit_facts("disclosure.permitted", "permit")
    event = fhir.audit_event_resource(event_facts)
    bundle = fhir.collection(
        [
            (fhir.consent_full_url(FACTS), consent),
            (fhir.audit_event_full_url(event_facts), event),
        ],
        at=SIGNED,
    )
    parsed = round_trip(bundle, Bundle)
    assert [e.resource.get_resource_type() for e in parsed.entry] == ["Consent", "AuditEvent"]
    # the same entry always gets the same urn:uuid
    assert fhir.audit_event_full_url(event_facts) == fhir.audit_event_full_url(event_facts)
    assert parsed.entry[1].fullUrl != fhir.audit_event_full_url(replace(event_facts, seq=43))
