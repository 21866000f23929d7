"""Sending a complete draft for signature (with its emailed link, through the outbox) and
previewing the document the client will see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from roi import audit, i18n, mail
from roi.accounts.policy import Permission, require
from roi.actor import Actor
from roi.audit import Action
from roi.clock import now
from roi.consent import notices
from roi.consent.client_notices import account_email
from roi.consent.errors import IncompleteConsent
from roi.consent.library import FormLibrary
from roi.consent.lifecycle._shared import (
    _close_invitations,
    _new_link,
    description_of,
    notify,
    state_refusal,
)
from roi.consent.lifecycle.drafting import completeness
from roi.consent.models import Consent, ConsentStatus, LinkPurpose
from roi.consent.queries import consent_for, managed_consent_for
from roi.consent.rendering import consent_document
from roi.db import unit_of_work
from roi.documents import pdf
from roi.errors import Invalid, WrongState
from roi.i18n import N_


@dataclass(frozen=True)
class Sent:
    consent: Consent
    #: the emailed link's secret, when the client has an email address (None otherwise)
    invitation_token: str | None


#: the waiting notice's words before it named the release, kept in the catalogue: notices are
#: stored as catalogue messages, and those written then still show in the reader's language
EARLIER_WAITING_NOTICE = N_("A release is waiting for your signature.")


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
            raise WrongState(state_refusal(consent, "sent"))
        missing = completeness(consent, library)
        if missing:
            raise IncompleteConsent(missing)
        at = now()
        consent.status = ConsentStatus.PENDING_SIGNATURE
        consent.sent_at = at
        if consent.client.email:
            token = _mail_signing_link(session, consent, at + invitation_lifetime)
        if consent.client.user_id:
            notify(
                session,
                consent.client.user_id,
                consent,
                i18n.Message(
                    "Release #%(number)s is waiting for your signature.", number=consent.id
                ),
            )
            # no address on the record for a link: their account's brings them to the portal
            account_address = None if token else account_email(session, consent.client)
            if account_address:
                waiting = notices.portal_waiting_mail(consent, account_address)
                mail.enqueue(session, waiting, organization_id=consent.organization_id)
        _audit_sent(session, actor, consent, emailed_link=token is not None)
    return Sent(consent, token)


def resend_signing_link(
    session: Session, actor: Actor, consent_id: int, *, invitation_lifetime: timedelta
) -> Sent:
    """Mail the client a new link to sign a release still waiting for their signature: the
    first expired, was locked by five wrong tries, or never arrived. Earlier links stop working.

    Raises:
        NotFound: not a consent of the actor's practice.
        WrongState: the release is not waiting for a signature.
        Invalid: the client has no email address on file.
    """
    require(actor, Permission.PREPARE_CONSENT)
    with unit_of_work(session):
        consent = managed_consent_for(session, actor, consent_id, lock=True)
        if consent.status is not ConsentStatus.PENDING_SIGNATURE:
            raise WrongState(state_refusal(consent, "sent"))
        if not consent.client.email:
            raise Invalid({"email": N_("The client has no email address on file.")})
        at = now()
        _close_invitations(session, consent.id, at)
        token = _mail_signing_link(session, consent, at + invitation_lifetime)
        _audit_sent(session, actor, consent, emailed_link=True, again=True)
    return Sent(consent, token)


def _audit_sent(session: Session, actor: Actor, consent: Consent, **detail: bool) -> None:
    audit.record(
        session,
        actor,
        Action.CONSENT_SENT,
        client_id=consent.client_id,
        consent_id=consent.id,
        recipient_provider_id=consent.recipient_provider_id,
        detail=detail,
    )


def _mail_signing_link(session: Session, consent: Consent, expires_at: datetime) -> str:
    """A new link to sign `consent`, written to the outbox for the client record's address (the
    caller checked it has one), in the caller's unit of work; returns the link's secret."""
    token = _new_link(session, consent, LinkPurpose.SIGN, expires_at)
    invitation = notices.invitation_mail(consent, token)
    if invitation is not None:
        mail.enqueue(session, invitation, organization_id=consent.organization_id)
    return token


def preview_html(
    session: Session,
    actor: Actor,
    consent_id: int,
    library: FormLibrary,
    language: str | None = None,
) -> str:
    """The exact document the client will see, as HTML, in `language` (default: the
    consent's own; English when its form has no text in that language)."""
    consent = consent_for(session, actor, consent_id)
    template = library.get(consent.template_id, consent.template_version)
    document = consent_document(
        consent, template, description_of(consent), language and i18n.supported(language)
    )
    return pdf.render_preview_html(document)
