"""Passkeys (WebAuthn) as a second factor, with the `webauthn` library.

The relying party is the host the browser is on, and the expected origin is that page's
origin: the browser signs the origin it really is on into every answer, and the authenticator
signs the relying party it registered with, so a relaying site cannot make both match.
Each challenge is kept with the server-side session and used up by the first answer to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_client_data_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
)

from roi import audit
from roi.accounts.mfa import has_code_factor, required_by_practice
from roi.accounts.models import PasskeyCredential, SessionRecord, User
from roi.accounts.sessions import digest
from roi.actor import Actor
from roi.audit import Action, Outcome
from roi.audit.reasons import ReasonCode
from roi.clock import now
from roi.db import unit_of_work
from roi.errors import Invalid, NotFound, WrongState
from roi.i18n import N_

RP_NAME = "roi"


@dataclass(frozen=True)
class RelyingParty:
    """Where the browser is: the host (the relying party id) and the page's origin."""

    rp_id: str
    origin: str


def _remember_challenge(session: Session, token: str, challenge: bytes) -> None:
    session.execute(
        update(SessionRecord)
        .where(SessionRecord.token_sha256 == digest(token))
        .values(passkey_challenge=bytes_to_base64url(challenge))
    )


def _take_challenge(session: Session, token: str) -> bytes | None:
    """The session's last challenge, forgotten as it is read: an answer is checked once."""
    record = session.scalar(
        select(SessionRecord).where(SessionRecord.token_sha256 == digest(token))
    )
    if record is None or record.passkey_challenge is None:
        return None
    challenge = base64url_to_bytes(record.passkey_challenge)
    record.passkey_challenge = None
    return challenge


def _descriptors(session: Session, user_id: int) -> list[PublicKeyCredentialDescriptor]:
    ids = session.scalars(
        select(PasskeyCredential.credential_id).where(PasskeyCredential.user_id == user_id)
    )
    return [PublicKeyCredentialDescriptor(id=base64url_to_bytes(i)) for i in ids]


def has_passkey(session: Session, user_id: int) -> bool:
    return bool(_descriptors(session, user_id))


def passkeys_of(session: Session, user_id: int) -> list[PasskeyCredential]:
    return list(
        session.scalars(
            select(PasskeyCredential)
            .where(PasskeyCredential.user_id == user_id)
            .order_by(PasskeyCredential.id)
        )
    )


def passkey_of(session: Session, actor: Actor, passkey_id: int) -> PasskeyCredential:
    """One of the acting person's own passkeys.

    Raises:
        NotFound: no such passkey, or someone else's.
    """
    passkey = session.scalar(
        select(PasskeyCredential).where(
            PasskeyCredential.id == passkey_id, PasskeyCredential.user_id == actor.user_id
        )
    )
    if passkey is None:
        raise NotFound(N_("passkey"))
    return passkey


def remove(session: Session, actor: Actor, passkey_id: int) -> str:
    """Remove one of the acting person's passkeys (lost, or gone with a device); sign-ins no
    longer accept it. Returns its name.

    Raises:
        NotFound: no such passkey, or someone else's.
        WrongState: it is their last second factor and their practice requires one.
    """
    with unit_of_work(session):
        # their account row held: two removals at once cannot each leave the other's last one
        # (FOR NO KEY UPDATE: rows naming them, a notice in a send, are still written meanwhile)
        session.execute(
            select(User.id).where(User.id == actor.user_id).with_for_update(key_share=True)
        )
        passkey = passkey_of(session, actor, passkey_id)
        refusal = removal_refused(session, passkey)
        if refusal is not None:
            raise WrongState(refusal)
        name = passkey.name
        session.execute(delete(PasskeyCredential).where(PasskeyCredential.id == passkey.id))
        audit.record(
            session,
            actor,
            Action.AUTH_MFA_REMOVED,
            subject_user_id=passkey.user_id,
            detail={"kind": "passkey"},
        )
    return name


def is_last_second_factor(session: Session, passkey: PasskeyCredential) -> bool:
    """Whether `passkey` is its owner's only second factor (no other passkey, no app)."""
    others = session.scalar(
        select(func.count())
        .select_from(PasskeyCredential)
        .where(PasskeyCredential.user_id == passkey.user_id, PasskeyCredential.id != passkey.id)
    )
    return not others and not has_code_factor(session, passkey.user_id)


def removal_refused(session: Session, passkey: PasskeyCredential) -> str | None:
    """Why `passkey` may not be removed: it is its owner's last second factor and their
    practice requires one (they would be asked to set one up at once); None when it may."""
    if not is_last_second_factor(session, passkey):
        return None
    owner = session.get(User, passkey.user_id)
    if owner is None or not required_by_practice(session, owner):
        return None
    return N_(
        "Your practice asks for a second step at every sign-in, and this passkey is your only "
        "one. Add another passkey or an authenticator app first, then remove this one."
    )


def registration_options(session: Session, user: User, token: str, rp: RelyingParty) -> str:
    """The JSON a browser's navigator.credentials.create() takes, for a new passkey of `user`."""
    options = generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=RP_NAME,
        user_name=user.email,
        user_id=user.uuid.encode(),
        user_display_name=user.name,
        exclude_credentials=_descriptors(session, user.id),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED
        ),
    )
    with unit_of_work(session):
        _remember_challenge(session, token, options.challenge)
    return options_to_json(options)


def register(
    session: Session, actor: Actor, token: str, rp: RelyingParty, credential: str, name: str
) -> PasskeyCredential:
    """Keep the passkey the browser created in answer to this session's challenge.

    Raises:
        Invalid: no challenge is open, or the answer does not verify.
    """
    with unit_of_work(session):
        challenge = _take_challenge(session, token)
        if challenge is None:
            raise Invalid({"credential": N_("Start adding a passkey again.")})
        try:
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=rp.rp_id,
                expected_origin=rp.origin,
            )
        except (WebAuthnException, ValueError, KeyError):
            raise Invalid(
                {"credential": N_("The passkey could not be checked. Try again.")}
            ) from None
        passkey = PasskeyCredential(
            user_id=actor.user_id,
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            name=name.strip()[:100] or "Passkey",
        )
        session.add(passkey)
        audit.record(
            session,
            actor,
            Action.AUTH_MFA_ENROLLED,
            subject_user_id=actor.user_id,
            detail={"kind": "passkey"},
        )
    return passkey


def authentication_options(session: Session, user: User, token: str, rp: RelyingParty) -> str:
    """The JSON a browser's navigator.credentials.get() takes, for the passkeys of `user`."""
    options = generate_authentication_options(
        rp_id=rp.rp_id, allow_credentials=_descriptors(session, user.id)
    )
    with unit_of_work(session):
        _remember_challenge(session, token, options.challenge)
    return options_to_json(options)


def verify(session: Session, actor: Actor, token: str, rp: RelyingParty, credential: str) -> bool:
    """Check a passkey's answer to this session's challenge; audited either way, a refusal with
    its reason code. An answer for another origin, to another challenge, or with a sign count
    that went back (a cloned authenticator) is refused."""
    with unit_of_work(session):
        refused = _refusal(session, actor, token, rp, credential)
        audit.record(
            session,
            actor,
            Action.AUTH_MFA_VERIFIED if refused is None else Action.AUTH_MFA_FAILED,
            outcome=Outcome.SUCCESS if refused is None else Outcome.FAILURE,
            subject_user_id=actor.user_id,
            reasons=None if refused is None else [refused.stored()],
            detail={"kind": "passkey"},
        )
    return refused is None


@dataclass(frozen=True)
class Answer:
    """A browser's answer to the passkey challenge of the session signed in with `token`."""

    token: str = field(repr=False)
    rp: RelyingParty
    credential: str = field(repr=False)

    def passes(self, session: Session, actor: Actor) -> bool:
        return verify(session, actor, self.token, self.rp, self.credential)


def _refusal(
    session: Session, actor: Actor, token: str, rp: RelyingParty, credential: str
) -> ReasonCode | None:
    """Why the answer is refused, or None when it passes and the passkey's counter moved on."""
    challenge = _take_challenge(session, token)
    if challenge is None:
        return ReasonCode.PASSKEY_NO_CHALLENGE
    try:
        answer = parse_authentication_credential_json(credential)
        origin = parse_client_data_json(answer.response.client_data_json).origin
    except (WebAuthnException, ValueError, KeyError, RecursionError):
        return ReasonCode.PASSKEY_MALFORMED
    # Named apart from the library's other refusals: an answer signed on another site is what a
    # relaying (phishing) site would send, which compliance wants to see as such.
    if origin != rp.origin:
        return ReasonCode.PASSKEY_WRONG_ORIGIN
    passkey = session.scalar(
        select(PasskeyCredential).where(
            PasskeyCredential.user_id == actor.user_id, PasskeyCredential.credential_id == answer.id
        )
    )
    if passkey is None:
        return ReasonCode.PASSKEY_UNKNOWN
    try:
        verified = verify_authentication_response(
            credential=answer,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            # 0 turns the library's counter check off: it is made below, after the signature is
            # known good, so that only a genuine answer is called a clone.
            credential_current_sign_count=0,
        )
    except (WebAuthnException, ValueError, KeyError):
        return ReasonCode.PASSKEY_NOT_VERIFIED
    counted = verified.new_sign_count > 0 or passkey.sign_count > 0
    if counted and verified.new_sign_count <= passkey.sign_count:
        return ReasonCode.PASSKEY_COUNTER_WENT_BACK
    # Compare-and-set on the counter: of two answers racing with one count, only one moves it.
    moved = session.execute(
        update(PasskeyCredential)
        .where(
            PasskeyCredential.id == passkey.id, PasskeyCredential.sign_count == passkey.sign_count
        )
        .values(sign_count=verified.new_sign_count, last_used_at=now())
        .execution_options(synchronize_session=False)
    )
    return None if moved.rowcount else ReasonCode.PASSKEY_COUNTER_WENT_BACK  # type: ignore[attr-defined]
