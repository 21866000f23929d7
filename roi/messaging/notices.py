"""The email that tells a provider a message is waiting. Email is not a safe place for health
information, so it names the sender and nothing else: not the client, the subject or the body
(SECURITY D4); the message itself is read after signing in, where reading it is audited.

Each is written in its reader's language: `new_message_mail` in the one it is given, the
client's notice in the language being spoken (`tell_client` speaks the client's).
"""

from __future__ import annotations

from roi import i18n
from roi.mail import Mail, links


def new_message_mail(to: str, sender: str, language: str | None = None) -> Mail:
    """The notice for the recipient's account address, naming only the sender, in the
    recipient's `language` (English when None)."""
    with i18n.speaking(language):
        return Mail(
            to=to,
            subject=i18n.gettext("You have a new message in roi"),
            text=i18n.gettext(
                "You have a new message in roi from %(sender)s. Sign in to read it:", sender=sender
            ),
            link=links.messages(),
            closing=i18n.gettext(
                "To protect the client's privacy, this email does not say who or what the "
                "message is about."
            ),
        )


def emergency_disclosure_mail(to: str) -> Mail:
    """The client's notice that information about them was shared without their consent in an
    emergency; what, with whom and why is behind the sign-in."""
    return Mail(
        to=to,
        subject=i18n.gettext("A disclosure was recorded in your file in roi"),
        text=i18n.gettext(
            "Your provider shared information about you without your consent because of an "
            "emergency, as the law allows. Sign in to see the record of what was shared, with "
            "whom and why:"
        ),
        link=links.portal(),
        closing=i18n.gettext("To protect your privacy, this email does not say more."),
    )
