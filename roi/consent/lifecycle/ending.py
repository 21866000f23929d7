"""Ending a consent: the client revokes it (notices through the outbox), its expiration event is
recorded, or the client's discharge ends every release that lasts until the end of treatment."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
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
    ExpiryEventKind,
    Revocation,
)
from roi.consent.queries import client_to_prepare_for, consent_for, managed_consent_for
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
    if on > now().date():
        raise Invalid({"on": "The discharge cannot be in the future."})
    with unit_of_work(session):
        client = client_to_prepare_for(session, actor, client_id)
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
