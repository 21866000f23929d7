"""Telling a client that something happened to their information: a notice in the portal and a
mail that says only where to look (no health information), both in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from roi import i18n, mail
from roi.accounts.models import Client, User
from roi.consent.models import Notification


def tell_client(
    session: Session, client: Client, notice: i18n.Message, mail_to: Callable[[str], mail.Mail]
) -> bool:
    """Leave `notice` in the client's portal (kept as a message, so it reads in whichever
    language the client reads roi in later; its text in theirs now) and send `mail_to(address)`
    to the client record's address, or else their account's. Whether there was anyone to tell."""
    address = client.email
    if client.user_id is not None:
        session.add(Notification.saying(client.user_id, notice, client.language))
        address = address or session.scalar(select(User.email).where(User.id == client.user_id))
    if address:
        with i18n.speaking(client.language):
            written = mail_to(address)
        mail.enqueue(session, written, organization_id=client.organization_id)
    return client.user_id is not None or bool(address)
