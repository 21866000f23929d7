"""Second factors: an authenticator app (TOTP, RFC 6238) and single-use recovery codes
(passkeys: roi.accounts.passkeys).

A TOTP code is accepted once: the time step of the last accepted code is stored, and only a
later step passes, set by a compare-and-set so two requests racing with one code cannot both win
(SECURITY A4). The secret is sealed by roi.vault, because it must be read back to check a code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

import pyotp
from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from roi import audit, vault
from roi.accounts.models import (
    Organization,
    PasskeyCredential,
    RecoveryCode,
    TotpCredential,
    User,
)
from roi.accounts.policy import Permission, administered, require
from roi.actor import Actor, Role
from roi.audit import Action, Outcome
from roi.clock import now
from roi.db import new_uuid, unit_of_work
from roi.errors import Invalid, NotFound
from roi.i18n import N_

#: the name an authenticator app shows beside the account
ISSUER = "roi"
#: one step either side of now: phone clocks drift and people type slowly (RFC 6238 section 5.2)
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
#: wrong codes one half-signed-in session may try before the password step must be redone
MAX_FAILURES = 5
#: the roles "second factor required for staff" applies to
STAFF = frozenset({Role.CLINICIAN, Role.COMPLIANCE, Role.ADMIN})
#: recovery codes are 16 characters of this alphabet (79 bits), shown in groups of four
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class SecondStep(StrEnum):
    """What a half-signed-in session still has to do."""

    #: give a code (or a recovery code)
    VERIFY = "verify"
    #: set up an authenticator app: the practice requires one and the user has none
    ENROL = "enrol"


@dataclass(frozen=True)
class TotpEnrolment:
    """What an authenticator app needs: the secret, and the same as an otpauth:// URI (the QR)."""

    secret: str
    otpauth_uri: str


def _place(credential: TotpCredential) -> vault.Place:
    return vault.Place("totp_credentials", "secret_sealed", credential.uuid)


def _secret_of(credential: TotpCredential) -> str:
    return vault.open_sealed(credential.secret_sealed, _place(credential)).decode()


def has_second_factor(session: Session, user_id: int) -> bool:
    """Whether the user has a confirmed authenticator app or a passkey."""
    totp = exists().where(
        TotpCredential.user_id == user_id, TotpCredential.confirmed_at.is_not(None)
    )
    passkey = exists().where(PasskeyCredential.user_id == user_id)
    return bool(session.scalar(select(or_(totp, passkey))))


def has_code_factor(session: Session, user_id: int) -> bool:
    """Whether the user can answer with a code: a confirmed authenticator app (its recovery
    codes come with it). A passkey alone gives no code to type."""
    confirmed = exists().where(
        TotpCredential.user_id == user_id, TotpCredential.confirmed_at.is_not(None)
    )
    return bool(session.scalar(select(confirmed)))


def required_by_practice(session: Session, user: User) -> bool:
    """Whether the user's practice requires a second factor of them: staff, unless the
    practice turned the setting off (staff without a practice: always)."""
    if Role(user.role) not in STAFF:
        return False
    if user.organization_id is None:
        return True
    required = session.scalar(
        select(Organization.mfa_required_for_staff).where(Organization.id == user.organization_id)
    )
    return bool(required)


def required_step(session: Session, user: User) -> SecondStep | None:
    """The second step a sign-in of `user` needs after the password; None when none."""
    if has_second_factor(session, user.id):
        return SecondStep.VERIFY
    if required_by_practice(session, user):
        return SecondStep.ENROL
    return None


def begin_totp(session: Session, actor: Actor, email: str) -> TotpEnrolment:
    """A new authenticator secret for the actor, unconfirmed until `confirm_totp`; an earlier
    unconfirmed one is replaced, a confirmed one stays in use until then."""
    secret = pyotp.random_base32()
    with unit_of_work(session):
        session.execute(
            delete(TotpCredential).where(
                TotpCredential.user_id == actor.user_id, TotpCredential.confirmed_at.is_(None)
            )
        )
        credential = TotpCredential(uuid=new_uuid(), user_id=actor.user_id)
        credential.secret_sealed = vault.seal(secret.encode(), _place(credential))
        session.add(credential)
    return TotpEnrolment(secret, _uri(secret, email))


def pending_totp(session: Session, actor: Actor, email: str) -> TotpEnrolment | None:
    """The actor's unconfirmed authenticator secret, if an enrolment is under way."""
    credential = session.scalar(
        select(TotpCredential).where(
            TotpCredential.user_id == actor.user_id, TotpCredential.confirmed_at.is_(None)
        )
    )
    if credential is None:
        return None
    secret = _secret_of(credential)
    return TotpEnrolment(secret, _uri(secret, email))


def _uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def confirm_totp(session: Session, actor: Actor, code: str) -> list[str]:
    """Confirm the unconfirmed secret with a code from the app; it replaces any earlier one.
    Returns 10 new recovery codes (earlier ones stop working), to be shown once.

    Raises:
        Invalid: no enrolment is under way, or the code is wrong.
    """
    with unit_of_work(session):
        credential = session.scalar(
            select(TotpCredential).where(
                TotpCredential.user_id == actor.user_id, TotpCredential.confirmed_at.is_(None)
            )
        )
        if credential is None:
            raise Invalid({"otp": N_("Start setting up an authenticator app first.")})
        step = _matching_step(_secret_of(credential), code, after=None)
        if step is None:
            raise Invalid({"otp": N_("That code is not correct. Check the time on your phone.")})
        session.execute(
            delete(TotpCredential).where(
                TotpCredential.user_id == actor.user_id, TotpCredential.id != credential.id
            )
        )
        credential.confirmed_at = now()
        credential.last_used_step = step
        codes = _new_recovery_codes(session, actor.user_id)
        audit.record(
            session,
            actor,
            Action.AUTH_MFA_ENROLLED,
            subject_user_id=actor.user_id,
            detail={"kind": "totp"},
        )
    return codes


def _new_recovery_codes(session: Session, user_id: int | None) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
        session.add(RecoveryCode(user_id=user_id, code_sha256=_digest(raw)))
    return codes


def _digest(normalized_code: str) -> str:
    return hashlib.sha256(normalized_code.encode()).hexdigest()


def _normalize(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _matching_step(secret: str, code: str, *, after: int | None) -> int | None:
    """The time step within the window whose code is `code` and that is later than `after`."""
    code = _normalize(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now())
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        expected = totp.generate_otp(step)
        if (after is None or step > after) and hmac.compare_digest(expected, code):
            return step
    return None


def verify(session: Session, actor: Actor, code: str) -> bool:
    """Check a TOTP code or a recovery code of the actor and use it up; audited either way."""
    with unit_of_work(session):
        used = _use_totp(session, actor.user_id, code)
        action = Action.AUTH_MFA_VERIFIED
        if not used and _use_recovery_code(session, actor.user_id, code):
            used, action = True, Action.AUTH_MFA_RECOVERY_CODE_USED
        if not used:
            action = Action.AUTH_MFA_FAILED
        audit.record(
            session,
            actor,
            action,
            outcome=Outcome.SUCCESS if used else Outcome.FAILURE,
            subject_user_id=actor.user_id,
        )
    return used


@dataclass(frozen=True)
class Code:
    """A code typed as the second factor: from the authenticator app, or a recovery code."""

    code: str = field(repr=False)

    def passes(self, session: Session, actor: Actor) -> bool:
        return verify(session, actor, self.code)


def _use_totp(session: Session, user_id: int | None, code: str) -> bool:
    credential = session.scalar(
        select(TotpCredential).where(
            TotpCredential.user_id == user_id, TotpCredential.confirmed_at.is_not(None)
        )
    )
    if credential is None:
        return False
    step = _matching_step(_secret_of(credential), code, after=credential.last_used_step)
    if step is None:
        return False
    # Compare-and-set: of two requests with the same code, one moves the step and one finds it
    # moved already.
    moved = session.execute(
        update(TotpCredential)
        .where(
            TotpCredential.id == credential.id,
            or_(TotpCredential.last_used_step.is_(None), TotpCredential.last_used_step < step),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]


def _use_recovery_code(session: Session, user_id: int | None, code: str) -> bool:
    normalized = _normalize(code)
    if len(normalized) != 16:
        return False
    used = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_sha256 == _digest(normalized),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now())
        .execution_options(synchronize_session=False)
    )
    return bool(used.rowcount)  # type: ignore[attr-defined]


def recovery_codes_left(session: Session, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(RecoveryCode.id)).where(
                RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


def reset(session: Session, actor: Actor, user_id: int) -> User:
    """Remove every second factor of a user (they enrol again at their next sign-in when their
    practice requires it): an admin of the user's practice, or the instance operator.

    Raises:
        Forbidden: the actor is neither.
        NotFound: no such user, or one of another practice.
    """
    if actor.role is not Role.SYSTEM:
        require(actor, Permission.MANAGE_USERS)
    with unit_of_work(session):
        user = session.scalar(
            select(User).where(
                User.id == user_id, administered(actor, organization_id=User.organization_id)
            )
        )
        if user is None:
            raise NotFound(N_("user"))
        session.execute(delete(TotpCredential).where(TotpCredential.user_id == user.id))
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        session.execute(delete(PasskeyCredential).where(PasskeyCredential.user_id == user.id))
        audit.record(session, actor, Action.AUTH_MFA_RESET, subject_user_id=user.id)
    return user
