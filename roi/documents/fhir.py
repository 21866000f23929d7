"""FHIR R4 exports built from plain data: a consent as `Consent`, an audit entry as `AuditEvent`,
and a client's record as a `Bundle` of type collection.

Every resource is built with the `fhir.resources` R4B models, so an export that does not
validate fails here, while it is built, and never reaches a caller. R4B is R4 with errata; the
resources used here (Consent, AuditEvent, Bundle) have the same shape in both.

`roi.compliance.fhir` fills the dataclasses below from the records; this module knows no model.

Status mapping (roi keeps seven states, FHIR R4 `consent-state-codes` has fewer; each export
carries roi's own state in `meta.tag` so nothing is lost):

| roi state           | FHIR status        | why                                               |
|---------------------|--------------------|---------------------------------------------------|
| `draft`             | `draft`            | being written, not yet offered                    |
| `pending_signature` | `proposed`         | offered to the client, not yet agreed             |
| `active`            | `active`           | signed and in force                               |
| `revoked`           | `inactive`         | was in force, taken back by the client            |
| `expired`           | `inactive`         | was in force, past its date or expiration event   |
| `superseded`        | `inactive`         | was in force, replaced by a newer signed version  |
| `voided`            | `entered-in-error` | withdrawn before anyone signed: never took effect |
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from fhir.resources.R4B.attachment import Attachment
from fhir.resources.R4B.auditevent import (
    AuditEvent,
    AuditEventAgent,
    AuditEventAgentNetwork,
    AuditEventEntity,
    AuditEventEntityDetail,
    AuditEventSource,
)
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.consent import Consent, ConsentPolicy, ConsentProvision
from fhir.resources.R4B.consent import ConsentProvisionActor as ProvisionActor
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

#: the media type of every FHIR JSON answer (FHIR R4 http.html#mime-type)
MEDIA_TYPE = "application/fhir+json"

# --- code systems -------------------------------------------------------------------------------
LOINC = "http://loinc.org"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_POLICY = "http://terminology.hl7.org/CodeSystem/consentpolicycodes"
CONSENT_ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
AUDIT_ENTITY_TYPE = "http://hl7.org/fhir/resource-types"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
NETWORK_TYPE_IP = "2"
#: roi's own vocabularies: form-template category and purpose codes, audit actions, lifecycle
#: states, user ids. URNs, since they name roi's codes, not a page anyone should fetch.
ROI_CATEGORY = "urn:roi:codes:information-category"
ROI_PURPOSE = "urn:roi:codes:purpose"
ROI_ACTION = "urn:roi:codes:audit-action"
ROI_STATE = "urn:roi:codes:consent-state"
ROI_ROLE = "urn:roi:codes:role"
ROI_USER = "urn:roi:ids:user"
ROI_CHAIN_HASH = "urn:roi:fhir:audit-chain-hash"
#: why a disclosure was made without roi's consent gate, or `authorization` (CONTRACT.md)
ROI_DISCLOSURE_BASIS = "urn:roi:fhir:disclosure-basis"
RFC3986 = "urn:ietf:rfc:3986"
_AUDIT_NAMESPACE = uuid.UUID("5d6c1f0e-6f8e-4b49-9b1a-7a3e2f1b9c44")

#: roi state → FHIR R4 Consent.status (see the module docstring for why)
FHIR_STATUS: dict[str, str] = {
    "draft": "draft",
    "pending_signature": "proposed",
    "active": "active",
    "revoked": "inactive",
    "expired": "inactive",
    "superseded": "inactive",
    "voided": "entered-in-error",
}

#: roi purpose code → v3 ActReason (PurposeOfUse); a purpose not here keeps roi's own code
PURPOSE_OF_USE: dict[str, tuple[str, str]] = {
    "treatment": ("TREAT", "treatment"),
    "care_coordination": ("COC", "coordination of care"),
    "at_request_of_individual": ("PATRQT", "patient requested"),
    "insurance_or_benefits": ("HPAYMT", "healthcare payment"),
    "legal_matter": ("HLEGAL", "legal"),
}

#: a category's sensitivity flag (forms/*.toml) → v3 ActCode sensitivity label
SENSITIVITY: dict[str, tuple[str, str]] = {
    "psychotherapy_notes": ("PSYTHPN", "psychotherapy note information sensitivity"),
    "substance_use_disorder": ("ETH", "substance abuse information sensitivity"),
    "hiv": ("HIV", "HIV/AIDS information sensitivity"),
    "genetic": ("GDIS", "genetic disease information sensitivity"),
}

_HIPAA_508 = (
    "https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-E/"
    "section-164.508"
)
_PART_2 = "https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2"

# DICOM audit event types (DCM 1101xx) by the part of the action before the dot
_EVENT_TYPE: dict[str, tuple[str, str]] = {
    "disclosure": ("110106", "Export"),
    "decision": ("110112", "Query"),
    "auth": ("110114", "User Authentication"),
    "authz": ("110113", "Security Alert"),
    "crypto": ("110113", "Security Alert"),
    "audit": ("110101", "Audit Log Used"),
    "consent": ("110110", "Patient Record"),
    "record": ("110110", "Patient Record"),
    "client": ("110110", "Patient Record"),
    "message": ("110110", "Patient Record"),
    "document": ("110110", "Patient Record"),
    "signing": ("110110", "Patient Record"),
    "accounting": ("110110", "Patient Record"),
}
_APPLICATION_ACTIVITY = ("110100", "Application Activity")
_CREATE = {"created", "requested", "checkpoint"}
_READ = {"viewed", "read", "downloaded", "exported", "checked"}
_DELETE = {"removed"}
_EXECUTE_FAMILIES = {"auth", "disclosure", "signing"}


@dataclass(frozen=True)
class Code:
    """A code from one of roi's vocabularies, with the words people read."""

    code: str
    label: str
    #: the sensitivity flags a category carries (keys of `SENSITIVITY`)
    sensitive: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ref:
    """A reference to another resource: `Patient/12`, with a display text."""

    resource_type: str
    id: int | None
    display: str | None = None

    def reference(self) -> Reference:
        if self.id is None:
            return Reference(type=self.resource_type, display=self.display)
        return Reference(reference=f"{self.resource_type}/{self.id}", display=self.display)


@dataclass(frozen=True)
class SignedDocument:
    """The signed PDF of record, by reference: where to fetch it, and the bytes to describe."""

    url: str
    pdf: bytes
    signed_at: datetime


@dataclass(frozen=True)
class ConsentFacts:
    """One consent, as the export needs it."""

    consent_id: int
    consent_uuid: str
    #: the roi state at the moment of export (an active consent past its date is `expired`)
    state: str
    #: general | psychotherapy_notes | part2
    kind: str
    patient: Ref
    organization: Ref
    discloser: Ref
    recipient: Ref
    two_way: bool
    categories: tuple[Code, ...]
    purposes: tuple[Code, ...]
    created_at: datetime
    signed_at: datetime | None
    #: when it stops (or stopped) permitting: its date, or the revocation, expiry event or
    #: replacement that ended it first; None for an expiry event that has not happened
    ends_at: datetime | None
    #: who agreed: the client, or their representative; None until signed
    signer: Ref | None
    document: SignedDocument | None


@dataclass(frozen=True)
class AuditFacts:
    """One audit entry, with the names its ids stand for where the caller knows them."""

    seq: int
    at: datetime
    action: str
    outcome: str
    actor_id: int | None
    actor_role: str
    actor_display: str | None
    ip: str | None
    organization: Ref | None
    client: Ref | None
    consent_id: int | None
    message_id: int | None
    recipient: Ref | None
    subject_user_id: int | None
    categories: tuple[str, ...]
    purpose: str | None
    reasons: tuple[str, ...]
    hash: str
    #: a disclosure's basis (emergency, 164.512 or `authorization`); None for other entries
    basis: str | None = None


def fhir_status(state: str) -> str:
    """The FHIR R4 Consent.status for a roi state.

    Raises:
        KeyError: a state this export does not know (a new one must be mapped on purpose).
    """
    return FHIR_STATUS[state]


def consent_resource(facts: ConsentFacts) -> Consent:
    """The consent as a FHIR R4 `Consent`, validated as it is built."""
    return Consent(
        id=str(facts.consent_id),
        meta=Meta(tag=[_coding(ROI_STATE, facts.state, facts.state.replace("_", " "))]),
        identifier=[Identifier(system=RFC3986, value=f"urn:uuid:{facts.consent_uuid}")],
        status=fhir_status(facts.state),
        scope=_concept(CONSENT_SCOPE, "patient-privacy", "Privacy Consent"),
        category=[
            _concept(LOINC, "59284-0", "Patient Consent"),
            _concept(ACT_CODE, "IDSCL", "information disclosure"),
        ],
        patient=facts.patient.reference(),
        dateTime=facts.signed_at or facts.created_at,
        performer=[facts.signer.reference()] if facts.signer else None,
        organization=[facts.organization.reference()],
        sourceAttachment=_attachment(facts.document) if facts.document else None,
        policy=_policies(facts.kind),
        policyRule=_policy_rule(facts.kind),
        provision=_provision(facts),
    )


def audit_event_resource(facts: AuditFacts) -> AuditEvent:
    """An audit entry as a FHIR R4 `AuditEvent`, validated as it is built."""
    family, _, verb = facts.action.partition(".")
    event_code, event_display = _EVENT_TYPE.get(family, _APPLICATION_ACTIVITY)
    purpose = _purpose_concept(facts.purpose) if facts.purpose else None
    return AuditEvent(
        id=str(facts.seq),
        extension=[
            Extension(url=ROI_CHAIN_HASH, valueString=facts.hash),
            *([Extension(url=ROI_DISCLOSURE_BASIS, valueCode=facts.basis)] if facts.basis else []),
        ],
        type=_coding(DICOM, event_code, event_display),
        subtype=[_coding(ROI_ACTION, facts.action, facts.action)],
        action=_crude(family, verb),
        recorded=facts.at,
        outcome="0" if facts.outcome in {"success", "permit"} else "4",
        # reason codes only (never free text), so an auditor sees why a disclosure was refused
        outcomeDesc="; ".join(facts.reasons) if facts.reasons else None,
        purposeOfEvent=[purpose] if purpose else None,
        agent=[_agent(facts)],
        source=AuditEventSource(
            site=facts.organization.display if facts.organization else None,
            observer=Reference(display="roi"),
            type=[_coding(SOURCE_TYPE, "4", "Application Server")],
        ),
        entity=_entities(facts) or None,
    )


def audit_event_full_url(facts: AuditFacts) -> str:
    """A stable `urn:uuid:` for an entry: the same entry always gets the same one."""
    return f"urn:uuid:{uuid.uuid5(_AUDIT_NAMESPACE, f'{facts.seq}:{facts.hash}')}"


def collection(
    entries: Iterable[tuple[str, Resource]], *, at: datetime, bundle_id: str | None = None
) -> Bundle:
    """A Bundle of type collection: `entries` are (fullUrl, resource) pairs, kept in order."""
    return Bundle(
        id=bundle_id,
        type="collection",
        timestamp=at,
        entry=[BundleEntry(fullUrl=url, resource=resource) for url, resource in entries] or None,
    )


def consent_full_url(facts: ConsentFacts) -> str:
    return f"urn:uuid:{facts.consent_uuid}"


def to_json(resource: Resource) -> str:
    """The resource as FHIR JSON (elements in the specification's order, no empty ones)."""
    text: str = resource.model_dump_json(exclude_none=True)
    return text


def attachment_hash(pdf: bytes) -> str:
    """FHIR Attachment.hash: the base64 of the SHA-1 of the data (FHIR R4 datatypes.html)."""
    # SHA-1 because FHIR R4 says so; roi's own integrity check is the SHA-256 `document_sha256`.
    return base64.b64encode(hashlib.sha1(pdf, usedforsecurity=False).digest()).decode("ascii")


def _attachment(document: SignedDocument) -> Attachment:
    return Attachment(
        contentType="application/pdf",
        url=document.url,
        size=len(document.pdf),
        hash=attachment_hash(document.pdf).encode("ascii"),
        title="Signed authorization",
        creation=document.signed_at,
    )


def _policies(kind: str) -> list[ConsentPolicy]:
    policies = [ConsentPolicy(authority="https://www.hhs.gov/hipaa", uri=_HIPAA_508)]
    if kind == "part2":
        policies.append(ConsentPolicy(authority="https://www.samhsa.gov", uri=_PART_2))
    return policies


def _policy_rule(kind: str) -> CodeableConcept:
    # R4 ppc-1: a consent names a policy or a policy rule; roi's always names both.
    codings = [_coding(CONSENT_POLICY, "hipaa-auth", "HIPAA Authorization")]
    if kind == "psychotherapy_notes":
        # 164.508(a)(2): psychotherapy notes need an authorization of their own
        codings.append(_coding(ACT_CODE, "HIPAAPsyNotes", "HIPAA psychotherapy notes"))
    if kind == "part2":
        codings.append(_coding(ACT_CODE, "42CFRPart2", "42 CFR Part2"))
    return CodeableConcept(coding=codings)


def _provision(facts: ConsentFacts) -> ConsentProvision:
    return ConsentProvision(
        type="permit",
        period=_period(facts.signed_at, facts.ends_at),
        actor=_actors(facts),
        action=[_concept(CONSENT_ACTION, "disclose", "Disclose")],
        securityLabel=_security_labels(facts.categories) or None,
        purpose=_purposes(facts.purposes) or None,
        code=[_concept(ROI_CATEGORY, c.code, c.label) for c in facts.categories] or None,
    )


def _period(start: datetime | None, end: datetime | None) -> Period | None:
    if start is None and end is None:
        return None
    return Period(start=start, end=end)


def _actors(facts: ConsentFacts) -> list[ProvisionActor]:
    discloser = facts.discloser.reference()
    recipient = facts.recipient.reference()
    actors = [
        ProvisionActor(
            role=_concept(PARTICIPATION, "AUT", "author (originator)"), reference=discloser
        ),
        ProvisionActor(
            role=_concept(PARTICIPATION, "PRCP", "primary information recipient"),
            reference=recipient,
        ),
    ]
    if facts.two_way:
        # a two-way release lets the recipient share back with the discloser
        actors += [
            ProvisionActor(
                role=_concept(PARTICIPATION, "AUT", "author (originator)"), reference=recipient
            ),
            ProvisionActor(
                role=_concept(PARTICIPATION, "IRCP", "information recipient"), reference=discloser
            ),
        ]
    return actors


def _purposes(purposes: Sequence[Code]) -> list[Coding]:
    codings: list[Coding] = []
    seen: set[tuple[str, str]] = set()
    for purpose in purposes:
        system, code, display = _purpose_of_use(purpose.code, purpose.label)
        if (system, code) not in seen:
            seen.add((system, code))
            codings.append(_coding(system, code, display))
    return codings


def _purpose_of_use(code: str, label: str | None = None) -> tuple[str, str, str]:
    mapped = PURPOSE_OF_USE.get(code)
    if mapped is not None:
        return ACT_REASON, mapped[0], mapped[1]
    return ROI_PURPOSE, code, label or code


def _purpose_concept(purposes: str) -> CodeableConcept:
    # decision.checked stores several purposes comma-joined; a disclosure stores one
    codings = []
    for code in sorted(set(purposes.split(","))):
        system, mapped, display = _purpose_of_use(code)
        codings.append(_coding(system, mapped, display))
    return CodeableConcept(coding=codings)


def _security_labels(categories: Iterable[Code]) -> list[Coding]:
    labels: dict[str, Coding] = {}
    for category in categories:
        for flag in category.sensitive:
            code, display = SENSITIVITY[flag]
            labels.setdefault(code, _coding(ACT_CODE, code, display))
    return list(labels.values())


def _crude(family: str, verb: str) -> str:
    """The AuditEvent.action letter: Create, Read, Update, Delete, Execute."""
    if family in _EXECUTE_FAMILIES or verb in {"verified", "throttled", "denied", "failure"}:
        return "E"
    if verb in _CREATE:
        return "C"
    if verb in _READ:
        return "R"
    if verb in _DELETE:
        return "D"
    return "U"


def _agent(facts: AuditFacts) -> AuditEventAgent:
    if facts.actor_id is not None:
        who = Reference(
            type="Patient" if facts.actor_role == "client" else "Practitioner",
            identifier=Identifier(system=ROI_USER, value=str(facts.actor_id)),
            display=facts.actor_display,
        )
    elif facts.actor_role == "system":
        who = Reference(type="Device", display="roi (command line or background work)")
    else:
        who = Reference(display="someone not signed in")
    return AuditEventAgent(
        who=who,
        role=[_concept(ROI_ROLE, facts.actor_role, facts.actor_role)],
        # the system acts on its own; everyone else asked for what happened
        requestor=facts.actor_role != "system",
        network=AuditEventAgentNetwork(address=facts.ip, type=NETWORK_TYPE_IP)
        if facts.ip
        else None,
    )


def _entities(facts: AuditFacts) -> list[AuditEventEntity]:
    # the decision's categories, purpose and reasons go on the consent it relied on, or, for a
    # denial (no consent permitted it), on the client it was about
    details = _details(facts)
    entities: list[AuditEventEntity] = []
    if facts.client is not None:
        client_details = details if facts.consent_id is None else None
        entities.append(_entity(facts.client, "1", "Patient", details=client_details))
    if facts.consent_id is not None:
        entities.append(
            _entity(Ref("Consent", facts.consent_id), "4", "Domain Resource", details=details)
        )
    if facts.message_id is not None:
        entities.append(_entity(Ref("Communication", facts.message_id), "3", "Report"))
    if facts.recipient is not None:
        entities.append(_entity(facts.recipient, "16", "Data Destination"))
    if facts.subject_user_id is not None:
        user = Identifier(system=ROI_USER, value=str(facts.subject_user_id))
        entities.append(
            AuditEventEntity(
                what=Reference(identifier=user),
                role=_coding(OBJECT_ROLE, "11", "Security User Entity"),
            )
        )
    return entities


def _entity(
    ref: Ref, role: str, role_display: str, *, details: list[AuditEventEntityDetail] | None = None
) -> AuditEventEntity:
    return AuditEventEntity(
        what=ref.reference(),
        type=_coding(AUDIT_ENTITY_TYPE, ref.resource_type, ref.resource_type),
        role=_coding(OBJECT_ROLE, role, role_display),
        detail=details or None,
    )


def _details(facts: AuditFacts) -> list[AuditEventEntityDetail]:
    details = []
    if facts.categories:
        details.append(
            AuditEventEntityDetail(type="categories", valueString=",".join(facts.categories))
        )
    if facts.purpose:
        details.append(AuditEventEntityDetail(type="purpose", valueString=facts.purpose))
    if facts.reasons:
        details.append(AuditEventEntityDetail(type="reasons", valueString=",".join(facts.reasons)))
    return details


def _coding(system: str, code: str, display: str | None = None) -> Coding:
    return Coding(system=system, code=code, display=display)


def _concept(system: str, code: str, display: str | None = None) -> CodeableConcept:
    return CodeableConcept(coding=[_coding(system, code, display)], text=display)
