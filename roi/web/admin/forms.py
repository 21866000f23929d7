"""User administration forms: shape only; the rules are the services'."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from roi.accounts.passwords import MAX_LENGTH


class UserForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        "Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)]
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
    organization = StringField(
        "Organization",
        validators=[Optional(), Length(max=200)],
        description="Created if it does not exist yet. Required for clinicians and compliance.",
    )
    client_id = IntegerField(
        "Client record number",
        validators=[Optional()],
        description="Only for client accounts: the client record this account belongs to.",
    )
    password = PasswordField(
        "Initial password",
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        description="At least 12 characters. Share it with the person by a safe channel.",
    )


class ToggleForm(FlaskForm):
    """No fields: the CSRF token is the point."""


class EmergencyRateForm(FlaskForm):
    emergency_sends_per_day = IntegerField(
        "Emergency disclosures one clinician may send in 24 hours",
        validators=[DataRequired("Give a number.")],
        description="Above it, roi refuses the send and alerts compliance.",
    )
