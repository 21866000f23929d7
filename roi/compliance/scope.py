"""The compliance officer's scope: the audit entries their organization answers for.

The entries of the officer's organization's own people, and every entry about one of the
organization's clients, whoever wrote it (a psychiatrist elsewhere opening a message about our
client belongs in our log). Another practice's entry is "not found", never "forbidden".
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select

from roi.accounts.models import Client
from roi.actor import Actor
from roi.audit import AuditEntry


def officer_scope(actor: Actor) -> ColumnElement[bool]:
    """The entries an officer may see, as a SQL predicate on `AuditEntry`."""
    organization_id = actor.organization_id
    if organization_id is None:
        return false()
    own_clients = select(Client.id).where(Client.organization_id == organization_id)
    return or_(AuditEntry.organization_id == organization_id, AuditEntry.client_id.in_(own_clients))
