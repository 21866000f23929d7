"""Ending a consent: the client revokes it (notices through the outbox), or its expiration
event is recorded."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from roi import audit, mail, vault
from roi.accounts.policy import Permission, require
from roi.actor import Actor
from roi.audit import Action
from roi.clock import now
from roi.consent import notices
from roi.consent.lifecycle._shared import _clinician_users, _notify, _state_message
from roi.consent.models import (
    Consent,
    ConsentStatus,
    Revocation,
)
from roi.consent.queries import consent_for, managed_consent_for
from roi.db import unit_of_work
from roi.errors import Invalid, WrongState

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
