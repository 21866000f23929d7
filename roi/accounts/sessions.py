"""Signing in: credentials, the failed-attempt throttle, server-side sessions and API tokens.

An account with a second factor signs in in two steps: the password opens a half-signed-in
session (`SessionRecord.second_step`) that can do nothing but give a code; the code completes it.
A wrong code counts as a failed sign-in for the account throttle too, and the account's failures
are cleared only when the second factor passes, so redoing the password step does not buy more
guesses (SECURITY A5).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn, Protocol

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from roi import audit
from roi.accounts import devices, mfa
from roi.accounts.errors import (
    InvalidCredentials,
    LoginThrottled,
    MfaRequired,
    SecondFactorRejected,
    SecondStepEnded,
)
from roi.accounts.models import ApiToken, Client, LoginFailure, SessionRecord, User
from roi.accounts.passwords import hash_password, needs_rehash, verify_password
from roi.actor import Actor, Role
from roi.audit import Action, Outcome
from roi.audit.reasons import ReasonCode
from roi.clock import now
from roi.config import Settings
from roi.db import unit_of_work
from roi.errors import NotFound
from roi.i18n import N_

#: how stale `last_seen_at` may get before a request writes it again (saves a write per request)
TOUCH_INTERVAL = timedelta(seconds=60)
#: how much of a User-Agent is kept: enough to name the browser and the system
USER_AGENT_MAX = 300


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def actor_for(session: Session, user: User, *, ip: str | None, request_id: str | None) -> Actor:
    """The Actor a signed-in user acts as; a client user carries their client record's id."""
    client_id = None
    if user.role is Role.CLIENT:
        client_id = session.scalar(select(Client.id).where(Client.user_id == user.id))
    return _acting(user, client_id, ip=ip, request_id=request_id)


class _Account(Protocol):
    """What an Actor is made of: a User, or a row of those columns."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> Role: ...
    @property
    def organization_id(self) -> int | None: ...


def _acting(
    user: _Account, client_id: int | None, *, ip: str | None, request_id: str | None
) -> Actor:
    return Actor(
        user_id=user.id,
        role=Role(user.role),
        organization_id=user.organization_id,
        ip=ip,
        request_id=request_id,
        client_id=client_id,
    )


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    ip: str | None,
    request_id: str | None,
    settings: Settings,
) -> User:
    """Check a sign-in; audit it either way.

    Raises:
        LoginThrottled: too many recent failures for this account or from this address; checked
            before the password, so the right password does not get through either (SECURITY A2).
        InvalidCredentials: unknown email, wrong password or disabled account — one message for all.
    """
    key = email.strip().lower()
    at = now()
    retry = _throttled_for(session, key, ip, settings, at)
    user = session.scalar(select(User).where(User.email_key == key))
    # Not signed in, but an attempt at a known account belongs in its practice's log, where its
    # compliance officer looks (an MFA failure is there already, as the half-signed-in user);
    # an unknown email is no practice's. The person trying is told nothing either way (A3).
    anonymous = Actor.anonymous(
        ip=ip, request_id=request_id, organization_id=user.organization_id if user else None
    )
    # Always one argon2 verification, found or not, so timing does not reveal accounts (A3).
    valid = verify_password(user.password_hash if user else None, password, settings.argon2)
    if retry is not None:
        _refuse_throttled(session, anonymous, user.id if user else None, retry)
    if user is None or not valid or not user.active:
        reason = ReasonCode.INACTIVE_ACCOUNT if user and valid else ReasonCode.BAD_CREDENTIALS
        _refuse_password(session, anonymous, user.id if user else None, (key, ip, at), reason)
    rehash = needs_rehash(user.password_hash, settings.argon2)
    new_hash = hash_password(password, settings.argon2) if rehash else None
    with unit_of_work(session):
        user = session.get(User, user.id)
        assert user is not None  # noqa: S101 - found above; users are never deleted
        if new_hash:
            user.password_hash = new_hash
        if not mfa.has_second_factor(session, user.id):
            _clear_failures(session, key)
        actor = actor_for(session, user, ip=ip, request_id=request_id)
        audit.record(session, actor, Action.AUTH_LOGIN, subject_user_id=user.id)
    return user


class SecondFactorAnswer(Protocol):
    """An answer to the second factor given with the password: a code (`mfa.Code`) or a
    passkey's answer (`passkeys.Answer`)."""

    def passes(self, session: Session, actor: Actor) -> bool:
        """Whether it is right, used up and audited either way."""
        ...


def confirm_presence(
    session: Session,
    actor: Actor,
    *,
    password: str,
    answer: SecondFactorAnswer,
    ip: str | None,
    settings: Settings,
) -> None:
    """The signed-in staff member proves they are back at their device: their password and,
    when they have a second factor, an answer from it (a code from their authenticator app or
    a recovery code, or their passkey), as signing in asks; wrong answers count like failed
    sign-ins.

    Raises:
        LoginThrottled: too many recent failures for the account or the address (checked before
            the password, as at sign-in).
        InvalidCredentials: the password is wrong.
        SecondFactorRejected: the account has a second factor and `answer` is wrong or used.
    """
    user = session.get(User, actor.user_id)
    if user is None:
        raise InvalidCredentials()
    key, at = user.email_key, now()
    retry = _throttled_for(session, key, ip, settings, at)
    valid = verify_password(user.password_hash, password, settings.argon2)
    if retry is not None:
        _refuse_throttled(session, actor, user.id, retry)
    if not valid:
        _refuse_password(session, actor, user.id, (key, ip, at), ReasonCode.BAD_CREDENTIALS)
    if mfa.has_second_factor(session, user.id) and not answer.passes(session, actor):
        with unit_of_work(session):
            _note_failure(session, key, ip, at)
        raise SecondFactorRejected()
    with unit_of_work(session):
        _clear_failures(session, key)


def _refuse_throttled(session: Session, actor: Actor, user_id: int | None, retry: int) -> NoReturn:
    """Audit a password attempt refused by the throttle, and refuse it.

    Raises:
        LoginThrottled: always.
    """
    with unit_of_work(session):
        audit.record(
            session, actor, Action.AUTH_THROTTLED, outcome=Outcome.FAILURE, subject_user_id=user_id
        )
    raise LoginThrottled(retry)


def _refuse_password(
    session: Session,
    actor: Actor,
    user_id: int | None,
    attempt: tuple[str, str | None, datetime],
    reason: ReasonCode,
) -> NoReturn:
    """Count a wrong password `attempt` (account key, address, time) for the throttle, audit it,
    and refuse it.

    Raises:
        InvalidCredentials: always.
    """
    key, ip, at = attempt
    with unit_of_work(session):
        _note_failure(session, key, ip, at)
        audit.record(
            session,
            actor,
            Action.AUTH_LOGIN_FAILED,
            outcome=Outcome.FAILURE,
            subject_user_id=user_id,
            reasons=[reason.stored()],
        )
    raise InvalidCredentials()


def _throttled_for(
    session: Session, key: str, ip: str | None, settings: Settings, at: datetime
) -> int | None:
    """Seconds to wait when the account or the address is over its limit; None when not."""
    limits = [("account", key, settings.throttle_account_limit)]
    if ip:
        limits.append(("ip", ip, settings.throttle_ip_limit))
    return throttle_wait(session, limits, settings, at)


def throttle_wait(
    session: Session, limits: list[tuple[str, str, int]], settings: Settings, at: datetime
) -> int | None:
    """Seconds to wait when any `(scope, key, limit)` has had `limit` attempts within the
    throttle window; None when none has."""
    since = at - settings.throttle_window
    for scope, key, limit in limits:
        count, oldest = session.execute(
            select(func.count(LoginFailure.id), func.min(LoginFailure.at)).where(
                LoginFailure.scope == scope,
                LoginFailure.key_sha256 == digest(key),
                LoginFailure.at >= since,
            )
        ).one()
        if count >= limit:
            oldest_at = oldest if oldest.tzinfo else oldest.replace(tzinfo=at.tzinfo)
            return max(1, int((oldest_at + settings.throttle_window - at).total_seconds()))
    return None


def _clear_failures(session: Session, key: str) -> None:
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.scope == "account", LoginFailure.key_sha256 == digest(key)
        )
    )


def _note_failure(session: Session, key: str, ip: str | None, at: datetime) -> None:
    note_attempts(session, [("account", key), *([("ip", ip)] if ip else [])], at)


def note_attempts(session: Session, keys: list[tuple[str, str]], at: datetime) -> None:
    """Count one attempt for each `(scope, key)` in the caller's transaction."""
    for scope, key in keys:
        session.add(LoginFailure(scope=scope, key_sha256=digest(key), at=at))
    # Old attempts count for nothing; drop them so the table stays small.
    session.execute(delete(LoginFailure).where(LoginFailure.at < at - timedelta(days=1)))


def start_session(
    session: Session,
    user: User,
    second_step: mfa.SecondStep | None = None,
    user_agent: str | None = None,
) -> str:
    """Open a server-side session for `user`, half-signed-in while `second_step` is due;
    returns the token the cookie will carry."""
    token = secrets.token_urlsafe(32)
    with unit_of_work(session):
        session.add(
            SessionRecord(
                token_sha256=digest(token),
                user_id=user.id,
                second_step=second_step.value if second_step else None,
                user_agent=(user_agent or "")[:USER_AGENT_MAX] or None,
            )
        )
    return token


@dataclass(frozen=True)
class Resumed:
    user: User | None
    #: why the session is over, when it just ended: idle_timeout | absolute_timeout | …
    ended_because: str | None = None
    #: set while the session is half-signed-in: what it still has to do
    second_step: mfa.SecondStep | None = None


def resume_session(session: Session, token: str, settings: Settings) -> Resumed:
    """The user of a live session, or why it has ended (an expiry is recorded and audited)."""
    record = session.scalar(
        select(SessionRecord).where(SessionRecord.token_sha256 == digest(token))
    )
    if record is None:
        return Resumed(None)
    if record.ended_at is not None:
        return Resumed(None, record.end_reason)
    at = now()
    user = session.get(User, record.user_id)
    expired = None
    if at - record.created_at >= settings.session_absolute:
        expired = "absolute_timeout"
    elif at - record.last_seen_at >= settings.session_idle:
        expired = "idle_timeout"
    if expired or user is None or not user.active:
        reason = expired or "account_disabled"
        with unit_of_work(session):
            session.execute(
                update(SessionRecord)
                .where(SessionRecord.id == record.id, SessionRecord.ended_at.is_(None))
                .values(ended_at=at, end_reason=reason)
            )
            if expired and user is not None:
                audit.record(
                    session,
                    Actor(user.id, Role(user.role), user.organization_id),
                    Action.AUTH_SESSION_EXPIRED,
                    subject_user_id=user.id,
                    reasons=[reason],
                )
        return Resumed(None, reason)
    if at - record.last_seen_at >= TOUCH_INTERVAL:
        with unit_of_work(session):
            session.execute(
                update(SessionRecord).where(SessionRecord.id == record.id).values(last_seen_at=at)
            )
        user = session.get(User, record.user_id)
    step = mfa.SecondStep(record.second_step) if record.second_step else None
    return Resumed(user, second_step=step)


def pass_second_step(
    session: Session, token: str, actor: Actor, passed: bool, ip: str | None
) -> None:
    """Count the outcome of a second factor checked for a half-signed-in session (by
    `mfa.verify` or `passkeys.verify`); a pass completes the sign-in.

    Raises:
        SecondFactorRejected: the code is wrong or used; the session may try again.
        SecondStepEnded: that was the last wrong code this session may try; it has ended.
    """
    if passed:
        complete_second_step(session, token, actor)
        return
    with unit_of_work(session):
        record = session.scalar(
            select(SessionRecord).where(SessionRecord.token_sha256 == digest(token))
        )
        user = session.get(User, actor.user_id)
        assert record is not None  # noqa: S101 - the caller resumed it
        assert user is not None  # noqa: S101 - users are never deleted
        _note_failure(session, user.email_key, ip, now())
        record.second_step_failures += 1
        if record.second_step_failures >= mfa.MAX_FAILURES:
            record.ended_at, record.end_reason = now(), "mfa_failed"
    if record.ended_at is not None:
        raise SecondStepEnded()
    raise SecondFactorRejected()


def complete_second_step(session: Session, token: str, actor: Actor) -> None:
    """The second factor passed (or was just set up): the session is fully signed in, and the
    account's failed sign-ins are forgotten."""
    with unit_of_work(session):
        session.execute(
            update(SessionRecord)
            .where(SessionRecord.token_sha256 == digest(token))
            .values(second_step=None)
        )
        user = session.get(User, actor.user_id)
        if user is not None:
            _clear_failures(session, user.email_key)


def token_for(
    session: Session,
    *,
    email: str,
    password: str,
    otp: str | None,
    ip: str | None,
    request_id: str | None,
    settings: Settings,
) -> tuple[str, datetime]:
    """A bearer token for an email, password and, for an account with a second factor, a code.

    Raises:
        LoginThrottled, InvalidCredentials: as `authenticate`.
        MfaRequired: no code was sent, or a staff member has not set up their second factor.
        SecondFactorRejected: the code is wrong or used.
    """
    user = authenticate(
        session, email=email, password=password, ip=ip, request_id=request_id, settings=settings
    )
    step = mfa.required_step(session, user)
    if step is mfa.SecondStep.ENROL:
        raise MfaRequired(
            "Your practice requires a second factor for staff. Sign in on the web once to set "
            'up an authenticator app, then send its code as "otp".'
        )
    if step is mfa.SecondStep.VERIFY:
        if not otp:
            raise MfaRequired(
                'This account has a second factor: send "otp", a code from your authenticator '
                "app or a recovery code."
            )
        actor = actor_for(session, user, ip=ip, request_id=request_id)
        if not mfa.verify(session, actor, otp):
            with unit_of_work(session):
                _note_failure(session, user.email_key, ip, now())
            raise SecondFactorRejected()
        with unit_of_work(session):
            _clear_failures(session, user.email_key)
    return issue_token(session, user, settings)


def end_session(session: Session, actor: Actor, token: str) -> None:
    """Sign out: the record ends, so a copy of the cookie is worthless from now on."""
    with unit_of_work(session):
        ended = session.execute(
            update(SessionRecord)
            .where(SessionRecord.token_sha256 == digest(token), SessionRecord.ended_at.is_(None))
            .values(ended_at=now(), end_reason="logout")
        )
        if ended.rowcount:  # type: ignore[attr-defined]
            audit.record(session, actor, Action.AUTH_LOGOUT, subject_user_id=actor.user_id)


@dataclass(frozen=True)
class LiveSession:
    """One of a user's live sessions as "Your sessions" shows it."""

    id: int
    device: str
    started_at: datetime
    last_seen_at: datetime
    #: the session of the request that asks
    current: bool


def live_sessions(
    session: Session, user_id: int, settings: Settings, current_token: str | None
) -> list[LiveSession]:
    """The user's sessions that have neither ended nor timed out, most recently used first."""
    at = now()
    records = session.scalars(
        select(SessionRecord)
        .where(
            SessionRecord.user_id == user_id,
            SessionRecord.ended_at.is_(None),
            SessionRecord.last_seen_at > at - settings.session_idle,
            SessionRecord.created_at > at - settings.session_absolute,
        )
        .order_by(SessionRecord.last_seen_at.desc(), SessionRecord.id.desc())
    )
    current = digest(current_token) if current_token else None
    return [
        LiveSession(
            id=record.id,
            device=devices.describe(record.user_agent),
            started_at=record.created_at,
            last_seen_at=record.last_seen_at,
            current=record.token_sha256 == current,
        )
        for record in records
    ]


def end_own_session(session: Session, actor: Actor, session_id: int) -> None:
    """End one of the actor's own sessions (the device is signed out at its next request).

    Raises:
        NotFound: no live session of the actor has this id (another user's is not theirs).
    """
    with unit_of_work(session):
        ended = session.execute(
            update(SessionRecord)
            .where(
                SessionRecord.id == session_id,
                SessionRecord.user_id == actor.user_id,
                SessionRecord.ended_at.is_(None),
            )
            .values(ended_at=now(), end_reason="ended_by_user")
        )
        if not ended.rowcount:  # type: ignore[attr-defined]
            raise NotFound(N_("session"))
        audit.record(
            session,
            actor,
            Action.AUTH_SESSION_ENDED,
            subject_user_id=actor.user_id,
            detail={"session_id": session_id},
        )


def end_sessions_of(session: Session, user_id: int, reason: str, keep: str | None = None) -> None:
    """End every session and revoke every token of a user, but the session `keep`; the caller
    owns the transaction."""
    at = now()
    query = update(SessionRecord).where(
        SessionRecord.user_id == user_id, SessionRecord.ended_at.is_(None)
    )
    if keep:
        query = query.where(SessionRecord.token_sha256 != digest(keep))
    session.execute(query.values(ended_at=at, end_reason=reason))
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )


def issue_token(session: Session, user: User, settings: Settings) -> tuple[str, datetime]:
    """A new bearer token for `user` and its expiry; only its digest is stored."""
    token = secrets.token_urlsafe(32)
    expires_at = now() + settings.token_lifetime
    with unit_of_work(session):
        session.add(ApiToken(token_sha256=digest(token), user_id=user.id, expires_at=expires_at))
        actor = actor_for(session, user, ip=None, request_id=None)
        audit.record(session, actor, Action.AUTH_TOKEN_ISSUED, subject_user_id=user.id)
    return token, expires_at


_USERS, _TOKENS, _CLIENTS = User.__table__, ApiToken.__table__, Client.__table__
#: what an Actor needs of a live token's active owner, with the client record of a client user.
#: Built once and on the tables, not the mapped classes: every API request runs it, and loading a
#: whole User through the ORM cost the request more than the query itself.
_TOKEN_ACTOR = (
    select(
        _USERS.c.id,
        _USERS.c.role,
        _USERS.c.organization_id,
        _CLIENTS.c.id.label("client_id"),
    )
    .join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id)
    .outerjoin(_CLIENTS, and_(_CLIENTS.c.user_id == _USERS.c.id, _USERS.c.role == Role.CLIENT))
    .where(
        _TOKENS.c.token_sha256 == bindparam("token_sha256"),
        _TOKENS.c.revoked_at.is_(None),
        _TOKENS.c.expires_at > bindparam("at"),
        _USERS.c.active.is_(True),
    )
)


def actor_for_token(
    session: Session, token: str, *, ip: str | None, request_id: str | None
) -> Actor | None:
    """The Actor of the active user a live, unexpired token belongs to (as `actor_for`); None
    otherwise."""
    owner = session.execute(
        _TOKEN_ACTOR, {"token_sha256": digest(token), "at": now()}
    ).one_or_none()
    if owner is None:
        return None
    return _acting(owner, owner.client_id, ip=ip, request_id=request_id)
