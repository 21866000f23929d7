"""The documents of record: the signed PDF and the revocation receipt, every download audited;
and the link that brings the signer their copy."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from roi import audit, i18n, vault
from roi.accounts.policy import Permission, require
from roi.actor import Actor
from roi.audit import Action
from roi.consent import notices
from roi.consent.library import FormLibrary, FormTemplate
from roi.consent.lifecycle._shared import description_of, mail_copy_link
from roi.consent.lifecycle.signing import evidence_of
from roi.consent.models import Consent, Revocation, Signature
from roi.consent.queries import (
    consent_for,
    consent_to_record_revocation_for,
    managed_consent_for,
)
from roi.consent.rendering import consent_document
from roi.db import unit_of_work
from roi.documents import pdf
from roi.documents.model import Evidence, RevocationBlock, SignerBlock
from roi.errors import Invalid, NotFound, WrongState
from roi.i18n import N_


def signed_pdf(session: Session, actor: Actor, consent_id: int) -> tuple[Consent, bytes]:
    """The signed PDF exactly as signed; every download is audited.

    Raises:
        NotFound: not visible to the actor, or not signed (there is no document yet).
    """
    consent = consent_for(session, actor, consent_id)
    signature = consent.signature
    if signature is None:
        raise NotFound("signed document")
    document = vault.open_sealed(
        signature.pdf_sealed, vault.Place("consent_signatures", "pdf_sealed", signature.uuid)
    )
    _audit_download(session, actor, consent, "signed_consent")
    return consent, document


def revocation_receipt(
    session: Session, actor: Actor, consent_id: int, library: FormLibrary
) -> tuple[Consent, bytes]:
    """A PDF receipt that repeats the whole scope of the revoked consent.

    Raises:
        NotFound: not visible to the actor, or not revoked.
    """
    consent = consent_for(session, actor, consent_id)
    revocation, signature = consent.revocation, consent.signature
    if revocation is None or signature is None:
        raise NotFound("revocation receipt")
    template = library.get(consent.template_id, consent.template_version)
    document = consent_document(consent, template, description_of(consent))
    evidence = evidence_of(signature)
    signer = SignerBlock(
        name=evidence["signer_name"],
        relationship=signature.relationship_to_client.value,
        authority=evidence.get("representative_authority"),
        signed_at=signature.signed_at,
        drawn_signature_png=None,
    )
    reason = None
    if revocation.reason_sealed:
        reason = vault.open_sealed(
            revocation.reason_sealed,
            vault.Place("consent_revocations", "reason_sealed", revocation.uuid),
        ).decode()
    with i18n.speaking(document.language):
        block = RevocationBlock(
            revoked_at=revocation.revoked_at,
            revoked_by=i18n.gettext("the client"),
            method=revocation_method_words(revocation),
            reason=reason,
        )
    receipt = pdf.render_revocation_receipt(
        document,
        signer=signer,
        evidence=_evidence_from(signature, evidence, consent=consent, template=template),
        revocation=block,
    )
    _audit_download(session, actor, consent, "revocation_receipt")
    return consent, receipt


def revocation_document(
    session: Session, actor: Actor, consent_id: int
) -> tuple[Consent, bytes, str]:
    """The scan of a revocation received outside roi (its bytes and type), for staff of the
    disclosing practice; every download is audited.

    Raises:
        NotFound: not a consent of the actor's practice, or no scan was recorded.
    """
    consent = consent_to_record_revocation_for(session, actor, consent_id)
    revocation = consent.revocation
    if (
        revocation is None
        or revocation.document_sealed is None
        or revocation.document_content_type is None
    ):
        raise NotFound("revocation document")
    content = vault.open_sealed(
        revocation.document_sealed,
        vault.Place("consent_revocations", "document_sealed", revocation.uuid),
    )
    _audit_download(session, actor, consent, "revocation_document")
    return consent, content, revocation.document_content_type


def resend_copy_link(session: Session, actor: Actor, consent_id: int) -> Consent:
    """Mail the client a new link to their signed copy, valid 30 days (the first one goes out
    when the release is signed).

    Raises:
        NotFound: not a consent of the actor's practice.
        WrongState: the release is not signed: there is no copy yet.
        Invalid: the client has no email address on file.
    """
    require(actor, Permission.PREPARE_CONSENT)
    with unit_of_work(session):
        consent = managed_consent_for(session, actor, consent_id)
        if consent.signature is None:
            raise WrongState(N_("This release is not signed yet: there is no copy to send."))
        if not mail_copy_link(session, consent):
            raise Invalid({"email": N_("The client has no email address on file.")})
        audit.record(
            session,
            actor,
            Action.CONSENT_COPY_SENT,
            client_id=consent.client_id,
            consent_id=consent.id,
        )
    return consent


#: how a client revoked in roi, in words
METHOD_WORDS = {
    "portal": N_("Online, in the client portal"),
    "link": N_("Online, through the emailed link to their copy"),
    "api": N_("Through a connected application"),
}


def revocation_method_words(revocation: Revocation) -> str:
    """How the revocation was made, for the receipt, in the language being spoken: "Online, in
    the client portal", or "by letter received on November 28, 2026, recorded in roi by the
    practice"."""
    if not revocation.from_outside:
        words = METHOD_WORDS.get(revocation.method)
        return i18n.gettext(words) if words else revocation.method
    return i18n.gettext(
        "%(how)s, recorded in roi by the practice", how=notices.revocation_words(revocation)
    )


def _audit_download(session: Session, actor: Actor, consent: Consent, document: str) -> None:
    with unit_of_work(session):
        audit.record(
            session,
            actor,
            Action.DOCUMENT_DOWNLOADED,
            client_id=consent.client_id,
            consent_id=consent.id,
            detail={"document": document},
        )


def _evidence_from(
    signature: Signature,
    evidence: dict[str, Any],
    *,
    consent: Consent,
    template: FormTemplate,
) -> Evidence:
    return Evidence(
        signed_at=signature.signed_at,
        ip=evidence.get("ip"),
        user_agent=evidence.get("user_agent"),
        identity_method=signature.identity_method,
        assurance=evidence.get("assurance", ""),
        template_id=template.id,
        template_version=signature.template_version,
        shown_document_sha256=signature.shown_document_sha256,
        consent_uuid=consent.uuid,
        organization=consent.organization.name,
        language=str(evidence.get("language") or "en"),
        language_version=_whole_number(evidence.get("language_version")),
    )


def _whole_number(value: object) -> int | None:
    """A number kept in the sealed evidence (None for signatures made before it was kept)."""
    return value if isinstance(value, int) else None
