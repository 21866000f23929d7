"""Sign-in and password forms: shape only; the rules are the services'."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from roi.accounts.passwords import MAX_LENGTH
from roi.web.forms import NameField


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField(
        "New password", validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
    end_other_sessions = BooleanField("Sign out my other sessions", default=True)


class ResetRequestForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=MAX_LENGTH)])


class LogoutForm(FlaskForm):
    """No fields: the CSRF token is the point."""


class SecondFactorForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[DataRequired(), Length(max=40)],
        description="The 6-digit code your authenticator app shows now, or a recovery code.",
    )


class TotpConfirmForm(FlaskForm):
    code = StringField(
        "Code from the app",
        validators=[DataRequired(), Length(max=10)],
        description="The 6-digit code the app shows for roi after you add it.",
    )


class PasskeyForm(FlaskForm):
    """A browser's answer to a passkey challenge (filled in by static/js/passkeys.js)."""

    credential = HiddenField(validators=[DataRequired(), Length(max=20_000)])
    name = NameField(
        "Name of this passkey",
        validators=[Optional(), Length(max=100)],
        description="So you can tell your passkeys apart, for example “work laptop”.",
    )
