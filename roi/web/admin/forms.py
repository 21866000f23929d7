"""User administration forms: shape only; the rules are the services'."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, PasswordField, SelectChoice, SelectField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from roi.accounts.passwords import MAX_LENGTH
from roi.inputs import MAX_ID
from roi.web.forms import NameField, plain_text


class UserForm(FlaskForm):
    name = NameField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        "Email",
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254), plain_text],
    )
    role = SelectField(
        "Role",
        choices=[
            SelectChoice("clinician", "Clinician"),
            SelectChoice("compliance", "Compliance officer"),
            SelectChoice("admin", "Administrator"),
            SelectChoice("client", "Client"),
        ],
    )
    organization = NameField(
        "Organization",
        validators=[Optional(), Length(max=200)],
        description="Created if it does not exist yet. Required for clinicians and compliance.",
    )
    client_id = IntegerField(
        "Client record number",
        validators=[Optional(), NumberRange(min=1, max=MAX_ID)],
        description="Only for client accounts: the client record this account belongs to.",
    )
    password = PasswordField(
        "Initial password",
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        description="At least 12 characters. Share it with the person by a safe channel.",
    )


class ToggleForm(FlaskForm):
    """No fields: the CSRF token is the point."""
