"""The compliance officer's scope: the audit entries their organization answers for, built from
`policy.audit_entry_visibility` (who may see which entry is a policy rule; this module applies
it to the audit model), and the clients those entries may name."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, or_, select
from sqlalchemy.orm import aliased

from roi.accounts.models import Client, Provider
from roi.accounts.policy import audit_entry_visibility
from roi.actor import Actor, Role
from roi.audit import AuditEntry
from roi.consent.models import Consent

_RECIPIENT = aliased(Provider)


def officer_scope(actor: Actor) -> ColumnElement[bool]:
    """The entries an officer may see, as a SQL predicate on `AuditEntry`."""
    return audit_entry_visibility(
        actor, organization_id=AuditEntry.organization_id, client_id=AuditEntry.client_id
    )


def nameable_clients(actor: Actor) -> ColumnElement[bool]:
    """The clients whose names the entries `actor` reads may show, as a SQL predicate on
    `Client`: a client their own name; an officer their practice's clients, and a client of
    another practice only while a release the client signed involves theirs (as discloser or
    recipient). An entry in their scope may hold any client id someone typed: a probe that was
    answered 404 is logged with the id it asked for, and must not name that client here."""
    if actor.role is Role.CLIENT and actor.client_id is not None:
        return Client.id == actor.client_id
    if actor.organization_id is None:
        return false()
    involves_us = exists(
        select(Consent.id)
        .join(_RECIPIENT, _RECIPIENT.id == Consent.recipient_provider_id)
        .where(
            Consent.client_id == Client.id,
            Consent.signed_at.is_not(None),
            or_(
                Consent.organization_id == actor.organization_id,
                _RECIPIENT.organization_id == actor.organization_id,
            ),
        )
    )
    return or_(Client.organization_id == actor.organization_id, involves_us)
