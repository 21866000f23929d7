"""Emailed links: the link alone is not enough. The client also gives their date of birth and a
one-time code sent to their email. A signing link is single use and expires; once the release
is signed, the signer's link to their copy works for 30 days, and also revokes the release while
it is active — with the same identity check as signing."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session

from roi import audit, i18n, mail, vault
from roi.accounts import sessions
from roi.accounts.models import Client
from roi.actor import Actor, Role
from roi.audit import Action, Outcome
from roi.clock import now
from roi.config import Settings
from roi.consent import lifecycle, notices
from roi.consent.library import FormLibrary
from roi.consent.models import (
    Consent,
    ConsentStatus,
    LinkPurpose,
    LinkRequest,
    SigningInvitation,
    has_status,
)
from roi.db import new_uuid, unit_of_work
from roi.errors import Invalid, NotFound, Throttled
from roi.i18n import N_, Message
from roi.mail import Mail

CODE_LIFETIME = timedelta(minutes=10)
#: how long a verified identity may take to read and sign
VERIFIED_WINDOW = timedelta(minutes=30)
MAX_FAILED_ATTEMPTS = 5
CODE_RESEND_INTERVAL = timedelta(seconds=60)
ASSURANCE = N_("Emailed link, date of birth and a one-time code sent by email")
METHOD = "email_link_dob_code"
#: a signer's request for their links again is answered once per release in this time
REQUEST_INTERVAL = timedelta(minutes=10)
#: requests for links again, per address and per IP address, within the throttle window
LINKS_ADDRESS_LIMIT = 5
LINKS_IP_LIMIT = 50
MAX_EMAIL = 254
#: link requests one call of answer_link_requests takes at most
ANSWER_BATCH = 20
#: a link request not answered within this is dropped: the signer has asked again or moved on
REQUEST_LIFETIME = timedelta(days=1)

logger = logging.getLogger(__name__)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Opened:
    invitation: SigningInvitation
    consent: Consent


def open_invitation(session: Session, token: str) -> Opened:
    """The live invitation behind a link.

    Raises:
        NotFound: unknown, used, expired, locked, or its consent is no longer waiting — one
            answer for all, so a link reveals nothing once it is dead.
    """
    invitation = session.scalar(
        select(SigningInvitation).where(SigningInvitation.token_sha256 == digest(token))
    )
    at = now()
    if (
        invitation is None
        or invitation.used_at is not None
        or invitation.expires_at <= at
        or invitation.failed_attempts >= MAX_FAILED_ATTEMPTS
    ):
        raise NotFound("signing link")
    consent = session.get(Consent, invitation.consent_id)
    if consent is None or not _live(invitation, consent):
        raise NotFound("signing link")
    return Opened(invitation, consent)


def _live(invitation: SigningInvitation, consent: Consent) -> bool:
    """A signing link while its release waits for the signature; a copy link once it is signed
    (whatever happened since: a revoked release's copy is still the client's)."""
    if invitation.purpose is LinkPurpose.SIGNED:
        return consent.signature is not None
    return consent.status is ConsentStatus.PENDING_SIGNATURE


def send_code(session: Session, token: str) -> None:
    """Make a one-time code for the link and put the mail that carries it in the outbox.

    Raises:
        NotFound: the link is dead.
        Throttled: a code was sent less than a minute ago.
        Invalid: the client has no email address on file.
    """
    opened = open_invitation(session, token)
    client = opened.consent.client
    if not client.email:
        raise Invalid({"email": N_("No email address is on file; ask your clinician for help.")})
    at = now()
    sent = opened.invitation.code_expires_at
    if sent is not None and at < sent - CODE_LIFETIME + CODE_RESEND_INTERVAL:
        raise Throttled(N_("A code was just sent. Check your email, or wait a minute."), 60)
    code = f"{secrets.randbelow(1_000_000):06d}"
    with unit_of_work(session):
        invitation = session.get(SigningInvitation, opened.invitation.id)
        assert invitation is not None  # noqa: S101 - loaded above; invitations are never deleted
        invitation.code_sha256 = digest(f"{invitation.id}:{code}")
        invitation.code_expires_at = at + CODE_LIFETIME
        audit.record(
            session,
            _client_actor(opened.consent, None),
            Action.SIGNING_CODE_SENT,
            client_id=client.id,
            consent_id=opened.consent.id,
        )
        mail.enqueue(
            session,
            _code_mail(client, code, notices.client_language(opened.consent)),
            organization_id=opened.consent.organization_id,
        )


def _code_mail(client: Client, code: str, language: str) -> Mail:
    """The mail that carries a one-time code, in `language`: the one the invitation spoke (the
    client's own, else the release's)."""
    with i18n.speaking(language):
        return Mail(
            to=client.email or "",
            subject=i18n.gettext(
                "Your signing code for %(organization)s", organization=client.organization.name
            ),
            text=i18n.gettext(
                "Your code is %(code)s. It works for 10 minutes.\n\n"
                "Enter it on the signing page together with your date of birth. If you did not "
                "ask for this code, you can ignore this email.",
                code=code,
            ),
        )


def verify(
    session: Session, token: str, *, birth_date: date | None, code: str, ip: str | None
) -> Opened:
    """Check the date of birth and the code; five failures lock the link.

    Raises:
        NotFound: the link is dead (or has just been locked).
        Invalid: the date of birth or the code is wrong (one message for both).
    """
    opened = open_invitation(session, token)
    invitation, consent = opened.invitation, opened.consent
    at = now()
    code_ok = (
        invitation.code_sha256 is not None
        and invitation.code_expires_at is not None
        and at < invitation.code_expires_at
        and hmac.compare_digest(invitation.code_sha256, digest(f"{invitation.id}:{code.strip()}"))
    )
    ok = code_ok and birth_date == consent.client.birth_date
    with unit_of_work(session):
        actor = _client_actor(consent, ip)
        if ok:
            # only while the link is open, decided under its row's lock: wrong answers sent at
            # the same moment lock it first, or this one opened it
            opened_now = session.execute(
                update(SigningInvitation)
                .where(
                    SigningInvitation.id == invitation.id,
                    SigningInvitation.failed_attempts < MAX_FAILED_ATTEMPTS,
                )
                .values(verified_at=at, code_sha256=None)  # a code works once
                .returning(SigningInvitation.id)
            ).first()
            if opened_now is None:
                raise NotFound("signing link")
            audit.record(
                session,
                actor,
                Action.SIGNING_IDENTITY_VERIFIED,
                client_id=consent.client_id,
                consent_id=consent.id,
            )
        else:
            # counted in the database, not from what this request read: answers sent at once
            # each count, so no more than five are ever checked
            failures = session.execute(
                update(SigningInvitation)
                .where(SigningInvitation.id == invitation.id)
                .values(failed_attempts=SigningInvitation.failed_attempts + 1)
                .returning(SigningInvitation.failed_attempts)
            ).scalar_one()
            if failures == MAX_FAILED_ATTEMPTS:
                notice = _locked_notice(consent, invitation.purpose)
                lifecycle.notify(session, consent.created_by_id, consent, notice)
            audit.record(
                session,
                actor,
                Action.SIGNING_IDENTITY_FAILED,
                outcome=Outcome.FAILURE,
                client_id=consent.client_id,
                consent_id=consent.id,
            )
    if not ok:
        left = MAX_FAILED_ATTEMPTS - failures
        if left <= 0:
            raise NotFound("signing link")
        if left == 1:
            raise Invalid(
                {"code": N_("The date of birth or the code does not match. One try left.")}
            )
        raise Invalid(
            {
                "code": Message(
                    "The date of birth or the code does not match. %(left)s tries left.", left=left
                )
            }
        )
    return opened


def sign(
    session: Session,
    token: str,
    signature: lifecycle.SignatureInput,
    *,
    ip: str | None,
    user_agent: str | None,
    library: FormLibrary,
) -> Consent:
    """Sign through a verified link; the link is used up by the signature.

    Raises:
        NotFound: the link is dead.
        Invalid: the identity was not verified in the last 30 minutes, or the input is wrong.
        WrongState: the consent was signed or voided meanwhile.
    """
    opened = open_invitation(session, token)
    if opened.invitation.purpose is not LinkPurpose.SIGN:
        raise NotFound("signing link")
    verified_at = opened.invitation.verified_at
    if verified_at is None or now() - verified_at > VERIFIED_WINDOW:
        raise Invalid({"code": N_("Confirm your date of birth and code again before signing.")})
    consent = opened.consent
    return lifecycle.sign_for_verified_invitation(
        session,
        opened.invitation,
        _client_actor(consent, ip),
        signature,
        lifecycle.Identity(
            method=METHOD,
            assurance=ASSURANCE,
            ip=ip,
            user_agent=user_agent,
            signer_user_id=consent.client.user_id,
        ),
        library,
    )


def signed_copy(session: Session, token: str, *, ip: str | None) -> tuple[Consent, bytes]:
    """The signed PDF behind a verified copy link (the download is audited).

    Raises:
        NotFound: the link is dead, or not a copy link.
        Invalid: the identity was not verified in the last 30 minutes.
    """
    opened = _verified_copy_link(session, token)
    return lifecycle.signed_pdf(session, _client_actor(opened.consent, ip), opened.consent.id)


def revocation_receipt(
    session: Session, token: str, library: FormLibrary, *, ip: str | None
) -> tuple[Consent, bytes]:
    """The revocation receipt behind a verified copy link, as the portal gives it (the
    download is audited).

    Raises:
        NotFound: the link is dead, not a copy link, or the release is not revoked.
        Invalid: the identity was not verified in the last 30 minutes.
    """
    opened = _verified_copy_link(session, token)
    actor = _client_actor(opened.consent, ip)
    return lifecycle.revocation_receipt(session, actor, opened.consent.id, library)


def revoke(session: Session, token: str, *, reason: str | None, ip: str | None) -> Consent:
    """Revoke the release behind a verified copy link: the same revocation as in the portal,
    by the client the link was sent to, with method `link`.

    Raises:
        NotFound: the link is dead, or not a copy link.
        Invalid: the identity was not verified in the last 30 minutes, or the reason is too long.
        WrongState: the release is no longer active.
    """
    opened = _verified_copy_link(session, token)
    return lifecycle.revoke(
        session, _client_actor(opened.consent, ip), opened.consent.id, reason=reason, method="link"
    )


def _verified_copy_link(session: Session, token: str) -> Opened:
    opened = open_invitation(session, token)
    if opened.invitation.purpose is not LinkPurpose.SIGNED:
        raise NotFound("signing link")
    if not is_verified(opened.invitation, now()):
        raise Invalid({"code": N_("Confirm your date of birth and code again first.")})
    return opened


def request_links(session: Session, email: str, *, ip: str | None, settings: Settings) -> None:
    """A signer asks for their links again. The request is kept, sealed, for `roi worker` to
    answer (`answer_link_requests`), and this does the same whether or not the address is known:
    the page's answer is the same too, so neither tells anybody whether someone is a client.

    Raises:
        Throttled: too many requests for this address or from this IP address lately (counted
            whether or not the address is known, so the refusal says nothing about it either).
    """
    address = email.strip().lower()
    if not address or len(address) > MAX_EMAIL:
        return
    at = now()
    # Without a limit, anyone could try address after address: whether someone is a client of
    # a mental-health practice is itself what the page must not tell.
    limits = [("links", address, LINKS_ADDRESS_LIMIT)]
    if ip:
        limits.append(("links_ip", ip, LINKS_IP_LIMIT))
    retry = sessions.throttle_wait(session, limits, settings, at)
    if retry is not None:
        raise Throttled(
            N_("Too many requests for links. Wait a few minutes, then try again."), retry
        )
    uuid = new_uuid()
    asked = json.dumps({"address": address, "ip": ip}).encode()
    with unit_of_work(session):
        sessions.note_attempts(session, [(scope, key) for scope, key, _ in limits], at)
        session.add(
            LinkRequest(
                uuid=uuid, created_at=at, request_sealed=vault.seal(asked, _request_place(uuid))
            )
        )


def _waiting(at: datetime) -> ColumnElement[bool]:
    return or_(LinkRequest.next_attempt_at.is_(None), LinkRequest.next_attempt_at <= at)


def any_link_request_waiting(session: Session) -> bool:
    """Whether a link request is waiting for its answer now: a read, where taking one takes a
    write transaction (on SQLite the database's one write turn)."""
    found = session.scalar(select(LinkRequest.id).where(_waiting(now())).limit(1))
    return found is not None


def answer_link_requests(session: Session, *, limit: int = ANSWER_BATCH) -> int:
    """Take up to `limit` waiting link requests, oldest first, each in a transaction of its own
    that deletes it: each active release signed for a client with that address gets a new link to
    its copy (and to revoking it), written to the outbox, unless one was sent in the last
    REQUEST_INTERVAL. Returns how many requests were taken.

    Workers on several hosts never take one request together: each is taken FOR UPDATE SKIP
    LOCKED (on SQLite one writer at a time). A request that fails is logged and put off
    (as mail is: `roi.mail.outbox.retry_wait`), so it holds up neither the others nor the mail
    delivered after them, nor fills the log while its cause lasts (a key missing from this host's
    ring); one that fails its integrity check is dropped and audited, and one still waiting after
    REQUEST_LIFETIME is logged and dropped (the signer can ask again).

    Raises:
        SQLAlchemyError: no request could be taken (the database itself failed).
    """
    taken = 0
    after = 0
    while taken < limit:
        claimed: LinkRequest | None = None
        failures = 0
        try:
            with unit_of_work(session):
                claimed = session.scalar(
                    select(LinkRequest)
                    .where(LinkRequest.id > after, _waiting(now()))
                    .order_by(LinkRequest.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if claimed is None:
                    break
                after, failures = claimed.id, claimed.attempts
                _answer(session, claimed)
            taken += 1
        except Exception as error:  # one request must not hold up the others, nor the mail
            if claimed is None:
                raise  # none was taken: the database itself failed, for the worker to wait out
            # the class only: an error's text could quote the address
            logger.error("link request %s not answered: %s", after, type(error).__name__)
            _put_off(session, after, failures + 1)
    return taken


def _put_off(session: Session, request_id: int, failures: int) -> None:
    with unit_of_work(session):
        session.execute(
            update(LinkRequest)
            .where(LinkRequest.id == request_id)
            .values(attempts=failures, next_attempt_at=now() + mail.outbox.retry_wait(failures))
        )


def _answer(session: Session, waiting: LinkRequest) -> None:
    if waiting.created_at < now() - REQUEST_LIFETIME:
        logger.warning("link request %s dropped: unanswered for a day", waiting.id)
    else:
        try:
            asked = json.loads(
                vault.open_sealed(waiting.request_sealed, _request_place(waiting.uuid))
            )
        except vault.IntegrityFailure as error:
            # changed or moved in the database: no key will ever open it (SECURITY F2)
            logger.error("link request %s dropped: it cannot be opened", waiting.id)
            audit.record(
                session,
                Actor.system(),
                Action.CRYPTO_INTEGRITY_FAILURE,
                outcome=Outcome.FAILURE,
                reasons=[error.code],
                detail={"link_request": waiting.id},
            )
        else:
            _mail_links(session, asked["address"], asked["ip"])
    session.execute(delete(LinkRequest).where(LinkRequest.id == waiting.id))


def _mail_links(session: Session, address: str, ip: str | None) -> None:
    at = now()
    # Locked, so that two workers answering two requests for one address take turns and the
    # second sees the link the first sent. FOR NO KEY UPDATE: a send's new rows may name them.
    consents = session.scalars(
        select(Consent)
        .join(Client, Client.id == Consent.client_id)
        .where(func.lower(Client.email) == address, has_status(ConsentStatus.ACTIVE, at))
        .order_by(Consent.id)
        .with_for_update(of=Consent, key_share=True)
    ).all()
    for consent in consents:
        if _asked_lately(session, consent.id, at) or not lifecycle.mail_copy_link(session, consent):
            continue
        audit.record(
            session,
            _client_actor(consent, ip),
            Action.CONSENT_COPY_SENT,
            client_id=consent.client_id,
            consent_id=consent.id,
            detail={"asked_by": "signer"},
        )


def _request_place(uuid: str) -> vault.Place:
    return vault.Place("link_requests", "request_sealed", uuid)


def _asked_lately(session: Session, consent_id: int, at: datetime) -> bool:
    return (
        session.scalar(
            select(SigningInvitation.id)
            .where(
                SigningInvitation.consent_id == consent_id,
                SigningInvitation.purpose == LinkPurpose.SIGNED,
                SigningInvitation.created_at > at - REQUEST_INTERVAL,
            )
            .limit(1)
        )
        is not None
    )


def is_verified(invitation: SigningInvitation, at: datetime) -> bool:
    return invitation.verified_at is not None and at - invitation.verified_at <= VERIFIED_WINDOW


def _locked_notice(consent: Consent, purpose: LinkPurpose) -> Message:
    """The preparing clinician's notice that a client's link locked itself, saying which link
    and what to send them instead."""
    if purpose is LinkPurpose.SIGNED:
        return Message(
            "The link to %(name)s's copy of release #%(number)s is locked after five wrong "
            "answers to its check. If the client asks, email them a new link to their copy "
            "from the release's page.",
            number=consent.id,
            name=consent.client.display_name,
        )
    return Message(
        "The signing link of release #%(number)s for %(name)s is locked after five wrong "
        "answers to its check. If the client asks, send a new link from the release's page.",
        number=consent.id,
        name=consent.client.display_name,
    )


def _client_actor(consent: Consent, ip: str | None) -> Actor:
    client = consent.client
    return Actor(
        user_id=client.user_id,
        role=Role.CLIENT,
        organization_id=client.organization_id,
        ip=ip,
        client_id=client.id,
    )
