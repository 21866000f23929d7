"""The emails a consent's lifecycle sends. They name no client and no health information: they
say that something happened and where to look. The lifecycle writes them to the outbox in the
transaction of the change itself.

Each is written in its reader's language: the client's (the one they picked, else the one their
release is in), or the staff member's own (English until they pick one); its times in their
zone, named (`roi.documents.wording`).
"""

from __future__ import annotations

from sqlalchemy.orm import object_session

from roi import i18n
from roi.accounts.models import User
from roi.clock import local_day
from roi.consent.models import Consent, Revocation
from roi.consent.rendering import client_time_zone
from roi.documents import wording
from roi.i18n import N_
from roi.mail import Mail, links

#: how a revocation from outside roi arrived, in words
OUTSIDE_WORDS = {
    "letter": N_("by letter"),
    "fax": N_("by fax"),
    "email": N_("by email"),
    "in_person": N_("in person"),
    "phone": N_("by phone"),
}


def invitation_mail(consent: Consent, token: str) -> Mail | None:
    """The email that brings the client to the signing page (None without an address)."""
    if not consent.client.email:
        return None
    organization = consent.organization.name
    with i18n.speaking(client_language(consent)):
        return Mail(
            to=consent.client.email,
            subject=i18n.gettext(
                "%(organization)s: a release is waiting for your signature",
                organization=organization,
            ),
            text=i18n.gettext(
                "%(organization)s asks you to review and sign a release of information.\n\n"
                "Open this link to read it:",
                organization=organization,
            ),
            link=links.signing(token),
            closing=i18n.gettext(
                "To protect you, the page asks for your date of birth and a code we send to this "
                "address. The link works once and expires in 7 days. Nothing is shared until you "
                "sign, and you can take your permission back at any time."
            ),
        )


def portal_waiting_mail(consent: Consent, address: str) -> Mail:
    """The email that brings a client with a portal account, and no address on their client
    record for a signing link, to their portal to sign."""
    organization = consent.organization.name
    with i18n.speaking(client_language(consent)):
        return Mail(
            to=address,
            subject=i18n.gettext(
                "%(organization)s: a release is waiting for your signature",
                organization=organization,
            ),
            text=i18n.gettext(
                "%(organization)s asks you to review and sign a release of information. Sign in "
                "to your roi portal to read it:",
                organization=organization,
            ),
            link=links.portal(),
            closing=i18n.gettext(
                "Nothing is shared until you sign, and you can take your permission back at any "
                "time."
            ),
        )


def copy_mail(consent: Consent, token: str) -> Mail:
    """The signer's link to their copy of a signed release (164.508(c)(4)) and to revoking it;
    the caller checks that the client has an address."""
    organization = consent.organization.name
    with i18n.speaking(client_language(consent)):
        return Mail(
            to=consent.client.email or "",
            subject=i18n.gettext(
                "%(organization)s: your copy of the release you signed", organization=organization
            ),
            text=i18n.gettext(
                "Keep a copy of the release of information you signed for %(organization)s. Open "
                "this link to download it, or to revoke it:",
                organization=organization,
            ),
            link=links.signing(token),
            closing=i18n.gettext(
                "To protect you, the page asks for your date of birth and a code we send to this "
                "address. The link works for 30 days; after that, ask your clinician to send a "
                "new one."
            ),
        )


def client_language(consent: Consent) -> str:
    """The language to write to the client about `consent`: the one they picked, else the one
    the release is in (the one they read it in, once signed)."""
    return i18n.supported(consent.client.language or consent.language)


def revocation_words(revocation: Revocation) -> str:
    """How a consent was revoked, after "was revoked", in the language being spoken: "by the
    client", "by letter received on November 28, 2026"."""
    if revocation.received_on is None:
        return i18n.gettext("by the client")
    how = OUTSIDE_WORDS.get(revocation.method)
    return i18n.gettext(
        "%(how)s received on %(day)s",
        how=i18n.gettext(how) if how else revocation.method,
        day=wording.long_date(revocation.received_on),
    )


def revocation_mails(consent: Consent, revocation: Revocation) -> list[Mail]:
    """Tell the preparing clinician and the recipient that a consent was revoked, each in their
    own language and time zone."""
    readers: dict[str, User | None] = {}
    if consent.created_by.email:
        readers[consent.created_by.email] = consent.created_by
    if consent.recipient.email and consent.recipient.email not in readers:
        session = object_session(consent)
        account = consent.recipient.user_id
        readers[consent.recipient.email] = (
            session.get(User, account) if session is not None and account is not None else None
        )
    return [
        _revocation_mail(consent, revocation, address, reader)
        for address, reader in sorted(readers.items())
    ]


def _revocation_mail(
    consent: Consent, revocation: Revocation, address: str, reader: User | None
) -> Mail:
    """One revocation notice; a recipient without an account in roi reads it in English, in the
    disclosing practice's zone, naming the practice (a release's number means nothing to them,
    and they have no roi to sign in to)."""
    zone = (reader.time_zone if reader else None) or consent.organization.time_zone
    with i18n.speaking(reader.language if reader else None):
        when = (
            wording.local_moment(consent.revoked_at, zone)
            if consent.revoked_at
            else i18n.gettext("just now")
        )
        if reader is None and address != consent.created_by.email:
            return Mail(
                to=address,
                subject=i18n.gettext(
                    "A release from %(practice)s was revoked", practice=consent.organization.name
                ),
                text=i18n.gettext(
                    "The release that let %(practice)s share a client's information with you "
                    "(release #%(number)s) was revoked %(how)s, recorded on %(when)s. From that "
                    "moment nothing more may be shared with you under it. For questions, "
                    "contact %(practice)s.",
                    practice=consent.organization.name,
                    number=consent.id,
                    how=revocation_words(revocation),
                    when=when,
                ),
            )
        return Mail(
            to=address,
            subject=i18n.gettext("Release #%(number)s was revoked", number=consent.id),
            text=i18n.gettext(
                "Release #%(number)s was revoked %(how)s, recorded on %(when)s. From that moment "
                "it permits no further disclosure. Sign in to roi to see the details and the "
                "revocation receipt:",
                number=consent.id,
                how=revocation_words(revocation),
                when=when,
            ),
            link=links.sign_in(),
        )


def written_confirmation_mail(consent: Consent) -> Mail | None:
    """Ask the client to confirm in writing a revocation they made by phone (None without an
    address). It names no release content: only the practice and the date."""
    if not consent.client.email:
        return None
    organization = consent.organization.name
    with i18n.speaking(client_language(consent)):
        when = (
            wording.long_date(local_day(consent.revoked_at, client_time_zone(consent)))
            if consent.revoked_at
            else i18n.gettext("today")
        )
        return Mail(
            to=consent.client.email,
            subject=i18n.gettext(
                "%(organization)s: please confirm your request in writing",
                organization=organization,
            ),
            text=i18n.gettext(
                "On %(day)s, %(organization)s recorded your request, made by phone, to take back "
                "a permission you gave to share your information. We stopped sharing under it at "
                "once.\n\n"
                "The law asks for this request in writing. Please send us a short signed and "
                "dated letter saying that you take the permission back, or hand it to us at your "
                "next visit. If you did not make this request, contact us.",
                day=when,
                organization=organization,
            ),
        )


def restriction_ended_mail(to: str) -> Mail:
    """Tell the client their practice ended a restriction they had asked for (164.522(a)(2)(iii));
    what it covered is behind the sign-in. In the language being spoken (`tell_client` speaks
    the client's)."""
    return Mail(
        to=to,
        subject=i18n.gettext("Your practice ended a restriction you asked for"),
        text=i18n.gettext(
            "Your practice ended a restriction on sharing your information that you had asked "
            "for. It still covers information from before today. Sign in to see which one:"
        ),
        link=links.portal(),
        closing=i18n.gettext("To protect your privacy, this email does not say more."),
    )
