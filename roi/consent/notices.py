"""The emails a consent's lifecycle sends. They name no client and no health information: they
say that something happened and where to look. The lifecycle writes them to the outbox in the
transaction of the change itself."""

from __future__ import annotations

from roi.clock import iso
from roi.consent.models import Consent
from roi.mail import Mail, links


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


def revocation_mails(consent: Consent) -> list[Mail]:
    """Tell the preparing clinician and the recipient that a consent was revoked."""
    when = iso(consent.revoked_at) if consent.revoked_at else "just now"
    addresses = {consent.created_by.email, consent.recipient.email} - {None, ""}
    return [
        Mail(
            to=address,
            subject=f"Release #{consent.id} was revoked",
            text=(
                f"Release #{consent.id} was revoked by the client at {when}. From that moment it "
                "permits no further disclosure. Sign in to roi to see the details and the "
                "revocation receipt:"
            ),
            link=links.sign_in(),
        )
        for address in sorted(a for a in addresses if a)
    ]


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
