"""Client and directory forms: shape only; the rules are the services'."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from roi.accounts.service import NewProvider


class ClientForm(FlaskForm):
    given_name = StringField("Given name", validators=[DataRequired(), Length(max=100)])
    family_name = StringField("Family name", validators=[DataRequired(), Length(max=100)])
    birth_date = DateField("Date of birth", validators=[DataRequired()])
    email = EmailField(
        "Email (for signing releases online)",
        validators=[Optional(), Email(check_deliverability=False), Length(max=254)],
    )


class ProviderForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    credentials = StringField(
        "Credentials", validators=[Optional(), Length(max=100)], description="e.g. MD, LCSW"
    )
    organization = StringField(
        "Practice or organization", validators=[DataRequired(), Length(max=200)]
    )
    address = TextAreaField("Address", validators=[Optional(), Length(max=500)])
    email = EmailField(
        "Email", validators=[Optional(), Email(check_deliverability=False), Length(max=254)]
    )

    def entry(self) -> NewProvider:
        """The directory entry the form describes."""
        return NewProvider(
            name=self.name.data or "",
            credentials=self.credentials.data or "",
            organization=self.organization.data or "",
            address=self.address.data or "",
            email=self.email.data,
        )
