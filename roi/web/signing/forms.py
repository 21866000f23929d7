"""Forms of the emailed-link flow. The signature form itself is the portal's (same words)."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from roi.web.forms import DayField
from roi.web.portal.forms import SignatureForm

__all__ = ["CodeRequestForm", "IdentityForm", "LinkRequestForm", "SignatureForm"]


class CodeRequestForm(FlaskForm):
    """The "Email me a code" button and the CSRF token, nothing else."""


class IdentityForm(FlaskForm):
    """Date of birth and the one-time code: with the link, they stand in for a sign-in."""

    birth_date = DayField(
        lazy_gettext("Your date of birth"),
        validators=[InputRequired(lazy_gettext("Enter your date of birth."))],
        render_kw={"autocomplete": "bday"},
    )
    code = StringField(
        lazy_gettext("The 6-digit code from your email"),
        validators=[InputRequired(lazy_gettext("Enter the code from your email.")), Length(max=12)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": "12"},
    )


class LinkRequestForm(FlaskForm):
    """A signer asks for the link to their signed copy (and to revoking it) again."""

    email = StringField(
        lazy_gettext("Your email address"),
        validators=[InputRequired(lazy_gettext("Enter your email address.")), Length(max=254)],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
