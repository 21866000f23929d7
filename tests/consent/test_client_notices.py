"""What roi tells a client (an emergency disclosure, a restriction ended, a fee dropped) is
written in the language they read roi in."""

from __future__ import annotations

from roi import i18n, mail
from roi.accounts.models import Client
from roi.consent.client_notices import tell_client
from roi.consent.models import Consent


def spoken_in(session, client: Client) -> str:
    """The language `tell_client` writes its mail to `client` in."""
    heard: list[str] = []

    def mail_to(address: str) -> mail.Mail:
        heard.append(i18n.current_language())
        return mail.Mail(to=address, subject="s", text="t")

    assert tell_client(session, client, i18n.Message("Something happened."), mail_to)
    session.rollback()
    return heard[0]


def test_a_client_who_picked_no_language_is_written_to_in_the_one_they_signed_in(session, referral):
    # Given a client who never picked a language, and signed their release in Spanish
    consent = referral.signed(session)
    session.get(Consent, consent.id).language = "es"
    client = session.get(Client, referral.client_id)
    client.language = None
    session.commit()
    # Then roi writes to them in Spanish, and in the language they pick once they pick one
    assert spoken_in(session, client) == "es"
    client.language = "en"
    session.commit()
    assert spoken_in(session, client) == "en"
