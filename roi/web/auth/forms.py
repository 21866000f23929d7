"""Sign-in and password forms: shape only; the rules are the services'."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from roi.accounts.passwords import MAX_LENGTH
from roi.web.forms import NameField


class LoginForm(FlaskForm):
    email = EmailField(lazy_gettext("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        lazy_gettext("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(lazy_gettext("Current password"), validators=[DataRequired()])
    new_password = PasswordField(
        lazy_gettext("New password"), validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
    end_other_sessions = BooleanField(lazy_gettext("Sign out my other sessions"), default=True)


class ResetRequestForm(FlaskForm):
    email = EmailField(lazy_gettext("Email"), validators=[DataRequired(), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        lazy_gettext("New password"), validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )


class LogoutForm(FlaskForm):
    """No fields: the CSRF token is the point."""


class ConfirmForm(FlaskForm):
    """A confirmation: no fields, the CSRF token is the point."""


class SecondFactorForm(FlaskForm):
    code = StringField(
        lazy_gettext("Code"),
        validators=[DataRequired(), Length(max=40)],
        description=lazy_gettext(
            "The 6-digit code your authenticator app shows now, or a recovery code."
        ),
    )


class TotpConfirmForm(FlaskForm):
    code = StringField(
        lazy_gettext("Code from the app"),
        validators=[DataRequired(), Length(max=10)],
        description=lazy_gettext("The 6-digit code the app shows for roi after you add it."),
    )


class PasskeyForm(FlaskForm):
    """A browser's answer to a passkey challenge (filled in by static/js/passkeys.js)."""

    credential = HiddenField(validators=[DataRequired(), Length(max=20_000)])
    name = NameField(
        lazy_gettext("Name of this passkey"),
        validators=[Optional(), Length(max=100)],
        description=lazy_gettext("So you can tell your passkeys apart, for example “work laptop”."),
    )


class PreferencesForm(FlaskForm):
    """A person's own time zone; empty: their practice's (roi.accounts.practice)."""

    time_zone = SelectField(
        lazy_gettext("Your time zone"),
        description=lazy_gettext("roi shows times in it, with the zone named."),
        validate_choice=False,
    )
