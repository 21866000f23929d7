"""Client-portal forms: signing a release, revoking one.

The signing form is shared with the emailed-link flow (`roi.web.signing`): the same words, the
same fields, the same checks. Fields check shape only; the lifecycle service checks the rules
(an agreement, a name, a representative's authority) and its reasons are shown next to the fields.
"""

from __future__ import annotations

import base64
import binascii

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectChoice,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from roi.consent.lifecycle import MAX_DRAWN_SIGNATURE, MAX_REASON, SignatureInput
from roi.consent.models import SignerRelationship
from roi.errors import Invalid
from roi.web.forms import NameField
from roi.web.portal.releases import reading_language

#: the only drawn-signature encoding accepted: what `canvas.toDataURL("image/png")` produces
PNG_DATA_URL = "data:image/png;base64,"
#: base64 makes 4 characters of every 3 bytes
MAX_DATA_URL = len(PNG_DATA_URL) + (MAX_DRAWN_SIGNATURE + 2) // 3 * 4

RELATIONSHIP_CHOICES = [
    SelectChoice(SignerRelationship.SELF.value, lazy_gettext("I am the client")),
    SelectChoice(SignerRelationship.PARENT.value, lazy_gettext("I am the client's parent")),
    SelectChoice(
        SignerRelationship.GUARDIAN.value, lazy_gettext("I am the client's legal guardian")
    ),
    SelectChoice(
        SignerRelationship.PERSONAL_REPRESENTATIVE.value,
        lazy_gettext("I am the client's personal representative"),
    ),
]


class SignatureForm(FlaskForm):
    """Consent to sign electronically, a typed full name, an optional drawn signature."""

    relationship = RadioField(
        lazy_gettext("Who is signing?"),
        choices=RELATIONSHIP_CHOICES,
        default=SignerRelationship.SELF.value,
    )
    representative_authority = TextAreaField(
        lazy_gettext("Your authority to sign for the client"),
        description=lazy_gettext(
            "Only if you sign for someone else. For example: “parent of a child under 18” or "
            "“court-appointed guardian, order no. 2024-123”."
        ),
        validators=[Optional(), Length(max=500)],
    )
    signer_name = NameField(
        lazy_gettext("Type your full name"),
        description=lazy_gettext("Typing your name is your legal signature."),
        validators=[Length(max=200)],
    )
    drawn_signature = HiddenField(lazy_gettext("Drawn signature"))
    agree = BooleanField(
        lazy_gettext(
            "I agree to sign this form electronically. "
            "My typed name counts as my handwritten signature."
        )
    )


class RevokeForm(FlaskForm):
    """Revoke an active release: one confirmation, an optional reason."""

    reason = TextAreaField(
        lazy_gettext("Reason (optional)"),
        description=lazy_gettext(
            "You do not have to give a reason. Your clinician will see what you write."
        ),
        validators=[Optional(), Length(max=MAX_REASON)],
    )
    confirm = BooleanField(lazy_gettext("Yes, I want to revoke this release now."))


def signature_input(form: SignatureForm) -> SignatureInput:
    """The service's input from a submitted form; the drawn signature decoded to PNG bytes.

    Raises:
        Invalid: the drawn signature is not a PNG data URL of at most 300 kB.
    """
    return SignatureInput(
        signer_name=form.signer_name.data or "",
        relationship=SignerRelationship(form.relationship.data),
        agree=bool(form.agree.data),
        representative_authority=form.representative_authority.data or None,
        drawn_signature_png=decode_drawn_signature(form.drawn_signature.data or ""),
        # the client signs the release in the language they read it in on this page
        language=reading_language(),
    )


def decode_drawn_signature(value: str) -> bytes | None:
    """PNG bytes from `data:image/png;base64,...`; None when nothing was drawn.

    Raises:
        Invalid: any other data URL, bad base64, or more than 300 kB.
    """
    value = value.strip()
    if not value:
        return None
    problem = {
        "drawn_signature": _(
            "The drawn signature could not be read. Clear it and draw it again, "
            "or leave it empty: your typed name is enough."
        )
    }
    if not value.startswith(PNG_DATA_URL) or len(value) > MAX_DATA_URL:
        raise Invalid(problem)
    try:
        png = base64.b64decode(value[len(PNG_DATA_URL) :], validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(problem) from None
    if not png or len(png) > MAX_DRAWN_SIGNATURE:
        raise Invalid(problem)
    return png
