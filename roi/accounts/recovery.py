"""Passwords after the first: a change by their owner, and a way back for a forgotten one.

A change needs the current password, counted like sign-ins: after too many wrong ones the form
refuses for a while and the owner is told by mail, so a stolen session cannot guess its way to
the password (SECURITY A9).

A forgotten password is reset through an emailed, single-use link.

The request answers the same whether or not the address has an account, and takes the same
shape of work either way (one argon2 computation, one throttle row, one audit entry); only a
known, enabled account also gets a link, through the outbox in the same transaction. Setting the
password ends every session and API token of the user and signs nobody in: the person signs in
afresh, second factor included.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from roi import audit, i18n, mail
from roi.accounts import sessions
from roi.accounts.errors import DeadLink
from roi.accounts.models import PasswordLink, User
from roi.accounts.passwords import hash_password, password_problem, verify_password
from roi.actor import Actor, Role
from roi.audit import Action, Outcome
from roi.clock import now
from roi.config import Argon2Parameters, Settings
from roi.db import unit_of_work
from roi.errors import Invalid, NotFound, Throttled
from roi.i18n import N_, gettext, speaking
from roi.mail import Mail

RESET_LIFETIME = timedelta(minutes=30)
#: an administrator's invitation waits for a person who may be on leave
INVITATION_LIFETIME = timedelta(days=7)
#: reset requests per address, and per IP, within the throttle window
RESET_ACCOUNT_LIMIT = 5
RESET_IP_LIMIT = 50


def request_reset(
    session: Session,
    *,
    email: str,
    ip: str | None,
    request_id: str | None,
    settings: Settings,
    language: str | None = None,
) -> None:
    """Mail a reset link to `email` when it belongs to an enabled account; otherwise nothing.
    The mail speaks the account's language, else `language` (the one the person asked in).

    Raises:
        Throttled: too many requests for this address or from this IP (counted either way, so
            the refusal says nothing about the account).
    """
    key = email.strip().lower()
    at = now()
    limits = [("reset", key, RESET_ACCOUNT_LIMIT)]
    if ip:
        limits.append(("reset_ip", ip, RESET_IP_LIMIT))
    retry = sessions.throttle_wait(session, limits, settings, at)
    # The same argon2 work whether the address is known or not, as at sign-in (SECURITY A3):
    # it sets the pace, and the token and outbox rows of a known address add little to it.
    verify_password(None, key, settings.argon2)
    if retry is not None:
        raise Throttled(N_("Too many reset requests. Wait a few minutes, then try again."), retry)
    found = session.execute(
        select(User.id, User.email, User.name, User.organization_id, User.language).where(
            User.email_key == key, User.active.is_(True)
        )
    ).one_or_none()
    # plain values: the transaction below begins with a commit, which would expire an entity
    user = (
        _Addressee(
            found.id, found.email, found.name, found.organization_id, found.language or language
        )
        if found
        else None
    )
    with unit_of_work(session):
        sessions.note_attempts(session, [(scope, k) for scope, k, _ in limits], at)
        # The same statement whether or not the address is known: it retires earlier links.
        session.execute(
            update(PasswordLink)
            .where(
                PasswordLink.user_id.in_(select(User.id).where(User.email_key == key)),
                PasswordLink.used_at.is_(None),
            )
            .values(used_at=at)
        )
        if user is not None:
            _add_link(session, user, purpose="reset", at=at)
        audit.record(
            session,
            # a request for a known account belongs in its practice's log, as a failed sign-in
            Actor.anonymous(
                ip=ip,
                request_id=request_id,
                organization_id=user.organization_id if user is not None else None,
            ),
            Action.AUTH_PASSWORD_RESET_REQUESTED,
            subject_user_id=user.id if user is not None else None,
        )


def send_invitation(session: Session, user: User) -> None:
    """Mail `user` a link to set their password, valid 7 days, inside the caller's transaction;
    an earlier unused link of the user stops working."""
    at = now()
    session.execute(
        update(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
        .values(used_at=at)
    )
    _add_link(
        session,
        _Addressee(user.id, user.email, user.name, user.organization_id, user.language),
        purpose="invitation",
        at=at,
    )


@dataclass(frozen=True)
class _Addressee:
    id: int
    email: str
    name: str
    organization_id: int | None
    #: the language the mail speaks (roi.i18n.LANGUAGES); None: the default
    language: str | None


def _add_link(session: Session, user: _Addressee, *, purpose: str, at: datetime) -> None:
    token = secrets.token_urlsafe(32)
    lifetime = RESET_LIFETIME if purpose == "reset" else INVITATION_LIFETIME
    session.add(
        PasswordLink(
            token_sha256=sessions.digest(token),
            user_id=user.id,
            purpose=purpose,
            expires_at=at + lifetime,
        )
    )
    mail.enqueue(session, _link_mail(user, token, purpose), organization_id=user.organization_id)


def _link_mail(user: _Addressee, token: str, purpose: str) -> Mail:
    with speaking(user.language):
        if purpose == "reset":
            return Mail(
                to=user.email,
                subject=gettext("Reset your roi password"),
                text=gettext(
                    "Someone, probably you, asked to reset the password of your roi account. "
                    "Choose a new password here within 30 minutes:"
                ),
                link=mail.links.password_reset(token),
                closing=gettext(
                    "The link works once. If you did not ask, ignore this mail: nothing changes."
                ),
            )
        return Mail(
            to=user.email,
            subject=gettext("Your roi account is ready"),
            text=gettext(
                "Hello %(name)s, an administrator of your practice set up a roi account for "
                "you. Choose your password here within 7 days:",
                name=user.name,
            ),
            link=mail.links.password_reset(token),
            closing=gettext(
                "The link works once. Then sign in with your email address and that password."
            ),
        )


def link_owner(session: Session, token: str) -> User:
    """The enabled user a live link belongs to.

    Raises:
        DeadLink: unknown, used or expired, or its user is disabled — one answer for all.
    """
    link = _live_link(session, token, now())
    user = session.get(User, link.user_id)
    if user is None or not user.active:
        raise DeadLink()
    return user


def _live_link(session: Session, token: str, at: datetime) -> PasswordLink:
    link = session.scalar(
        select(PasswordLink).where(PasswordLink.token_sha256 == sessions.digest(token))
    )
    if link is None or link.used_at is not None or link.expires_at <= at:
        raise DeadLink()
    return link


def reset_password(
    session: Session,
    *,
    token: str,
    password: str,
    ip: str | None,
    request_id: str | None,
    argon2: Argon2Parameters,
) -> None:
    """Set a new password through a live link, use the link up, and end every session and API
    token of its user. Nobody is signed in.

    Raises:
        DeadLink: the link is unknown, used or expired.
        Invalid: the password breaks the password rules (the link stays usable).
    """
    user = link_owner(session, token)
    why = password_problem(password, email=user.email, name=user.name)
    if why:
        raise Invalid({"password": why})
    new_hash = hash_password(password, argon2)
    with unit_of_work(session):
        at = now()
        # Used up with a conditional update: of two submissions at once, one wins.
        used = session.execute(
            update(PasswordLink)
            .where(
                PasswordLink.token_sha256 == sessions.digest(token),
                PasswordLink.used_at.is_(None),
                PasswordLink.expires_at > at,
            )
            .values(used_at=at)
        )
        if not used.rowcount:  # type: ignore[attr-defined]
            raise DeadLink()
        session.execute(
            update(User)
            .where(User.id == user.id)
            .values(password_hash=new_hash, password_changed_at=at)
        )
        sessions.end_sessions_of(session, user.id, "password_reset")
        audit.record(
            session,
            Actor(user.id, Role(user.role), user.organization_id, ip=ip, request_id=request_id),
            Action.AUTH_PASSWORD_RESET,
            outcome=Outcome.SUCCESS,
            subject_user_id=user.id,
        )


def change_password(
    session: Session,
    actor: Actor,
    *,
    current: str,
    new: str,
    end_other_sessions: bool,
    keep_session_token: str | None,
    settings: Settings,
) -> None:
    """Change the actor's own password; with `end_other_sessions`, end every other session and
    every API token.

    Raises:
        Throttled: too many wrong current passwords lately (checked first: the right one does
            not get through either).
        Invalid: the current password is wrong or the new one is not acceptable.
    """
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotFound(N_("account"))
    at = now()
    limits = [("change", str(user.id), settings.throttle_account_limit)]
    retry = sessions.throttle_wait(session, limits, settings, at)
    if retry is not None:
        with unit_of_work(session):
            audit.record(
                session,
                actor,
                Action.AUTH_THROTTLED,
                outcome=Outcome.FAILURE,
                subject_user_id=actor.user_id,
                reasons=["password_change"],
            )
        raise Throttled(N_("Too many wrong passwords. Wait a few minutes, then try again."), retry)
    if not verify_password(user.password_hash, current, settings.argon2):
        _wrong_current_password(session, actor, user, limits, settings, at)
        raise Invalid({"current_password": N_("Your current password is not correct.")})
    why = password_problem(new, email=user.email, name=user.name)
    if why:
        raise Invalid({"new_password": why})
    new_hash = hash_password(new, settings.argon2)
    with unit_of_work(session):
        session.execute(
            update(User)
            .where(User.id == actor.user_id)
            .values(password_hash=new_hash, password_changed_at=now())
        )
        if end_other_sessions:
            sessions.end_sessions_of(
                session, actor.user_id or 0, "password_changed", keep=keep_session_token
            )
        audit.record(
            session,
            actor,
            Action.AUTH_PASSWORD_CHANGED,
            subject_user_id=actor.user_id,
            detail={"ended_other_sessions": end_other_sessions},
        )


def _wrong_current_password(
    session: Session,
    actor: Actor,
    user: User,
    limits: list[tuple[str, str, int]],
    settings: Settings,
    at: datetime,
) -> None:
    """Count a wrong current password; the one that reaches the limit tells the owner by mail."""
    to, organization_id, language = user.email, user.organization_id, user.language
    with unit_of_work(session):
        sessions.note_attempts(session, [(scope, key) for scope, key, _ in limits], at)
        audit.record(
            session,
            actor,
            Action.AUTH_PASSWORD_CHANGE_FAILED,
            outcome=Outcome.FAILURE,
            subject_user_id=actor.user_id,
        )
        if sessions.throttle_wait(session, limits, settings, at) is not None:
            mail.enqueue(
                session,
                _paused_mail(to, language),
                organization_id=organization_id,
            )


def _paused_mail(to: str, language: str | None) -> Mail:
    """Tell the owner the password-change form is paused after many wrong passwords."""
    with i18n.speaking(language):
        return Mail(
            to=to,
            subject=i18n.gettext("Someone tried to change your roi password"),
            text=i18n.gettext(
                "Someone signed in as you gave a wrong current password on the password-change "
                "form many times, and the form is paused for a while. If this was not you, sign "
                "in, change your password, sign out your other sessions, and tell your "
                "practice's administrator."
            ),
            link=mail.links.sign_in(),
        )
