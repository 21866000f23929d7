"""FHIR R4 exports of roi's records: a consent, one audit entry, and a client's consents and
disclosures. This module loads the records the actor may see and turns them into the plain
data `roi.documents.fhir` builds (and validates) the resources from; every export is audited.

Who may export what:
- a consent: whoever may read it (`consent_for`); `policy.consent_visibility` shows a clinician
  who sees it only as its recipient the consent only while it is active: not before the client
  signed, and not once the client revoked it (or it expired, or was replaced). The client's
  name must not reach the recipient through this path then (SECURITY C7); the consent stays on
  record for the discloser, the client and compliance.
- a client's Bundle: the client themself and the compliance officers of the client's
  organization (`policy.exportable_clients`); a clinician as for `GET /clients/{id}` (their
  practice's clients, and one whose active consent names them, who gets only the consents they
  may read, `consents_for`). The disclosures in it (as AuditEvents:
  consented, emergency and recorded outside roi, each with its basis) are the accounting of
  disclosures (164.528), so they are included only for those who may read an accounting: the
  client and compliance, not clinicians, who get the consents.
- an audit entry: compliance officers, for entries in their organization's scope.

Auditing: a consent's export is `record.viewed` (detail `format: fhir`): it shows what
`GET /consents/{id}` shows, to the same people, only in a machine format, so it is a view of one
record, and an officer reading "who looked at this consent" finds it beside the other views.
`audit.exported` is kept for what takes records out in bulk: a client's Bundle (their whole
record, with the log's entries about their disclosures for those who may read them) and an
AuditEvent (an entry of the log itself), so every copy of the log that left roi is found under
that one action.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from fhir.resources.R4B.resource import Resource
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from roi import audit, vault
from roi.accounts.models import Client, Organization, Provider, User
from roi.accounts.policy import Permission, allows, exportable_clients, require
from roi.actor import Actor, Role
from roi.audit import Action, AuditEntry
from roi.audit.accounting import DISCLOSURE_ACTIONS
from roi.clock import now
from roi.compliance import accounting
from roi.compliance.log import client_names
from roi.compliance.scope import officer_scope
from roi.consent.library import Category, FormLibrary
from roi.consent.lifecycle import date_end, evidence_of
from roi.consent.models import Consent, SignerRelationship
from roi.consent.queries import client_for, consent_for, consents_for
from roi.db import unit_of_work
from roi.documents import fhir
from roi.errors import NotFound

#: the consent's PDF URL for a consent id (the web layer knows its routes; this module does not)
DocumentUrl = Callable[[int], str]


def export_consent(
    session: Session,
    actor: Actor,
    consent_id: int,
    library: FormLibrary,
    *,
    document_url: DocumentUrl,
) -> str:
    """The consent as FHIR R4 `Consent` JSON; audited as `record.viewed`.

    Raises:
        NotFound: not a consent the actor may see (or no longer may, as its recipient).
    """
    consent = consent_for(session, actor, consent_id)
    facts = consent_facts(consent, library, document_url=document_url)
    body = fhir.to_json(fhir.consent_resource(facts))
    with unit_of_work(session):
        audit.record(
            session,
            actor,
            Action.RECORD_VIEWED,
            client_id=facts.patient.id,
            consent_id=facts.consent_id,
            detail={"format": "fhir", "resource": "Consent"},
        )
    return body


def export_client(
    session: Session,
    actor: Actor,
    client_id: int,
    library: FormLibrary,
    *,
    document_url: DocumentUrl,
) -> str:
    """A client's consents (and, for those who may read an accounting, their disclosures) as a
    FHIR R4 Bundle of type collection; audited as `audit.exported`.

    Raises:
        Forbidden: the actor's role may not read consents.
        NotFound: not a client the actor may export.
    """
    require(actor, Permission.VIEW_CONSENTS)
    client = _client_for_export(session, actor, client_id)
    consents = consents_for(session, actor, client_id=client.id)
    consents.sort(key=lambda c: c.id)
    entries: list[tuple[str, Resource]] = []
    for consent in consents:
        facts = consent_facts(consent, library, document_url=document_url)
        entries.append((fhir.consent_full_url(facts), fhir.consent_resource(facts)))
    disclosures: list[AuditEntry] = []
    if allows(actor.role, Permission.VIEW_ACCOUNTING):
        # the accounting's disclosures, no more: a suspended one stays out of this copy too
        listed = accounting.listed_disclosures(session, library, client)
        disclosures = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.seq.in_(listed)).order_by(AuditEntry.seq)
            )
        )
    for event in audit_facts(session, actor, disclosures, with_ip=actor.role is Role.COMPLIANCE):
        entries.append((fhir.audit_event_full_url(event), fhir.audit_event_resource(event)))
    body = fhir.to_json(fhir.collection(entries, at=now()))
    with unit_of_work(session):
        audit.record(
            session,
            actor,
            Action.AUDIT_EXPORTED,
            client_id=client_id,
            detail={
                "format": "fhir",
                "resource": "Bundle",
                "consents": len(consents),
                "disclosures": len(disclosures),
            },
        )
    return body


def export_audit_event(session: Session, actor: Actor, seq: int) -> str:
    """One audit entry as a FHIR R4 `AuditEvent`; audited as `audit.exported`.

    Raises:
        Forbidden: the actor may not read the disclosure log.
        NotFound: no such entry in the officer's scope.
    """
    require(actor, Permission.VIEW_DISCLOSURE_LOG)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.seq == seq, officer_scope(actor)))
    if entry is None:
        raise NotFound("audit event")
    client_id = entry.client_id
    (facts,) = audit_facts(session, actor, [entry], with_ip=True)
    body = fhir.to_json(fhir.audit_event_resource(facts))
    with unit_of_work(session):
        audit.record(
            session,
            actor,
            Action.AUDIT_EXPORTED,
            client_id=client_id,
            detail={"format": "fhir", "resource": "AuditEvent", "seq": seq},
        )
    return body


def consent_facts(
    consent: Consent, library: FormLibrary, *, document_url: DocumentUrl
) -> fhir.ConsentFacts:
    """What the FHIR export says about a consent, read from the consent and its signature."""
    categories = {category.code: category for category in library.categories()}
    purposes = {purpose.code: purpose.label for purpose in library.purposes()}
    client = consent.client
    patient = fhir.Ref("Patient", client.id, client.display_name)
    signature = consent.signature
    signer = None
    document = None
    if signature is not None:
        signer = _signer(consent, patient)
        pdf = vault.open_sealed(
            signature.pdf_sealed, vault.Place("consent_signatures", "pdf_sealed", signature.uuid)
        )
        document = fhir.SignedDocument(
            url=document_url(consent.id), pdf=pdf, signed_at=signature.signed_at
        )
    return fhir.ConsentFacts(
        consent_id=consent.id,
        consent_uuid=consent.uuid,
        state=consent.status_at(now()).value,
        kind=consent.kind,
        patient=patient,
        organization=fhir.Ref("Organization", consent.organization_id, consent.organization.name),
        discloser=fhir.Ref("Practitioner", consent.discloser_provider_id, consent.discloser.name),
        recipient=fhir.Ref("Practitioner", consent.recipient_provider_id, consent.recipient.name),
        two_way=consent.direction == "two_way",
        categories=tuple(_category(code, categories) for code in consent.categories),
        purposes=tuple(fhir.Code(code, purposes.get(code, code)) for code in consent.purposes),
        created_at=consent.created_at,
        signed_at=consent.signed_at,
        ends_at=_ends_at(consent),
        signer=signer,
        document=document,
    )


def audit_facts(
    session: Session, reader: Actor, entries: Sequence[AuditEntry], *, with_ip: bool
) -> list[fhir.AuditFacts]:
    """The entries with the names their ids stand for (users, clients as `reader` may see them
    named, providers, practices).

    `with_ip` is for compliance: a client reading their own record has no need of staff IPs.
    """
    users = _names(session, User.id, User.name, (e.actor_id for e in entries))
    named = client_names(session, reader, (e.client_id for e in entries))
    clients: dict[int | None, str] = {key: name for key, name in named.items()}
    providers = _names(
        session, Provider.id, Provider.name, (e.recipient_provider_id for e in entries)
    )
    organizations = _names(
        session, Organization.id, Organization.name, (e.organization_id for e in entries)
    )
    return [
        fhir.AuditFacts(
            seq=entry.seq,
            at=entry.at,
            action=str(entry.action),
            outcome=str(entry.outcome),
            actor_id=entry.actor_id,
            actor_role=entry.actor_role,
            actor_display=users.get(entry.actor_id),
            ip=entry.ip if with_ip else None,
            organization=_ref("Organization", entry.organization_id, organizations),
            client=_ref("Patient", entry.client_id, clients),
            consent_id=entry.consent_id,
            message_id=entry.message_id,
            recipient=_ref("Practitioner", entry.recipient_provider_id, providers),
            subject_user_id=entry.subject_user_id,
            categories=tuple(entry.categories or ()),
            purpose=entry.purpose,
            reasons=tuple(entry.reasons or ()),
            hash=entry.hash,
            basis=_basis(entry),
        )
        for entry in entries
    ]


def _basis(entry: AuditEntry) -> str | None:
    """A disclosure's basis: from `detail` when sent in an emergency or made outside roi, else
    the client's authorization (the consent it went out under)."""
    if entry.action not in DISCLOSURE_ACTIONS:
        return None
    basis = (entry.detail or {}).get("basis")
    return basis if isinstance(basis, str) else "authorization"


def _client_for_export(session: Session, actor: Actor, client_id: int) -> Client:
    if actor.role is Role.CLINICIAN:
        # as GET /clients/{id} (CONTRACT.md): their practice's clients, and a client whose active
        # consent names them, whose Bundle then holds only the consents they may read
        return client_for(session, actor, client_id)
    client = session.scalar(select(Client).where(Client.id == client_id, exportable_clients(actor)))
    if client is None:
        raise NotFound("client")
    return client


def _signer(consent: Consent, patient: fhir.Ref) -> fhir.Ref:
    """Who agreed: the client, or a representative named in the sealed signing evidence."""
    signature = consent.signature
    assert signature is not None  # noqa: S101 - the caller checked
    if signature.relationship_to_client is SignerRelationship.SELF:
        return patient
    evidence = evidence_of(signature)
    relationship = signature.relationship_to_client.value.replace("_", " ")
    return fhir.Ref("RelatedPerson", None, f"{evidence['signer_name']} ({relationship})")


def _ends_at(consent: Consent) -> datetime | None:
    """The first of: its date, its revocation, its recorded expiry event, its replacement."""
    ends = [
        moment
        for moment in (
            date_end(consent),
            consent.revoked_at,
            consent.expired_at,
            consent.superseded_at,
        )
        if moment is not None
    ]
    return min(ends) if ends else None


def _category(code: str, known: dict[str, Category]) -> fhir.Code:
    category = known.get(code)
    if category is None:
        return fhir.Code(code, code)
    flags = tuple(flag for flag in fhir.SENSITIVITY if getattr(category, flag))
    return fhir.Code(code, category.label, flags)


def _names(
    session: Session,
    id_column: InstrumentedAttribute[int],
    name_column: InstrumentedAttribute[str],
    ids: Iterable[int | None],
) -> dict[int | None, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(id_column, name_column).where(id_column.in_(wanted)))
    return {row[0]: row[1] for row in rows}


def _ref(resource_type: str, key: int | None, names: dict[int | None, str]) -> fhir.Ref | None:
    return None if key is None else fhir.Ref(resource_type, key, names.get(key))
