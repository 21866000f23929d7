"""The emails a consent's lifecycle sends. They name no client and no health information: they
say that something happened and where to look. The lifecycle writes them to the outbox in the
transaction of the change itself."""

from __future__ import annotations

from roi.clock import iso
from roi.consent.models import Consent, Revocation
from roi.mail import Mail, links

#: how a revocation from outside roi arrived, in words
OUTSIDE_WORDS = {
    "letter": "by letter",
    "fax": "by fax",
    "email": "by email",
    "in_person": "in person",
    "phone": "by phone",
}


def invitation_mail(consent: Consent, token: str) -> Mail | None:
    """The email that brings the client to the signing page (None without an address)."""
    if not consent.client.email:
        return None
    organization = consent.organization.name
    return Mail(
        to=consent.client.email,
        subject=f"{organization}: a release is waiting for your signature",
        text=(
            f"{organization} asks you to review and sign a release of information.\n\n"
            "Open this link to read it:"
        ),
        link=links.signing(token),
        closing=(
            "To protect you, the page asks for your date of birth and a code we send to this "
            "address. The link works once and expires in 7 days. Nothing is shared until you "
            "sign, and you can take your permission back at any time."
        ),
    )


def copy_mail(consent: Consent, token: str) -> Mail:
    """The signer's link to their copy of a signed release (164.508(c)(4)) and to revoking it;
    the caller checks that the client has an address."""
    organization = consent.organization.name
    return Mail(
        to=consent.client.email or "",
        subject=f"{organization}: your copy of the release you signed",
        text=(
            f"Keep a copy of the release of information you signed for {organization}. Open "
            "this link to download it, or to revoke it:"
        ),
        link=links.signing(token),
        closing=(
            "To protect you, the page asks for your date of birth and a code we send to this "
            "address. The link works for 30 days; after that, ask your clinician to send a new "
            "one."
        ),
    )


def revocation_words(revocation: Revocation) -> str:
    """How a consent was revoked, after "was revoked": "by the client", "by letter received
    on 2026-11-28"."""
    if revocation.received_on is None:
        return "by the client"
    how = OUTSIDE_WORDS.get(revocation.method, revocation.method)
    return f"{how} received on {revocation.received_on.isoformat()}"


def revocation_mails(consent: Consent, revocation: Revocation) -> list[Mail]:
    """Tell the preparing clinician and the recipient that a consent was revoked."""
    when = iso(consent.revoked_at) if consent.revoked_at else "just now"
    addresses = {consent.created_by.email, consent.recipient.email} - {None, ""}
    return [
        Mail(
            to=address,
            subject=f"Release #{consent.id} was revoked",
            text=(
                f"Release #{consent.id} was revoked {revocation_words(revocation)}, recorded at "
                f"{when}. From that moment it permits no further disclosure. Sign in to roi to "
                "see the details and the revocation receipt:"
            ),
            link=links.sign_in(),
        )
        for address in sorted(a for a in addresses if a)
    ]


def written_confirmation_mail(consent: Consent) -> Mail | None:
    """Ask the client to confirm in writing a revocation they made by phone (None without an
    address). It names no release content: only the practice and the date."""
    if not consent.client.email:
        return None
    organization = consent.organization.name
    when = consent.revoked_at.date().isoformat() if consent.revoked_at else "today"
    return Mail(
        to=consent.client.email,
        subject=f"{organization}: please confirm your request in writing",
        text=(
            f"On {when}, {organization} recorded your request, made by phone, to take back a "
            "permission you gave to share your information. We stopped sharing under it at "
            "once.\n\n"
            "The law asks for this request in writing. Please send us a short signed and dated "
            "letter saying that you take the permission back, or hand it to us at your next "
            "visit. If you did not make this request, contact us."
        ),
    )


def restriction_ended_mail(to: str) -> Mail:
    """Tell the client their practice ended a restriction they had asked for (164.522(a)(2)(iii));
    what it covered is behind the sign-in."""
    return Mail(
        to=to,
        subject="Your practice ended a restriction you asked for",
        text="Your practice ended a restriction on sharing your information that you had asked "
        "for. It still covers information from before today. Sign in to see which one:",
        link=links.portal(),
        closing="To protect your privacy, this email does not say more.",
    )
