"""Drafting a release: create, edit, check for completeness, void, and start a new version of an
active one."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from roi import audit, i18n, vault
from roi.accounts.models import Provider
from roi.accounts.policy import Permission, require
from roi.accounts.practice import practice_day
from roi.accounts.service import NewProvider, check_provider, insert_provider
from roi.actor import Actor
from roi.audit import Action
from roi.clock import now
from roi.consent import share_requests
from roi.consent.elements import Draft, MissingElement, missing_elements
from roi.consent.library import FormLibrary, FormTemplate
from roi.consent.lifecycle._shared import (
    _close_invitations,
    description_of,
    description_place,
    state_refusal,
)
from roi.consent.models import (
    Consent,
    ConsentStatus,
    Direction,
    ExpiryEventKind,
    ShareRequestStatus,
    SignerRelationship,
)
from roi.consent.queries import client_to_prepare_for, managed_consent_for
from roi.consent.rendering import event_words
from roi.db import unit_of_work
from roi.errors import Invalid, NotFound, WrongState
from roi.i18n import N_, Message

MAX_DESCRIPTION = 4000
MAX_EVENT = 300
#: the one element a draft cannot lack (see `_recipient`)
CHOOSE_RECIPIENT = N_("Choose who may receive the information.")
NOT_OFFERED = N_("Not offered by this form: %(codes)s.")
KEEP_UNDER = N_("Keep it under %(limit)s characters.")


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
    #: None with an event means "other"; the two roi sees may leave `expiry_event` blank
    expiry_event_kind: ExpiryEventKind | None = None
    direction: Direction = Direction.ONE_WAY
    signer_relationship: SignerRelationship = SignerRelationship.SELF
    #: the client's own request this release answers (`share_requests`)
    share_request_id: int | None = None
    #: the language the client will read it in (roi.i18n.LANGUAGES); None: as it is (en)
    language: str | None = None


def event_wording(kind: ExpiryEventKind | None, *, organization: str, recipient: str) -> str | None:
    """The words a release keeps for an expiration event roi sees itself (None for "other",
    whose words the clinician writes); in English, as stored (a document re-words it in its
    own language, `roi.consent.rendering.event_words`)."""
    with i18n.speaking(i18n.DEFAULT_LANGUAGE):
        return event_words(kind, organization=organization, recipient=recipient)


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
    _apply(consent, fields, organization=discloser.organization_name, recipient=recipient.name)
    if fields.share_request_id is not None:
        request = share_requests.open_request_to_prepare(
            session, actor, fields.share_request_id, client.id
        )
        request.status, request.prepared_at = ShareRequestStatus.PREPARED, now()
        consent.share_request_id = request.id
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
    with unit_of_work(session):
        consent = managed_consent_for(session, actor, consent_id)
        # a draft keeps the request it answers, whatever the edit form sends
        _check_fields(replace(fields, share_request_id=consent.share_request_id), template)
        if consent.status is not ConsentStatus.DRAFT:
            raise WrongState(state_refusal(consent, "changed"))
        discloser = _discloser(session, actor) if consent.created_by_id == actor.user_id else None
        recipient = _recipient(
            session, fields.recipient_provider_id, discloser or consent.discloser
        )
        consent.recipient_provider_id = recipient.id
        consent.template_id, consent.template_version = template.id, template.version
        consent.kind = template.kind.value
        _apply(consent, fields, organization=consent.organization.name, recipient=recipient.name)
        consent.information_description_sealed = _seal_description(consent, fields)
    return consent


def completeness(consent: Consent, library: FormLibrary) -> list[MissingElement]:
    """The elements this consent still lacks (empty when it may be sent); its "expires on" day
    must be after today where its practice is."""
    template = library.get(consent.template_id, consent.template_version)
    return missing_elements(_draft(consent), template, today=practice_day(consent.organization))


def check_draft(
    fields: ConsentFields, library: FormLibrary, *, today: date
) -> list[MissingElement]:
    """What an unsaved release would still lack, for the form's live check (nothing is stored),
    as sending would find it on `today` (the practice's: `today_in_practice`).

    Raises:
        Invalid: the form template does not exist.
    """
    template = _template(library, fields.template_id)
    draft = Draft(
        categories=fields.categories,
        purposes=fields.purposes,
        information_description=fields.information_description,
        expires_on=fields.expires_on,
        expiry_event=fields.expiry_event
        or event_wording(fields.expiry_event_kind, organization="us", recipient="them"),
        discloser_provider_id=-1,  # the clinician filling the form
        recipient_provider_id=fields.recipient_provider_id or None,
    )
    return missing_elements(draft, template, today=today)


def void(session: Session, actor: Actor, consent_id: int) -> Consent:
    """Withdraw a draft or a consent still waiting for its signature.

    Raises:
        WrongState: the consent was already signed or ended.
    """
    require(actor, Permission.PREPARE_CONSENT)
    with unit_of_work(session):
        consent = managed_consent_for(session, actor, consent_id, lock=True)
        if consent.status not in (ConsentStatus.DRAFT, ConsentStatus.PENDING_SIGNATURE):
            raise WrongState(state_refusal(consent, "voided"))
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
            raise WrongState(state_refusal(previous, "amended"))
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
            expiry_event_kind=previous.expiry_event_kind,
            direction=Direction(previous.direction),
            signer_relationship=SignerRelationship(previous.signer_relationship),
        )
        _check_fields(replace(fields, share_request_id=previous.share_request_id), template)
        draft = _insert_draft(session, actor, fields, template)
        # the client's request carries over to the new version of the release it became
        draft.share_request_id = previous.share_request_id
        draft.supersedes_id = previous.id
    return draft


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
            N_(
                "Psychotherapy notes need their own authorization (164.508(b)(3)(ii)): use the "
                "psychotherapy-notes form."
            )
            if any("psychotherapy" in c for c in unknown)
            else Message(NOT_OFFERED, codes=", ".join(unknown))
        )
    if len(set(fields.categories)) != len(fields.categories):
        problems["categories"] = N_("A category is listed twice.")
    purposes = {p.code for p in template.purposes}
    bad = [p for p in fields.purposes if p not in purposes]
    if bad:
        problems["purposes"] = Message(NOT_OFFERED, codes=", ".join(bad))
    try:
        share_requests.check_purposes(fields.purposes, fields.share_request_id)
    except Invalid as error:
        problems.update(error.fields)
    if len(fields.information_description) > MAX_DESCRIPTION:
        problems["information_description"] = Message(KEEP_UNDER, limit=MAX_DESCRIPTION)
    if fields.expiry_event and len(fields.expiry_event) > MAX_EVENT:
        problems["expiry_event"] = Message(KEEP_UNDER, limit=MAX_EVENT)
    if fields.language is not None and fields.language not in i18n.LANGUAGES:
        problems["language"] = N_("Choose English (en) or Spanish (es).")
    if problems:
        raise Invalid(problems)


def _apply(consent: Consent, fields: ConsentFields, *, organization: str, recipient: str) -> None:
    consent.categories = list(fields.categories)
    consent.purposes = list(fields.purposes)
    consent.expires_on = fields.expires_on
    kind = fields.expiry_event_kind
    consent.expiry_event = (fields.expiry_event or "").strip() or event_wording(
        kind, organization=organization, recipient=recipient
    )
    # an event written by hand is one a clinician records by hand
    consent.expiry_event_kind = (kind or ExpiryEventKind.OTHER) if consent.expiry_event else None
    consent.direction = fields.direction
    consent.signer_relationship = fields.signer_relationship
    if fields.language is not None:
        consent.language = fields.language


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
    if not provider_id:
        # a release row always names its recipient (the gate, the PDF and every list read it),
        # so the one element a draft cannot lack is who receives: say so, not "no such provider"
        raise Invalid({"recipient_provider_id": CHOOSE_RECIPIENT})
    recipient = session.get(Provider, provider_id)
    if recipient is None or not recipient.active:
        raise Invalid({"recipient_provider_id": "No such provider in the directory."})
    if recipient.id == discloser.id:
        raise Invalid({"recipient_provider_id": "The recipient must be someone other than you."})
    return recipient
