"""Releases signed on paper (roi's printed form or another provider's): the clinician enters
the elements from the paper and uploads its scan; the same completeness check as sending
refuses one that lacks an element. The document of record is roi's sealed PDF carrying a
summary page and the scan. Also the blank, pre-filled release printed for signing on paper.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from roi import i18n
from roi.accounts.models import User
from roi.accounts.policy import Permission, require
from roi.accounts.practice import today_in_practice
from roi.actor import Actor
from roi.clock import day_start, now
from roi.consent.errors import IncompleteConsent
from roi.consent.library import FormLibrary
from roi.consent.lifecycle._shared import (
    activate,
    description_of,
    state_refusal,
)
from roi.consent.lifecycle.documents import _audit_download
from roi.consent.lifecycle.drafting import (
    ConsentFields,
    _check_fields,
    _insert_draft,
    _template,
    completeness,
)
from roi.consent.lifecycle.signing import (
    SignatureInput,
    _check_signature,
    ended_by_discharge,
    store_signature,
)
from roi.consent.models import Consent, ConsentStatus, Signature, SignerRelationship
from roi.consent.queries import hold_client, managed_consent_for
from roi.consent.rendering import consent_document
from roi.consent.representation import signer_rule
from roi.consent.signers import check_signer
from roi.db import unit_of_work
from roi.documents import attachments, pdf, scans, seal
from roi.documents.model import PaperRecord
from roi.errors import Invalid, WrongState
from roi.i18n import N_, Message

#: how the signer's identity was checked: by the practice, which holds the signed paper
IDENTITY_METHOD = "paper"
ASSURANCE = "Signed on paper; the practice recorded the paper release in roi from its scan"


@dataclass(frozen=True)
class PaperSignature:
    """What the paper says about its signature, and its scan."""

    signed_on: date
    signer_name: str
    relationship: SignerRelationship
    scan: attachments.Upload
    representative_authority: str | None = None
    #: the language of the paper form the client signed (roi.i18n.LANGUAGES): the release's
    language: str = "en"


def record_paper(
    session: Session,
    actor: Actor,
    fields: ConsentFields,
    paper: PaperSignature,
    library: FormLibrary,
) -> Consent:
    """Record a release signed on paper: it is created `active`, signed by `paper`'s signer,
    with roi's sealed PDF of the summary and the scan as its document of record.

    Everything happens in one transaction, the rendering included (the consent's number is
    printed on the record), so a refused release leaves nothing behind.

    Raises:
        Forbidden: the actor is not a clinician.
        NotFound: the client is not one of the actor's practice.
        Invalid: a field, the signer or the scan is not acceptable (each named); the signer
            is not the one the signer rule asks for (the reason names the rule).
        IncompleteConsent: a core element is missing (each named, as when sending).
    """
    require(actor, Permission.PREPARE_CONSENT)
    template = _template(library, fields.template_id)
    _check_fields(fields, template)
    _check_paper(paper, today=today_in_practice(session, actor))
    with unit_of_work(session):
        consent = _insert_draft(session, actor, fields, template)
        hold_client(session, consent.client_id)  # a discharge meanwhile waits, or is seen
        missing = completeness(consent, library)
        if missing:
            raise IncompleteConsent(missing)
        # written on the day it was signed, it may have ended since with a discharge
        discharged = ended_by_discharge(
            session, consent, written=day_start(paper.signed_on, consent.organization.time_zone)
        )
        if discharged is not None:
            raise Invalid({"signed_on": Message(_TREATMENT_ENDED, day=discharged)})
        # the right signer (164.502(g), 42 CFR 2.14), on the day the paper was signed
        rule = signer_rule(consent, paper.signed_on)
        wrong_signer = check_signer(
            rule, paper.relationship, paper.signer_name, consent.client.representative
        )
        if wrong_signer is not None:
            raise Invalid({"signer_relationship": wrong_signer})
        consent.required_signer = rule.who
        consent.language = template.in_language(i18n.supported(paper.language)).language
        at = now()
        scan_sha = hashlib.sha256(paper.scan.content).hexdigest()
        recorder = session.get(User, actor.user_id)
        record = PaperRecord(
            signer_name=paper.signer_name.strip(),
            relationship=paper.relationship.value,
            authority=(paper.representative_authority or "").strip() or None,
            signed_on=paper.signed_on,
            recorded_at=at,
            recorded_by=recorder.name if recorder else "staff",
            organization=consent.organization.name,
            scan_filename=paper.scan.filename.strip(),
            scan_type=paper.scan.content_type,
            scan_sha256=scan_sha,
        )
        document = consent_document(consent, template, description_of(consent))
        unsigned = pdf.render_paper_release(document, record, paper.scan.content)
        identity = seal.signing_identity(session, consent.organization_id, record.organization)
        signed_pdf = seal.sign_pdf(
            unsigned,
            identity,
            reason="Release signed on paper, recorded from its scan",
            location=record.organization,
        )
        pdf_sha = hashlib.sha256(signed_pdf).hexdigest()
        # what the signer was shown is the paper itself: its scan, sealed as uploaded
        store_signature(
            session,
            Signature(
                consent_id=consent.id,
                signer_user_id=None,
                relationship_to_client=paper.relationship,
                signed_at=at,
                identity_method=IDENTITY_METHOD,
                template_version=template.version,
                shown_document_sha256=scan_sha,
                pdf_sha256=pdf_sha,
            ),
            evidence=_evidence(record, actor),
            signed_pdf=signed_pdf,
            shown=paper.scan.content,
        )
        activate(
            session,
            actor,
            consent,
            signed_at=at,
            document_sha256=pdf_sha,
            identity_method=IDENTITY_METHOD,
            detail={"signed_on": paper.signed_on.isoformat()},
        )
    return consent


def blank_release(
    session: Session,
    actor: Actor,
    consent_id: int,
    library: FormLibrary,
    language: str | None = None,
) -> tuple[Consent, bytes]:
    """A draft release as a PDF to print and sign on paper: every element filled in, empty
    lines for the signature and the date, in `language` (default: the release's own; English
    when its form has no text in that language). Printing it is audited.

    Raises:
        NotFound: not a consent of the actor's practice.
        WrongState: the release is no longer a draft.
        IncompleteConsent: it lacks an element (a blank with a gap would be signed as is).
    """
    require(actor, Permission.PREPARE_CONSENT)
    consent = managed_consent_for(session, actor, consent_id)
    if consent.status is not ConsentStatus.DRAFT:
        raise WrongState(state_refusal(consent, "printed for signing"))
    missing = completeness(consent, library)
    if missing:
        raise IncompleteConsent(missing)
    template = library.get(consent.template_id, consent.template_version)
    document = consent_document(
        consent, template, description_of(consent), language and i18n.supported(language)
    )
    blank = pdf.render_blank(document)
    _audit_download(session, actor, consent, "blank_release")
    return consent, blank


def _check_paper(paper: PaperSignature, *, today: date) -> None:
    problems: dict[str, str] = {}
    try:
        _check_signature(
            SignatureInput(
                signer_name=paper.signer_name,
                relationship=paper.relationship,
                agree=True,
                representative_authority=paper.representative_authority,
            )
        )
    except Invalid as error:
        problems.update(error.fields)
    if paper.signed_on > today:
        problems["signed_on"] = "The paper cannot have been signed in the future."
    problem = attachments.scan_problem(paper.scan)
    if problem is None:
        try:
            scans.check_scan(paper.scan.content, paper.scan.content_type)
        except Invalid as error:
            problem = " ".join(error.fields.values())
    if problem:
        problems["scan"] = problem
    if problems:
        raise Invalid(problems)


def _evidence(record: PaperRecord, actor: Actor) -> dict[str, str | int | None]:
    """The sealed evidence of a paper signature: what the paper says, and who entered it."""
    return {
        "signer_name": record.signer_name,
        "representative_authority": record.authority,
        "signed_on": record.signed_on.isoformat(),
        "recorded_by_user_id": actor.user_id,
        "scan_filename": record.scan_filename,
        "scan_type": record.scan_type,
        "scan_sha256": record.scan_sha256,
        "ip": actor.ip,
        "user_agent": None,
        "assurance": ASSURANCE,
    }


_TREATMENT_ENDED = N_(
    "This paper release has already ended: it lasts until the end of treatment, and the "
    "client's treatment ended on %(day)s, after it was signed. The practice can prepare a new one."
)
