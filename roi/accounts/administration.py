"""Administering the accounts of one practice: list, change, disable, enable, invite.

Every function finds its user through `administered_user`, so an admin reaches the accounts of
their own organization and no other (SECURITY C9); the `roi` command acts as the system actor.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from roi import audit
from roi.accounts import recovery, service, sessions
from roi.accounts.models import Provider, User
from roi.accounts.policy import Permission, administered, require
from roi.actor import Actor, Role
from roi.audit import Action
from roi.db import unit_of_work
from roi.errors import Invalid, NotFound
from roi.i18n import N_

#: the roles an admin may give a staff account; a client account stays linked to its record
STAFF_ROLES = (Role.CLINICIAN, Role.COMPLIANCE, Role.ADMIN)


def set_user_active(session: Session, actor: Actor, user_id: int, *, active: bool) -> User:
    """Disable (ending every session and token at once) or re-enable an account.

    Raises:
        NotFound: no such user in the actor's organization.
        Invalid: an admin tried to disable their own account.
    """
    require(actor, Permission.MANAGE_USERS)
    with unit_of_work(session):
        user = administered_user(session, actor, user_id)
        if user.id == actor.user_id and not active:
            raise Invalid({"user": N_("You cannot disable your own account.")})
        user.active = active
        if not active:
            sessions.end_sessions_of(session, user.id, "account_disabled")
        audit.record(
            session,
            actor,
            Action.USER_DISABLED if not active else Action.USER_ENABLED,
            subject_user_id=user.id,
        )
    return user


def administered_user(session: Session, actor: Actor, user_id: int) -> User:
    """A user of an organization the actor administers.

    Raises:
        NotFound: no such user, or another organization's (never told apart, SECURITY C9).
    """
    user = session.scalar(
        select(User).where(
            User.id == user_id, administered(actor, organization_id=User.organization_id)
        )
    )
    if user is None:
        raise NotFound(N_("user"))
    return user


def list_users(session: Session, actor: Actor) -> list[User]:
    """The users of the organization the actor administers, by role and name."""
    require(actor, Permission.MANAGE_USERS)
    return list(
        session.scalars(
            select(User)
            .where(administered(actor, organization_id=User.organization_id))
            .order_by(User.role, User.name)
        )
    )


def update_user(session: Session, actor: Actor, user_id: int, *, name: str, role: Role) -> User:
    """Change a user's name and role. A clinician's directory entry follows their name, and a
    new clinician gets one.

    Raises:
        NotFound: no such user in the actor's organization.
        Invalid: an empty name, a role a staff account cannot take, a client account's role,
            or the admin's own role.
    """
    require(actor, Permission.MANAGE_USERS)
    name = name.strip()
    with unit_of_work(session):
        user = administered_user(session, actor, user_id)
        problems = _update_problems(actor, user, name, role)
        if problems:
            raise Invalid(problems)
        changed = [
            field
            for field, before, after in (("name", user.name, name), ("role", user.role, role))
            if before != after
        ]
        user.name, user.role = name, role
        entry = session.scalar(select(Provider).where(Provider.user_id == user.id))
        if entry is not None:
            entry.name = name
        elif role is Role.CLINICIAN and user.organization is not None:
            session.add(service.directory_entry_of(actor, user, user.organization))
        audit.record(
            session,
            actor,
            Action.USER_UPDATED,
            subject_user_id=user.id,
            detail={"fields": changed, "role": role.value},
        )
    return user


def _update_problems(actor: Actor, user: User, name: str, role: Role) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not name or len(name) > 200:
        problems["name"] = N_("Enter the person's name (at most 200 characters).")
    if user.role is Role.CLIENT and role is not Role.CLIENT:
        problems["role"] = "A client account stays a client account."
    elif user.role is not Role.CLIENT and role not in STAFF_ROLES:
        problems["role"] = N_("Choose clinician, compliance or admin.")
    elif user.id == actor.user_id and role is not user.role:
        problems["role"] = N_("You cannot change your own role.")
    return problems


def resend_invitation(session: Session, actor: Actor, user_id: int) -> User:
    """Mail the user a link to choose their password, valid 7 days; their current password
    keeps working until they use it.

    Raises:
        NotFound: no such user in the actor's organization.
        Invalid: the account is disabled.
    """
    require(actor, Permission.MANAGE_USERS)
    with unit_of_work(session):
        user = administered_user(session, actor, user_id)
        if not user.active:
            raise Invalid({"user": N_("Enable the account before inviting the person again.")})
        recovery.send_invitation(session, user)
        audit.record(session, actor, Action.USER_INVITED, subject_user_id=user.id)
    return user
