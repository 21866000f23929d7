"""The one place authorization rules live: what each role may do, and which rows it may see.

Routes name a permission (`@requires(Permission.X)`), services call `require(actor, ...)`, and the
scoped loaders use the predicates below as SQL filters, so a record that is not yours is simply
not found. This module imports no other domain package.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, false, true

from roi.accounts.models import Client
from roi.actor import Actor, Role
from roi.errors import Forbidden


class Permission(StrEnum):
    SIGNED_IN = "signed_in"
    VIEW_CLIENTS = "view_clients"
    CREATE_CLIENT = "create_client"
    VIEW_DIRECTORY = "view_directory"
    ADD_PROVIDER = "add_provider"
    MANAGE_USERS = "manage_users"
    USE_CLINICIAN_WORKSPACE = "use_clinician_workspace"
    USE_PORTAL = "use_portal"
    USE_COMPLIANCE_WORKSPACE = "use_compliance_workspace"


_EVERYONE = {Permission.SIGNED_IN}

# Deny by default: a role not listed here, or a permission not listed for a role, is refused.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CLINICIAN: frozenset(
        _EVERYONE
        | {
            Permission.VIEW_CLIENTS,
            Permission.CREATE_CLIENT,
            Permission.VIEW_DIRECTORY,
            Permission.ADD_PROVIDER,
            Permission.USE_CLINICIAN_WORKSPACE,
        }
    ),
    Role.CLIENT: frozenset(_EVERYONE | {Permission.VIEW_CLIENTS, Permission.USE_PORTAL}),
    Role.COMPLIANCE: frozenset(_EVERYONE | {Permission.USE_COMPLIANCE_WORKSPACE}),
    Role.ADMIN: frozenset(
        _EVERYONE | {Permission.MANAGE_USERS, Permission.VIEW_DIRECTORY, Permission.ADD_PROVIDER}
    ),
}


def allows(role: Role | str | None, permission: Permission) -> bool:
    try:
        granted = ROLE_PERMISSIONS.get(Role(role), frozenset()) if role else frozenset()
    except ValueError:
        return False
    return permission in granted


def require(actor: Actor, permission: Permission) -> None:
    """Raises:
    Forbidden: the actor's role does not carry `permission`.
    """
    if not allows(actor.role, permission):
        raise Forbidden()


def client_visibility(actor: Actor) -> ColumnElement[bool]:
    """Which client rows `actor` may see, as a SQL predicate on the `Client` model.

    A clinician sees the clients of their organization; a client sees only their own record.
    """
    if actor.role is Role.CLINICIAN and actor.organization_id is not None:
        return Client.organization_id == actor.organization_id
    if actor.role is Role.CLIENT and actor.client_id is not None:
        return Client.id == actor.client_id
    if actor.role is Role.SYSTEM:
        return true()
    return false()
