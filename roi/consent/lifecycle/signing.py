"""Signing: by the client in the portal or through a verified emailed link; the PDF of record
and its sealed evidence."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NoReturn

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from roi import audit, i18n, vault
from roi.accounts.policy import Permission, require
from roi.accounts.practice import practice_day
from roi.actor import Actor
from roi.audit import Action, AuditEntry, Outcome
from roi.clock import now
from roi.consent.library import FormLibrary
from roi.consent.lifecycle._shared import (
    _close_invitations,
    activate,
    date_end,
    description_of,
    state_refusal,
)
from roi.consent.models import (
    Consent,
    ConsentStatus,
    ExpiryEventKind,
    Signature,
    SignerRelationship,
    SigningInvitation,
)
from roi.consent.queries import consent_for, hold_client
from roi.consent.rendering import consent_document
from roi.consent.representation import client_day, signer_rule
from roi.consent.signers import SignerRule, check_signer
from roi.db import unit_of_work
from roi.documents import pdf, seal
from roi.documents.model import Evidence, SignerBlock
from roi.errors import Invalid, NotFound, WrongState
from roi.i18n import N_, Message

MIN_AUTHORITY = 3
MAX_DRAWN_SIGNATURE = 300_000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class SignatureInput:
    signer_name: str
    relationship: SignerRelationship
    agree: bool
    representative_authority: str | None = None
    drawn_signature_png: bytes | None = None
    #: the language the signer read the release in (roi.i18n.LANGUAGES): the release is signed,
    #: fingerprinted and printed in it (English when its form has no text in that language)
    language: str = "en"


@dataclass(frozen=True)
class Identity:
    """How the signer's identity was checked, and where the signature came from."""

    method: str
    assurance: str
    ip: str | None
    user_agent: str | None
    signer_user_id: int | None = None
    #: the clinician whose device the client signed on (in-office signing)
    handed_over_by: int | None = None


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


def sign_in_person(
    session: Session,
    actor: Actor,
    consent_id: int,
    signature: SignatureInput,
    identity: Identity,
    library: FormLibrary,
) -> Consent:
    """Sign on the clinician's device: `roi.consent.handover` has checked the hand-over and the
    client's date of birth; `actor` is the client, `identity.handed_over_by` the clinician.

    Raises:
        WrongState: the consent is not pending signature.
        Invalid: the signature input is not acceptable, or the signer rule refuses the signer.
    """
    return _sign(session, actor, consent_id, signature, identity, library)


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
        raise WrongState(state_refusal(consent, "signed"))
    _check_not_ended(session, consent)
    _check_signer(session, actor, consent, signature)  # before rendering: refused at once
    template = library.get(consent.template_id, consent.template_version).in_language(
        i18n.supported(signature.language)
    )
    document = consent_document(consent, template, description_of(consent), template.language)
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
        language=template.language,
        language_version=template.language_version,
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
    # read now: inside the unit of work, reading them would load the consent before its lock
    previous_id, client_id = consent.supersedes_id, consent.client_id
    refusals = _signer_refusals_audited(session, actor, client_id, consent_id, signature)
    with refusals, unit_of_work(session):
        hold_client(session, client_id)  # a discharge meanwhile waits, or is seen
        if previous_id is not None:
            # Consent rows are locked in id order everywhere (a send locks its candidates so),
            # and the version replaced is older than this one: lock it first.
            _load(session, previous_id, lock=True)
        consent = _load(session, consent_id, lock=True)
        if consent.status is not ConsentStatus.PENDING_SIGNATURE:
            raise WrongState(state_refusal(consent, "signed"))
        _check_not_ended(session, consent)
        # who may sign is decided again on the client's record as it is now, held: the
        # practice may have recorded a representative, or cleared the own-care flag, while the
        # document was rendered and sealed
        rule, problem = _signer_verdict(consent, signature)
        if problem is not None:
            raise _SignerRefusedNow(rule, problem)
        store_signature(
            session,
            Signature(
                consent_id=consent.id,
                signer_user_id=identity.signer_user_id,
                relationship_to_client=signature.relationship,
                signed_at=signed_at,
                identity_method=identity.method,
                template_version=template.version,
                shown_document_sha256=shown_sha,
                pdf_sha256=pdf_sha,
            ),
            evidence=_evidence_record(signer, evidence, identity),
            signed_pdf=signed_pdf,
            shown=shown_html.encode(),
            drawn=signature.drawn_signature_png,
        )
        consent.language = template.language
        consent.required_signer = rule.who
        _close_invitations(session, consent.id, signed_at)
        activate(
            session,
            actor,
            consent,
            signed_at=signed_at,
            document_sha256=pdf_sha,
            identity_method=identity.method,
            detail={"handed_over_by": identity.handed_over_by} if identity.handed_over_by else None,
        )
        _supersede_previous(session, actor, consent)
    return consent


def _check_not_ended(session: Session, consent: Consent) -> None:
    """Refuse to sign a release whose end came while it waited for the signature: its "expires
    on" day has begun in the practice's time zone (`date_end`), or a discharge ended it
    (`ended_by_discharge`).

    Raises:
        WrongState: the release ended before it was signed (a new one is needed).
    """
    ends = date_end(consent)
    if ends is not None and now() >= ends:
        raise WrongState(Message(_ENDED_ON, day=consent.expires_on))
    discharged = ended_by_discharge(session, consent, written=consent.created_at)
    if discharged is not None:
        raise WrongState(Message(_TREATMENT_ENDED, day=discharged))


def ended_by_discharge(session: Session, consent: Consent, *, written: datetime) -> date | None:
    """The day of the client's discharge if it ended `consent`, written at `written`, before it
    was signed: it lasts until the end of treatment, and the discharge is on or after the day it
    was written, or was recorded after it was written (a discharge is often recorded days
    late). None when no discharge ended it."""
    discharged = consent.client.discharged_on
    if consent.expiry_event_kind != ExpiryEventKind.END_OF_TREATMENT or discharged is None:
        return None
    recorded = session.scalar(
        select(func.max(AuditEntry.at)).where(
            AuditEntry.client_id == consent.client_id,
            AuditEntry.action == Action.CLIENT_DISCHARGED,
        )
    )
    # the discharge is a day on the practice's calendar: the release was written on one too
    written_on = practice_day(consent.organization, written)
    if discharged >= written_on or (recorded is not None and recorded > written):
        return discharged
    return None


_TREATMENT_ENDED = N_(
    "This release cannot be signed: it lasts until the end of treatment, and the client's "
    "treatment ended on %(day)s. The practice can prepare a new one."
)
_ENDED_ON = N_(
    "This release cannot be signed: it ended on %(day)s, before it was signed. The practice can "
    "prepare a new one."
)


def store_signature(
    session: Session,
    row: Signature,
    *,
    evidence: Mapping[str, object],
    signed_pdf: bytes,
    shown: bytes,
    drawn: bytes | None = None,
) -> Signature:
    """Add the signature `row` (its plain columns set) with its sealed parts: the evidence,
    the PDF of record, what the signer was shown and the drawn signature. Sealing needs the
    row's uuid, so the row is flushed first, in the caller's unit of work."""
    row.evidence_sealed = row.pdf_sealed = row.shown_document_sealed = b""
    session.add(row)
    session.flush()

    def place(column: str) -> vault.Place:
        return vault.Place("consent_signatures", column, row.uuid)

    row.evidence_sealed = vault.seal(json.dumps(evidence).encode(), place("evidence_sealed"))
    row.pdf_sealed = vault.seal(signed_pdf, place("pdf_sealed"))
    row.shown_document_sealed = vault.seal(shown, place("shown_document_sealed"))
    if drawn:
        row.drawn_signature_sealed = vault.seal(drawn, place("drawn_signature_sealed"))
    return row


def _check_signer(
    session: Session, actor: Actor, consent: Consent, signature: SignatureInput
) -> None:
    """Refuse, audited, a signer the signer rule of `consent` today does not allow.

    Raises:
        Invalid: the signer's relationship is not the one the rule asks for (the reason names
            the rule).
    """
    rule, problem = _signer_verdict(consent, signature)
    if problem is not None:
        _refuse_signer(session, actor, consent.client_id, consent.id, signature, rule, problem)


def _signer_verdict(consent: Consent, signature: SignatureInput) -> tuple[SignerRule, str | None]:
    """The signer rule of `consent` today, on the client's record as loaded, and why it does
    not allow this signer (None when it does)."""
    rule = signer_rule(consent, client_day(consent.client, now()))
    problem = check_signer(
        rule, signature.relationship, signature.signer_name, consent.client.representative
    )
    return rule, problem


class _SignerRefusedNow(Exception):
    """The signer rule, decided again under the client's lock, refuses the signer."""

    def __init__(self, rule: SignerRule, problem: str) -> None:
        super().__init__(problem)
        self.rule, self.problem = rule, problem


@contextmanager
def _signer_refusals_audited(
    session: Session, actor: Actor, client_id: int, consent_id: int, signature: SignatureInput
) -> Iterator[None]:
    """Around a unit of work that may find the signer refused (`_SignerRefusedNow`): once its
    transaction is rolled back, the refusal is audited and raised as the first check's is.

    Raises:
        Invalid: the block found the signer refused.
    """
    try:
        yield
    except _SignerRefusedNow as refused:
        _refuse_signer(
            session, actor, client_id, consent_id, signature, refused.rule, refused.problem
        )


def _refuse_signer(
    session: Session,
    actor: Actor,
    client_id: int,
    consent_id: int,
    signature: SignatureInput,
    rule: SignerRule,
    problem: str,
) -> NoReturn:
    """Record the refused signature in the audit log, then refuse it.

    Raises:
        Invalid: always, naming the rule.
    """
    session.rollback()  # end the read transaction; the refusal is written in its own
    with unit_of_work(session):
        audit.record(
            session,
            actor,
            Action.CONSENT_SIGNATURE_REFUSED,
            outcome=Outcome.FAILURE,
            client_id=client_id,
            consent_id=consent_id,
            detail={
                "rule": rule.code,
                "relationship": signature.relationship.value,
                "required": rule.who.value,
            },
        )
    raise Invalid({"signer_relationship": problem})


def evidence_of(signature: Signature) -> dict[str, Any]:
    """The sealed signing evidence (signer name, authority, IP, user agent, assurance)."""
    raw = vault.open_sealed(
        signature.evidence_sealed,
        vault.Place("consent_signatures", "evidence_sealed", signature.uuid),
    )
    value: dict[str, Any] = json.loads(raw)
    return value


def _evidence_record(
    signer: SignerBlock, evidence: Evidence, identity: Identity
) -> dict[str, str | int | None]:
    record: dict[str, str | int | None] = {
        "signer_name": signer.name,
        "representative_authority": signer.authority,
        "ip": evidence.ip,
        "user_agent": evidence.user_agent,
        "assurance": evidence.assurance,
        "language": evidence.language,
        "language_version": evidence.language_version,
    }
    if identity.handed_over_by is not None:
        record["identity_method"] = identity.method
        record["handed_over_by"] = identity.handed_over_by
    return record


def _supersede_previous(session: Session, actor: Actor, consent: Consent) -> None:
    if consent.supersedes_id is None:
        return
    previous = session.scalar(
        select(Consent).where(Consent.id == consent.supersedes_id).with_for_update()
    )
    if previous is None or previous.status is not ConsentStatus.ACTIVE:
        return
    previous.status = ConsentStatus.SUPERSEDED
    # now, under the lock a send under it takes too, not when signing began (`signed_at`, before
    # the seal): a message sent meanwhile went out while it was still in force
    previous.superseded_at = now()
    audit.record(
        session,
        actor,
        Action.CONSENT_SUPERSEDED,
        client_id=previous.client_id,
        consent_id=previous.id,
        detail={"superseded_by": consent.id},
    )


def _check_signature(signature: SignatureInput) -> None:
    problems: dict[str, str] = {}
    if not signature.agree:
        problems["agree"] = N_("Tick the box to agree to sign electronically.")
    name = signature.signer_name.strip()
    if not name or len(name) > 200:
        problems["signer_name"] = N_("Type your full name.")
    authority = (signature.representative_authority or "").strip()
    if signature.relationship is not SignerRelationship.SELF and len(authority) < MIN_AUTHORITY:
        # 164.508(c)(1)(vi): a representative's signature comes with their authority to act
        problems["representative_authority"] = N_(
            "Describe your authority to sign for the client in a few words, for example "
            "“mother”, “parent of a minor child” or “court-appointed guardian, order no. …”."
        )
    png = signature.drawn_signature_png
    if png is not None and (not png.startswith(PNG_MAGIC) or len(png) > MAX_DRAWN_SIGNATURE):
        problems["drawn_signature"] = N_("The drawn signature could not be read; draw it again.")
    if problems:
        raise Invalid(problems)


def _load(session: Session, consent_id: int, *, lock: bool = False) -> Consent:
    """A consent by id, for callers that have already established the right to act on it."""
    query = select(Consent).where(Consent.id == consent_id)
    if lock:
        # what the session loaded before the lock is stale once it is held: read it afresh
        query = query.with_for_update().execution_options(populate_existing=True)
    consent = session.scalar(query)
    if consent is None:
        raise NotFound("consent")
    return consent
