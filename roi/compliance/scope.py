"""The compliance officer's scope: the audit entries their organization answers for, built from
`policy.audit_entry_visibility` (who may see which entry is a policy rule; this module applies
it to the audit model)."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from roi.accounts.policy import audit_entry_visibility
from roi.actor import Actor
from roi.audit import AuditEntry


def officer_scope(actor: Actor) -> ColumnElement[bool]:
    """The entries an officer may see, as a SQL predicate on `AuditEntry`."""
    return audit_entry_visibility(
        actor, organization_id=AuditEntry.organization_id, client_id=AuditEntry.client_id
    )
