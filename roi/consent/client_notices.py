"""Telling a client that something happened to their information: a notice in the portal and a
mail that says only where to look (no health information), both in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from roi import i18n, mail
from roi.accounts.models import Client, User
from roi.consent.models import Consent, Notification


def tell_client(
    session: Session, client: Client, notice: i18n.Message, mail_to: Callable[[str], mail.Mail]
) -> bool:
    """Leave `notice` in the client's portal (kept as a message, so it reads in whichever
    language the client reads roi in later; its text in theirs now) and send `mail_to(address)`
    to the client record's address, or else their account's. Whether there was anyone to tell."""
    address = client.email
    language = _language_of(session, client)
    if client.user_id is not None:
        session.add(Notification.saying(client.user_id, notice, language))
        address = address or account_email(session, client)
    if address:
        with i18n.speaking(language):
            written = mail_to(address)
        mail.enqueue(session, written, organization_id=client.organization_id)
    return client.user_id is not None or bool(address)


def account_email(session: Session, client: Client) -> str | None:
    """The address of the client's portal account (None without one): where roi writes when
    their client record holds none."""
    if client.user_id is None:
        return None
    return session.scalar(select(User.email).where(User.id == client.user_id))


def _language_of(session: Session, client: Client) -> str:
    """The language to write to the client in: the one they picked, else the one they last
    signed a release in (as `notices.client_language` falls back to a release's)."""
    if client.language:
        return i18n.supported(client.language)
    signed_in = session.scalar(
        select(Consent.language)
        .where(Consent.client_id == client.id, Consent.signed_at.is_not(None))
        .order_by(Consent.signed_at.desc())
        .limit(1)
    )
    return i18n.supported(signed_in)
