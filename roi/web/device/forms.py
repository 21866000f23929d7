"""Forms of the device pages: the client's date of birth, the clinician's hand-back."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from roi.accounts.passwords import MAX_LENGTH
from roi.web.forms import DayField


class BirthDateForm(FlaskForm):
    """The client confirms their date of birth before the release is shown."""

    birth_date = DayField(
        lazy_gettext("Your date of birth"),
        validators=[InputRequired(lazy_gettext("Enter your date of birth."))],
    )


class HandBackForm(FlaskForm):
    """The clinician's password, and a code or their passkey's answer when they have a second
    factor (the answer filled in by static/js/passkeys.js)."""

    password = PasswordField(
        lazy_gettext("Clinician's password"), validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
    code = StringField(
        lazy_gettext("Code from the authenticator app"),
        validators=[Optional(), Length(max=40)],
        description=lazy_gettext(
            "The 6-digit code your authenticator app shows now, or a recovery code."
        ),
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    credential = HiddenField(validators=[Optional(), Length(max=20_000)])
