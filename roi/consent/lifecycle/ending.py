"""Ending a consent: the client revokes it, staff record a revocation received outside roi
(notices through the outbox), its expiration event is recorded, or the client's discharge ends
every release that lasts until the end of treatment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from roi import audit, i18n, mail, vault
from roi.accounts.policy import Permission, require
from roi.accounts.practice import practice_day, today_in_practice
from roi.actor import Actor
from roi.audit import Action
from roi.clock import now
from roi.consent import notices
from roi.consent.lifecycle._shared import (
    _clinician_users,
    notify,
    state_refusal,
)
from roi.consent.models import (
    Consent,
    ConsentStatus,
    ExpiryEventKind,
    OutsideMethod,
    Revocation,
)
from roi.consent.queries import (
    client_to_prepare_for,
    consent_for,
    consent_to_record_revocation_for,
    hold_client,
    managed_consent_for,
)
from roi.db import unit_of_work
from roi.documents import attachments
from roi.errors import Invalid, WrongState
from roi.i18n import N_, Message

MAX_REASON = 1000


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
    _check_reason(reason)
    with unit_of_work(session):
        consent = consent_for(session, actor, consent_id, lock=True)
        _end(session, actor, consent, Revocation(method=method), reason)
    return consent


@dataclass(frozen=True)
class ReceivedRevocation:
    """A revocation that reached the practice outside roi: a letter, a fax, an email, in
    person, or by phone."""

    method: OutsideMethod
    received_on: date
    reason: str | None = None
    #: the scan of the letter, fax or email (PDF, PNG or JPEG)
    document: attachments.Upload | None = None


def record_revocation(
    session: Session, actor: Actor, consent_id: int, received: ReceivedRevocation
) -> Consent:
    """Record a revocation received outside roi (164.508(b)(5)). It takes effect now, when it
    is recorded; disclosures made since the day it was received are listed for compliance
    (`roi.compliance.overview`). A revocation by phone also asks the client, by mail, to
    confirm it in writing.

    A letter, fax, email or visit that follows a revocation by phone is its confirmation in
    writing: it is recorded on that revocation, which keeps its time.

    Raises:
        NotFound: not a consent of the actor's practice.
        WrongState: the consent is not active (nor revoked by phone awaiting confirmation).
        Invalid: the day is in the future or before the signature, the document is not a PDF,
            PNG or JPEG (or, for an email, plain text), or the reason is too long.
    """
    require(actor, Permission.RECORD_REVOCATION)
    _check_reason(received.reason)
    problems: dict[str, str] = {}
    if received.received_on > today_in_practice(session, actor):
        problems["received_on"] = N_("The revocation cannot have been received in the future.")
    if received.document is not None:
        problem = _document_problem(received)
        if problem:
            problems["document"] = problem
    if problems:
        raise Invalid(problems)
    with unit_of_work(session):
        consent = consent_to_record_revocation_for(session, actor, consent_id, lock=True)
        signed_on = (
            practice_day(consent.organization, consent.signed_at)
            if consent.signed_at is not None
            else None
        )
        if signed_on is not None and received.received_on < signed_on:
            raise Invalid({"received_on": N_("The release was signed after that day.")})
        earlier = consent.revocation
        if earlier is not None and earlier.awaits_confirmation:
            if received.method is OutsideMethod.PHONE:
                raise WrongState(N_("This release was already revoked by phone."))
            _confirm(session, actor, consent, earlier, received)
            return consent
        revocation = Revocation(method=received.method.value, received_on=received.received_on)
        _end(session, actor, consent, revocation, received.reason)
        _keep_document(revocation, received.document)
        if received.method is OutsideMethod.PHONE:
            # 164.508(b)(5) asks for a revocation in writing: a call stops disclosures at once,
            # and the client is asked to confirm it in writing
            confirmation = notices.written_confirmation_mail(consent)
            if confirmation is not None:
                mail.enqueue(session, confirmation, organization_id=consent.organization_id)
    return consent


def _confirm(
    session: Session,
    actor: Actor,
    consent: Consent,
    revocation: Revocation,
    received: ReceivedRevocation,
) -> None:
    """Record the written confirmation of a revocation made by phone: the revocation took
    effect when the call was recorded, and stays so; the letter (and its scan) completes it."""
    if received.received_on < (revocation.received_on or received.received_on):
        raise Invalid({"received_on": N_("The confirmation cannot predate the call.")})
    revocation.confirmed_on = received.received_on
    _keep_document(revocation, received.document)
    audit.record(
        session,
        actor,
        Action.CONSENT_REVOCATION_CONFIRMED,
        client_id=consent.client_id,
        consent_id=consent.id,
        detail={"method": received.method.value, "received_on": received.received_on.isoformat()},
    )


def _keep_document(revocation: Revocation, document: attachments.Upload | None) -> None:
    """Seal the scan of the revocation's letter, fax or email on its row."""
    if document is None:
        return
    revocation.document_sealed = vault.seal(
        document.content, vault.Place("consent_revocations", "document_sealed", revocation.uuid)
    )
    revocation.document_content_type = document.content_type


def _end(
    session: Session, actor: Actor, consent: Consent, revocation: Revocation, reason: str | None
) -> None:
    """Revoke `consent` (locked by the caller) now: the revocation row, the state, the audit
    entry, the notices in the app and by mail.

    Raises:
        WrongState: the consent is not active.
    """
    at = now()
    if consent.status_at(at) is not ConsentStatus.ACTIVE:
        raise WrongState(state_refusal(consent, "revoked", at))
    revocation.consent_id = consent.id
    revocation.revoked_by_id = actor.user_id
    revocation.revoked_at = at
    session.add(revocation)
    session.flush()
    if reason and reason.strip():
        revocation.reason_sealed = vault.seal(
            reason.strip().encode(),
            vault.Place("consent_revocations", "reason_sealed", revocation.uuid),
        )
    consent.status = ConsentStatus.REVOKED
    consent.revoked_at = at
    detail: dict[str, str] = {"method": revocation.method}
    if revocation.received_on is not None:
        detail["received_on"] = revocation.received_on.isoformat()
    audit.record(
        session,
        actor,
        Action.CONSENT_REVOKED,
        client_id=consent.client_id,
        consent_id=consent.id,
        recipient_provider_id=consent.recipient_provider_id,
        detail=detail,
    )
    # the notice names the client: a clinician with many releases knows people, not numbers
    name = consent.client.display_name

    revoked = (
        i18n.Message("%(name)s revoked release #%(number)s.", name=name, number=consent.id)
        if revocation.received_on is None
        else i18n.Message(
            "%(name)s revoked release #%(number)s %(how)s.",
            name=name,
            number=consent.id,
            how=i18n.worded(lambda: notices.revocation_words(revocation)),
        )
    )
    for user_id in _clinician_users(consent):
        notify(session, user_id, consent, revoked)
    for notice in notices.revocation_mails(consent, revocation):
        mail.enqueue(session, notice, organization_id=consent.organization_id)


def _document_problem(received: ReceivedRevocation) -> str | None:
    """Why the revocation's document is not acceptable: a scan of the letter or fax, or, for an
    email, the email itself as plain text (CONTRACT.md's attachment); None when it is."""
    assert received.document is not None  # noqa: S101 - the caller checked
    if received.method is OutsideMethod.EMAIL:
        return attachments.problem(received.document, max_bytes=attachments.MAX_SCAN_BYTES)
    return attachments.scan_problem(received.document)


def _check_reason(reason: str | None) -> None:
    if reason and len(reason) > MAX_REASON:
        raise Invalid(
            {"reason": Message("Keep the reason under %(limit)s characters.", limit=MAX_REASON)}
        )


def record_expiry_event(
    session: Session, actor: Actor, consent_id: int, occurred_on: date
) -> Consent:
    """Record that the consent's expiration event happened: it no longer permits anything.

    Raises:
        WrongState: the consent is not active.
        Invalid: the date is in the future.
    """
    require(actor, Permission.PREPARE_CONSENT)
    if occurred_on > today_in_practice(session, actor):
        raise Invalid({"occurred_on": N_("The event cannot have happened in the future.")})
    with unit_of_work(session):
        consent = managed_consent_for(session, actor, consent_id, lock=True)
        # the state at an instant taken under the lock, so a revocation that committed while
        # this waited is seen (its time is later than an instant taken before the lock)
        at = now()
        if consent.status_at(at) is not ConsentStatus.ACTIVE:
            raise WrongState(state_refusal(consent, "expired", at))
        _expire(session, actor, consent, at, occurred_on)
    return consent


def _expire(
    session: Session,
    actor: Actor,
    consent: Consent,
    at: datetime,
    occurred_on: date,
    event: ExpiryEventKind | None = None,
) -> None:
    """End a locked, active consent at `at` for its expiration event of `occurred_on`, audited."""
    consent.status = ConsentStatus.EXPIRED
    consent.expired_at = at
    consent.expiry_event_occurred_on = occurred_on
    detail = {"occurred_on": occurred_on.isoformat()}
    if event is not None:
        detail["event"] = event.value
    audit.record(
        session,
        actor,
        Action.CONSENT_EXPIRED,
        client_id=consent.client_id,
        consent_id=consent.id,
        detail=detail,
    )


def record_discharge(session: Session, actor: Actor, client_id: int, on: date) -> list[int]:
    """Record that the client's treatment ended on `on`: every active release of the client whose
    expiration event is the end of treatment expires now, each audited; returns their ids.

    Raises:
        NotFound: not a client of the actor's practice.
        Invalid: the day is in the future.
    """
    require(actor, Permission.PREPARE_CONSENT)
    if on > today_in_practice(session, actor):
        raise Invalid({"on": N_("The discharge cannot be in the future.")})
    with unit_of_work(session):
        client = client_to_prepare_for(session, actor, client_id)
        # a release being signed or recorded for the client meanwhile waits, then sees this
        hold_client(session, client.id)
        # locked in id order, as a send locks its candidates, so the two never deadlock
        ending = session.scalars(
            select(Consent)
            .where(
                Consent.client_id == client.id,
                Consent.expiry_event_kind == ExpiryEventKind.END_OF_TREATMENT,
                Consent.status == ConsentStatus.ACTIVE,
            )
            .order_by(Consent.id)
            .with_for_update()
        ).all()
        # the instant is taken under the locks, as for a single expiry event
        at = now()
        expired = [c for c in ending if c.status_at(at) is ConsentStatus.ACTIVE]
        for consent in expired:
            _expire(session, actor, consent, at, on, ExpiryEventKind.END_OF_TREATMENT)
        client.discharged_on = on
        audit.record(
            session,
            actor,
            Action.CLIENT_DISCHARGED,
            client_id=client.id,
            detail={"occurred_on": on.isoformat(), "expired_consents": len(expired)},
        )
    return [consent.id for consent in expired]
