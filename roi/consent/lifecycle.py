"""The consent lifecycle: create, send for signature, sign, revoke, expire, void, supersede.

Each step owns its transaction: the state change, its sealed fields and its audit entry commit
together or not at all. State changes lock the consent row first (SELECT … FOR UPDATE; on SQLite
the write transaction's BEGIN IMMEDIATE), so two concurrent signatures or revocations cannot both
succeed: the second finds the new state and gets WrongState (409).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from roi import audit, mail, vault
from roi.accounts.models import Provider
from roi.accounts.policy import Permission, require
from roi.accounts.service import NewProvider, check_provider, insert_provider
from roi.actor import Actor
from roi.audit import Action
from roi.clock import now
from roi.consent import notices
from roi.consent.elements import Draft, MissingElement, missing_elements
from roi.consent.errors import IncompleteConsent
from roi.consent.library import FormLibrary, FormTemplate
from roi.consent.models import (
    Consent,
    ConsentStatus,
    Direction,
    Notification,
    Revocation,
    Signature,
    SignerRelationship,
    SigningInvitation,
)
from roi.consent.queries import client_to_prepare_for, consent_for, managed_consent_for
from roi.consent.rendering import consent_document
from roi.db import unit_of_work
from roi.documents import pdf, seal
from roi.documents.model import Evidence, RevocationBlock, SignerBlock
from roi.errors import Invalid, NotFound, WrongState

logger = logging.getLogger(__name__)

MAX_DESCRIPTION = 4000
MAX_EVENT = 300
MAX_REASON = 1000
MIN_AUTHORITY = 10
MAX_DRAWN_SIGNATURE = 300_000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ConsentFields:
    """What a clinician writes into a release (a new draft, or an edit of one)."""

    client_id: int
    template_id: str
    recipient_provider_id: int
    categories: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    information_description: str = ""
    expires_on: date | None = None
    expiry_event: str | None = None
    direction: Direction = Direction.ONE_WAY
    signer_relationship: SignerRelationship = SignerRelationship.SELF


@dataclass(frozen=True)
class SignatureInput:
    signer_name: str
    relationship: SignerRelationship
    agree: bool
    representative_authority: str | None = None
    drawn_signature_png: bytes | None = None


@dataclass(frozen=True)
class Identity:
    """How the signer's identity was checked, and where the signature came from."""

    method: str
    assurance: str
    ip: str | None
    user_agent: str | None
    signer_user_id: int | None = None


def description_place(consent: Consent) -> vault.Place:
    return vault.Place("consents", "information_description_sealed", consent.uuid)


def description_of(consent: Consent) -> str:
    """The consent's specific description of the information, unsealed."""
    if consent.information_description_sealed is None:
        return ""
    return vault.open_sealed(
        consent.information_description_sealed, description_place(consent)
    ).decode()


def create(
    session: Session,
    actor: Actor,
    fields: ConsentFields,
    library: FormLibrary,
    *,
    new_recipient: NewProvider | None = None,
) -> Consent:
    """Create a draft release for a referral; `new_recipient` adds the recipient to the directory
    in the same transaction (then `fields.recipient_provider_id` is ignored).

    Raises:
        Forbidden: the actor is not a clinician.
        NotFound: the client is not one of the actor's organization.
        Invalid: an unknown template, recipient, category or purpose, or an over-long field.
    """
    require(actor, Permission.PREPARE_CONSENT)
    template = _template(library, fields.template_id)
    _check_fields(fields, template)
    if new_recipient is not None:
        try:
            check_provider(actor, new_recipient)
        except Invalid as error:
            raise Invalid({f"new_provider_{k}": v for k, v in error.fields.items()}) from None
    with unit_of_work(session):
        return _insert_draft(session, actor, fields, template, new_recipient)


def _insert_draft(
    session: Session,
    actor: Actor,
    fields: ConsentFields,
    template: FormTemplate,
    new_recipient: NewProvider | None = None,
) -> Consent:
    """Insert a checked draft and its audit entry, in the caller's unit of work."""
    client = client_to_prepare_for(session, actor, fields.client_id)
    discloser = _discloser(session, actor)
    recipient_id = (
        insert_provider(session, actor, new_recipient).id
        if new_recipient is not None
        else fields.recipient_provider_id
    )
    recipient = _recipient(session, recipient_id, discloser)
    consent = Consent(
        client_id=client.id,
        organization_id=actor.organization_id,
        discloser_provider_id=discloser.id,
        recipient_provider_id=recipient.id,
        created_by_id=actor.user_id,
        template_id=template.id,
        template_version=template.version,
        kind=template.kind.value,
    )
    _apply(consent, fields)
    session.add(consent)
    session.flush()
    consent.information_description_sealed = _seal_description(consent, fields)
    audit.record(
        session,
        actor,
        Action.CONSENT_CREATED,
        client_id=client.id,
        consent_id=consent.id,
        recipient_provider_id=recipient.id,
        categories=consent.categories,
        purpose=",".join(consent.purposes) or None,
    )
    return consent


def update_draft(
    session: Session, actor: Actor, consent_id: int, fields: ConsentFields, library: FormLibrary
) -> Consent:
    """Change a draft; anything past draft is immutable.

    Raises:
        WrongState: the consent is no longer a draft.
        Invalid: as for `create`.
    """
    require(actor, Permission.PREPARE_CONSENT)
    template = _template(library, fields.template_id)
    _check_fields(fields, template)
    with unit_of_work(session):
        consent = managed_consent_for(session, actor, consent_id)
        if consent.status is not ConsentStatus.DRAFT:
            raise WrongState(_state_message(consent, "changed"))
        discloser = _discloser(session, actor) if consent.created_by_id == actor.user_id else None
        recipient = _recipient(
            session, fields.recipient_provider_id, discloser or consent.discloser
        )
        consent.recipient_provider_id = recipient.id
        consent.template_id, consent.template_version = template.id, template.version
        consent.kind = template.kind.value
        _apply(consent, fields)
        consent.information_description_sealed = _seal_description(consent, fields)
    return consent


def completeness(
    consent: Consent, library: FormLibrary, *, today: date | None = None
) -> list[MissingElement]:
    """The elements this consent still lacks (empty when it may be sent)."""
    template = library.get(consent.template_id, consent.template_version)
    return missing_elements(_draft(consent), template, today=today or now().date())


@dataclass(frozen=True)
class Sent:
    consent: Consent
    #: the emailed link's secret, when the client has an email address (None otherwise)
    invitation_token: str | None


def check_draft(
    fields: ConsentFields, library: FormLibrary, *, today: date | None = None
) -> list[MissingElement]:
    """What an unsaved release would still lack, for the form's live check (nothing is stored).

    Raises:
        Invalid: the form template does not exist.
    """
    template = _template(library, fields.template_id)
    draft = Draft(
        categories=fields.categories,
        purposes=fields.purposes,
        information_description=fields.information_description,
        expires_on=fields.expires_on,
        expiry_event=fields.expiry_event,
        discloser_provider_id=-1,  # the clinician filling the form
        recipient_provider_id=fields.recipient_provider_id or None,
    )
    return missing_elements(draft, template, today=today or now().date())


def send_for_signature(
    session: Session,
    actor: Actor,
    consent_id: int,
    library: FormLibrary,
    *,
    invitation_lifetime: timedelta,
) -> Sent:
    """Send a complete draft for signature; a client with an email address also gets a link,
    written to the outbox in the same transaction.

    Raises:
        WrongState: the consent is not a draft.
        IncompleteConsent: a core element or required statement is missing (each is named).
    """
    require(actor, Permission.PREPARE_CONSENT)
    token = None
    with unit_of_work(session):
        consent = managed_consent_for(session, actor, consent_id, lock=True)
        if consent.status is not ConsentStatus.DRAFT:
            raise WrongState(_state_message(consent, "sent"))
        missing = completeness(consent, library)
        if missing:
            raise IncompleteConsent(missing)
        at = now()
        consent.status = ConsentStatus.PENDING_SIGNATURE
        consent.sent_at = at
        if consent.client.email:
            token = secrets.token_urlsafe(32)
            session.add(
                SigningInvitation(
                    consent_id=consent.id,
                    token_sha256=hashlib.sha256(token.encode()).hexdigest(),
                    expires_at=at + invitation_lifetime,
                )
            )
            invitation = notices.invitation_mail(consent, token)
            if invitation is not None:
                mail.enqueue(session, invitation, organization_id=consent.organization_id)
        if consent.client.user_id:
            _notify(
                session, consent.client.user_id, consent, "A release is waiting for your signature."
            )
        audit.record(
            session,
            actor,
            Action.CONSENT_SENT,
            client_id=consent.client_id,
            consent_id=consent.id,
            recipient_provider_id=consent.recipient_provider_id,
            detail={"emailed_link": token is not None},
        )
    return Sent(consent, token)


def preview_html(session: Session, actor: Actor, consent_id: int, library: FormLibrary) -> str:
    """The exact document the client will see, as HTML."""
    consent = consent_for(session, actor, consent_id)
    template = library.get(consent.template_id, consent.template_version)
    return pdf.render_preview_html(consent_document(consent, template, description_of(consent)))


def sign_as_client(
    session: Session,
    actor: Actor,
    consent_id: int,
    signature: SignatureInput,
    identity: Identity,
    library: FormLibrary,
) -> Consent:
    """The client (or their representative's account) signs a pending consent.

    Raises:
        NotFound: not the actor's consent.
        WrongState: the consent is not waiting for a signature (signed twice → the second fails).
        Invalid: no agreement, no name, or a representative without their authority.
    """
    require(actor, Permission.SIGN_CONSENT)
    consent = consent_for(session, actor, consent_id)
    return _sign(session, actor, consent.id, signature, identity, library)


def sign_for_verified_invitation(
    session: Session,
    invitation: SigningInvitation,
    actor: Actor,
    signature: SignatureInput,
    identity: Identity,
    library: FormLibrary,
) -> Consent:
    """Sign the consent of `invitation`, a signing link whose holder `invitations` has already
    verified (date of birth and one-time code); `actor` is the client it was sent to.

    Raises:
        WrongState: the consent is not pending signature.
        Invalid: the signature input is not acceptable.
    """
    return _sign(session, actor, invitation.consent_id, signature, identity, library)


def _sign(
    session: Session,
    actor: Actor,
    consent_id: int,
    signature: SignatureInput,
    identity: Identity,
    library: FormLibrary,
) -> Consent:
    """Sign consent `consent_id`; the caller has established who the signer is.

    The PDF of record is rendered and digitally signed once, here, before the row lock is taken
    (rendering takes a moment); the lock then re-checks the state, so a concurrent signature or a
    void in between wins and this one is refused.

    Raises:
        WrongState: the consent is not pending signature.
        Invalid: the signature input is not acceptable.
    """
    _check_signature(signature)
    consent = _load(session, consent_id)
    if consent.status is not ConsentStatus.PENDING_SIGNATURE:
        raise WrongState(_state_message(consent, "signed"))
    template = library.get(consent.template_id, consent.template_version)
    document = consent_document(consent, template, description_of(consent))
    signed_at = now()
    shown_html = pdf.render_preview_html(document)
    shown_sha = pdf.shown_document_sha256(document)
    signer = SignerBlock(
        name=signature.signer_name.strip(),
        relationship=signature.relationship.value,
        authority=(signature.representative_authority or "").strip() or None,
        signed_at=signed_at,
        drawn_signature_png=signature.drawn_signature_png,
    )
    evidence = Evidence(
        signed_at=signed_at,
        ip=identity.ip,
        user_agent=(identity.user_agent or "")[:300] or None,
        identity_method=identity.method,
        assurance=identity.assurance,
        template_id=template.id,
        template_version=template.version,
        shown_document_sha256=shown_sha,
        consent_uuid=consent.uuid,
        organization=consent.organization.name,
    )
    unsigned = pdf.render_consent(document, signer=signer, evidence=evidence)
    identity_signer = seal.signing_identity(
        session, consent.organization_id, consent.organization.name
    )
    session.commit()  # end the read transaction before the write one
    signed_pdf = seal.sign_pdf(
        unsigned,
        identity_signer,
        reason="Authorization signed by the client",
        location=consent.organization.name,
    )
    pdf_sha = hashlib.sha256(signed_pdf).hexdigest()
    previous_id = consent.supersedes_id
    with unit_of_work(session):
        if previous_id is not None:
            # Consent rows are locked in id order everywhere (a send locks its candidates so),
            # and the version replaced is older than this one: lock it first.
            _load(session, previous_id, lock=True)
        consent = _load(session, consent_id, lock=True)
        if consent.status is not ConsentStatus.PENDING_SIGNATURE:
            raise WrongState(_state_message(consent, "signed"))
        row = Signature(
            consent_id=consent.id,
            signer_user_id=identity.signer_user_id,
            relationship_to_client=signature.relationship,
            signed_at=signed_at,
            identity_method=identity.method,
            template_version=template.version,
            shown_document_sha256=shown_sha,
            pdf_sha256=pdf_sha,
            evidence_sealed=b"",
            pdf_sealed=b"",
            shown_document_sealed=b"",
        )
        session.add(row)
        session.flush()
        place = lambda column: vault.Place("consent_signatures", column, row.uuid)  # noqa: E731
        row.evidence_sealed = vault.seal(
            json.dumps(_evidence_record(signer, evidence)).encode(), place("evidence_sealed")
        )
        row.pdf_sealed = vault.seal(signed_pdf, place("pdf_sealed"))
        row.shown_document_sealed = vault.seal(shown_html.encode(), place("shown_document_sealed"))
        if signature.drawn_signature_png:
            row.drawn_signature_sealed = vault.seal(
                signature.drawn_signature_png, place("drawn_signature_sealed")
            )
        consent.status = ConsentStatus.ACTIVE
        consent.signed_at = signed_at
        consent.document_sha256 = pdf_sha
        _close_invitations(session, consent.id, signed_at)
        audit.record(
            session,
            actor,
            Action.CONSENT_SIGNED,
            client_id=consent.client_id,
            consent_id=consent.id,
            recipient_provider_id=consent.recipient_provider_id,
            categories=consent.categories,
            detail={"identity_method": identity.method, "document_sha256": pdf_sha},
        )
        _supersede_previous(session, actor, consent)
        for user_id in _clinician_users(consent):
            _notify(session, user_id, consent, f"Release #{consent.id} was signed and is active.")
    return consent


def revoke(
    session: Session, actor: Actor, consent_id: int, *, reason: str | None, method: str = "portal"
) -> Consent:
    """The client takes a consent back; effective for every decision after this commits. The
    preparing clinician and the recipient are told in the app and by mail (through the outbox).

    Raises:
        NotFound: not the actor's consent.
        WrongState: the consent is not active (revoking twice → the second fails).
        Invalid: the reason is too long.
    """
    require(actor, Permission.REVOKE_CONSENT)
    if reason and len(reason) > MAX_REASON:
        raise Invalid({"reason": f"Keep the reason under {MAX_REASON} characters."})
    with unit_of_work(session):
        consent = consent_for(session, actor, consent_id, lock=True)
        at = now()
        if consent.status_at(at) is not ConsentStatus.ACTIVE:
            raise WrongState(_state_message(consent, "revoked", at))
        revocation = Revocation(
            consent_id=consent.id, revoked_by_id=actor.user_id, revoked_at=at, method=method
        )
        session.add(revocation)
        session.flush()
        if reason and reason.strip():
            revocation.reason_sealed = vault.seal(
                reason.strip().encode(),
                vault.Place("consent_revocations", "reason_sealed", revocation.uuid),
            )
        consent.status = ConsentStatus.REVOKED
        consent.revoked_at = at
        audit.record(
            session,
            actor,
            Action.CONSENT_REVOKED,
            client_id=consent.client_id,
            consent_id=consent.id,
            recipient_provider_id=consent.recipient_provider_id,
            detail={"method": method},
        )
        for user_id in _clinician_users(consent):
            _notify(session, user_id, consent, f"Release #{consent.id} was revoked by the client.")
        for notice in notices.revocation_mails(consent):
            mail.enqueue(session, notice, organization_id=consent.organization_id)
    return consent


def record_expiry_event(
    session: Session, actor: Actor, consent_id: int, occurred_on: date
) -> Consent:
    """Record that the consent's expiration event happened: it no longer permits anything.

    Raises:
        WrongState: the consent is not active.
        Invalid: the date is in the future.
    """
    require(actor, Permission.PREPARE_CONSENT)
    at = now()
    if occurred_on > at.date():
        raise Invalid({"occurred_on": "The event cannot have happened in the future."})
    with unit_of_work(session):
        consent = managed_consent_for(session, actor, consent_id, lock=True)
        # the state at an instant taken under the lock, so a revocation that committed while
        # this waited is seen (its time is later than an instant taken before the lock)
        at = now()
        if consent.status_at(at) is not ConsentStatus.ACTIVE:
            raise WrongState(_state_message(consent, "expired", at))
        consent.status = ConsentStatus.EXPIRED
        consent.expired_at = at
        consent.expiry_event_occurred_on = occurred_on
        audit.record(
            session,
            actor,
            Action.CONSENT_EXPIRED,
            client_id=consent.client_id,
            consent_id=consent.id,
            detail={"occurred_on": occurred_on.isoformat()},
        )
    return consent


def void(session: Session, actor: Actor, consent_id: int) -> Consent:
    """Withdraw a draft or a consent still waiting for its signature.

    Raises:
        WrongState: the consent was already signed or ended.
    """
    require(actor, Permission.PREPARE_CONSENT)
    with unit_of_work(session):
        consent = managed_consent_for(session, actor, consent_id, lock=True)
        if consent.status not in (ConsentStatus.DRAFT, ConsentStatus.PENDING_SIGNATURE):
            raise WrongState(_state_message(consent, "voided"))
        at = now()
        consent.status = ConsentStatus.VOIDED
        consent.voided_at = at
        _close_invitations(session, consent.id, at)
        audit.record(
            session,
            actor,
            Action.CONSENT_VOIDED,
            client_id=consent.client_id,
            consent_id=consent.id,
        )
    return consent


def new_version(session: Session, actor: Actor, consent_id: int, library: FormLibrary) -> Consent:
    """A new draft with the same content that, once signed, supersedes the active consent; the
    draft and its link to the consent it replaces are written in one transaction.

    Raises:
        WrongState: only an active consent can be amended.
    """
    require(actor, Permission.PREPARE_CONSENT)
    with unit_of_work(session):
        previous = managed_consent_for(session, actor, consent_id)
        if previous.status_at(now()) is not ConsentStatus.ACTIVE:
            raise WrongState(_state_message(previous, "amended"))
        template = library.get(previous.template_id)  # the newest version of the same form
        fields = ConsentFields(
            client_id=previous.client_id,
            template_id=template.id,
            recipient_provider_id=previous.recipient_provider_id,
            categories=tuple(c for c in previous.categories if _offers(template, c)),
            purposes=tuple(
                p for p in previous.purposes if p in {x.code for x in template.purposes}
            ),
            information_description=description_of(previous),
            expires_on=previous.expires_on,
            expiry_event=previous.expiry_event,
            direction=Direction(previous.direction),
            signer_relationship=SignerRelationship(previous.signer_relationship),
        )
        _check_fields(fields, template)
        draft = _insert_draft(session, actor, fields, template)
        draft.supersedes_id = previous.id
    return draft


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
    receipt = pdf.render_revocation_receipt(
        document,
        signer=signer,
        evidence=_evidence_from(signature, evidence, consent=consent, template=template),
        revocation=RevocationBlock(
            revoked_at=revocation.revoked_at,
            revoked_by="the client" if revocation.method != "written" else "the client, in writing",
            method=revocation.method,
            reason=reason,
        ),
    )
    _audit_download(session, actor, consent, "revocation_receipt")
    return consent, receipt


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


def evidence_of(signature: Signature) -> dict[str, str]:
    """The sealed signing evidence (signer name, authority, IP, user agent, assurance)."""
    raw = vault.open_sealed(
        signature.evidence_sealed,
        vault.Place("consent_signatures", "evidence_sealed", signature.uuid),
    )
    value: dict[str, str] = json.loads(raw)
    return value


def _evidence_from(
    signature: Signature,
    evidence: dict[str, str],
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
    )


def _evidence_record(signer: SignerBlock, evidence: Evidence) -> dict[str, str | None]:
    return {
        "signer_name": signer.name,
        "representative_authority": signer.authority,
        "ip": evidence.ip,
        "user_agent": evidence.user_agent,
        "assurance": evidence.assurance,
    }


def _supersede_previous(session: Session, actor: Actor, consent: Consent) -> None:
    if consent.supersedes_id is None:
        return
    previous = session.scalar(
        select(Consent).where(Consent.id == consent.supersedes_id).with_for_update()
    )
    if previous is None or previous.status is not ConsentStatus.ACTIVE:
        return
    previous.status = ConsentStatus.SUPERSEDED
    previous.superseded_at = consent.signed_at
    audit.record(
        session,
        actor,
        Action.CONSENT_SUPERSEDED,
        client_id=previous.client_id,
        consent_id=previous.id,
        detail={"superseded_by": consent.id},
    )


def _close_invitations(session: Session, consent_id: int, at: datetime) -> None:
    """Emailed links die once the consent leaves pending_signature (signed or voided)."""
    session.execute(
        update(SigningInvitation)
        .where(SigningInvitation.consent_id == consent_id, SigningInvitation.used_at.is_(None))
        .values(used_at=at)
    )


def _notify(session: Session, user_id: int, consent: Consent, text: str) -> None:
    session.add(Notification(user_id=user_id, consent_id=consent.id, text=text))


def _clinician_users(consent: Consent) -> list[int]:
    users = [consent.created_by_id, consent.recipient.user_id]
    return sorted({u for u in users if u is not None})


def _template(library: FormLibrary, template_id: str) -> FormTemplate:
    try:
        return library.get(template_id)
    except NotFound:
        raise Invalid({"template_id": "No such form template."}) from None


def _offers(template: FormTemplate, code: str) -> bool:
    return code in {c.code for c in template.categories}


def _check_fields(fields: ConsentFields, template: FormTemplate) -> None:
    problems: dict[str, str] = {}
    unknown = [c for c in fields.categories if not _offers(template, c)]
    if unknown:
        problems["categories"] = (
            "Psychotherapy notes need their own authorization (164.508(b)(3)(ii)): use the "
            "psychotherapy-notes form."
            if any("psychotherapy" in c for c in unknown)
            else f"Not offered by this form: {', '.join(unknown)}."
        )
    if len(set(fields.categories)) != len(fields.categories):
        problems["categories"] = "A category is listed twice."
    purposes = {p.code for p in template.purposes}
    bad = [p for p in fields.purposes if p not in purposes]
    if bad:
        problems["purposes"] = f"Not offered by this form: {', '.join(bad)}."
    if len(fields.information_description) > MAX_DESCRIPTION:
        problems["information_description"] = f"Keep it under {MAX_DESCRIPTION} characters."
    if fields.expiry_event and len(fields.expiry_event) > MAX_EVENT:
        problems["expiry_event"] = f"Keep it under {MAX_EVENT} characters."
    if problems:
        raise Invalid(problems)


def _check_signature(signature: SignatureInput) -> None:
    problems: dict[str, str] = {}
    if not signature.agree:
        problems["agree"] = "Tick the box to agree to sign electronically."
    name = signature.signer_name.strip()
    if not name or len(name) > 200:
        problems["signer_name"] = "Type your full name."
    authority = (signature.representative_authority or "").strip()
    if signature.relationship is not SignerRelationship.SELF and len(authority) < MIN_AUTHORITY:
        # 164.508(c)(1)(vi): a representative's signature comes with their authority to act
        problems["representative_authority"] = (
            "Describe your authority to sign for the client, for example "
            "“parent of a minor child” or “court-appointed guardian, order no. …”."
        )
    png = signature.drawn_signature_png
    if png is not None and (not png.startswith(PNG_MAGIC) or len(png) > MAX_DRAWN_SIGNATURE):
        problems["drawn_signature"] = "The drawn signature could not be read; draw it again."
    if problems:
        raise Invalid(problems)


def _apply(consent: Consent, fields: ConsentFields) -> None:
    consent.categories = list(fields.categories)
    consent.purposes = list(fields.purposes)
    consent.expires_on = fields.expires_on
    consent.expiry_event = (fields.expiry_event or "").strip() or None
    consent.direction = fields.direction
    consent.signer_relationship = fields.signer_relationship


def _seal_description(consent: Consent, fields: ConsentFields) -> bytes | None:
    text = fields.information_description.strip()
    return vault.seal(text.encode(), description_place(consent)) if text else None


def _draft(consent: Consent) -> Draft:
    return Draft(
        categories=tuple(consent.categories),
        purposes=tuple(consent.purposes),
        information_description=description_of(consent),
        expires_on=consent.expires_on,
        expiry_event=consent.expiry_event,
        discloser_provider_id=consent.discloser_provider_id,
        recipient_provider_id=consent.recipient_provider_id,
    )


def _discloser(session: Session, actor: Actor) -> Provider:
    provider = session.scalar(select(Provider).where(Provider.user_id == actor.user_id))
    if provider is None:
        raise Invalid({"discloser": "Your account has no provider directory entry."})
    return provider


def _recipient(session: Session, provider_id: int, discloser: Provider) -> Provider:
    recipient = session.get(Provider, provider_id)
    if recipient is None:
        raise Invalid({"recipient_provider_id": "No such provider in the directory."})
    if recipient.id == discloser.id:
        raise Invalid({"recipient_provider_id": "The recipient must be someone other than you."})
    return recipient


def _load(session: Session, consent_id: int, *, lock: bool = False) -> Consent:
    """A consent by id, for callers that have already established the right to act on it."""
    query = select(Consent).where(Consent.id == consent_id)
    consent = session.scalar(query.with_for_update() if lock else query)
    if consent is None:
        raise NotFound("consent")
    return consent


STATE_WORDS = {
    ConsentStatus.DRAFT: "is still a draft",
    ConsentStatus.PENDING_SIGNATURE: "is waiting for the client's signature",
    ConsentStatus.ACTIVE: "is already signed and active",
    ConsentStatus.REVOKED: "was revoked by the client",
    ConsentStatus.EXPIRED: "has expired",
    ConsentStatus.VOIDED: "was voided",
    ConsentStatus.SUPERSEDED: "was replaced by a newer version",
}


def _state_message(consent: Consent, verb: str, at: datetime | None = None) -> str:
    state = consent.status_at(at or now())
    return f"This release cannot be {verb}: it {STATE_WORDS[state]}."
