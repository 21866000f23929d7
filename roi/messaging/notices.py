"""The email that tells a provider a message is waiting. Email is not a safe place for health
information, so it names the sender and nothing else: not the client, the subject or the body
(SECURITY D4); the message itself is read after signing in, where reading it is audited."""

from __future__ import annotations

from sqlalchemy.orm import Session

from roi.accounts.models import User
from roi.mail import Mail
from roi.messaging.models import Message


def new_message_mail(session: Session, message: Message, inbox_link: str) -> Mail | None:
    """The notice for the recipient's account address (None if that account has no address)."""
    user_id = message.recipient.user_id
    recipient = session.get(User, user_id) if user_id is not None else None
    if recipient is None or not recipient.email:
        return None
    sender = message.sender_provider.name
    return Mail(
        to=recipient.email,
        subject="You have a new message in roi",
        body=(
            f"You have a new message in roi from {sender}. Sign in to read it:\n\n"
            f"{inbox_link}\n\n"
            "To protect the client's privacy, this email does not say who or what the message "
            "is about."
        ),
    )
