"""Client and directory forms: shape only; the rules are the services'."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from roi.accounts.service import NewProvider
from roi.web.forms import DayField, NameField, plain_text


class ClientForm(FlaskForm):
    given_name = NameField("Given name", validators=[DataRequired(), Length(max=100)])
    family_name = NameField("Family name", validators=[DataRequired(), Length(max=100)])
    birth_date = DayField("Date of birth", validators=[DataRequired()])
    email = EmailField(
        "Email (for signing releases online)",
        validators=[Optional(), Email(check_deliverability=False), Length(max=254), plain_text],
    )


class ProviderForm(FlaskForm):
    name = NameField("Name", validators=[DataRequired(), Length(max=200)])
    credentials = StringField(
        "Credentials", validators=[Optional(), Length(max=100)], description="e.g. MD, LCSW"
    )
    organization = NameField(
        "Practice or organization", validators=[DataRequired(), Length(max=200)]
    )
    address = TextAreaField("Address", validators=[Optional(), Length(max=500)])
    email = EmailField(
        "Email",
        validators=[Optional(), Email(check_deliverability=False), Length(max=254), plain_text],
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


class OwnCareForm(FlaskForm):
    own_care_consent = BooleanField(
        "This minor consented to their own care under state law",
        description="Then a parent cannot sign releases for that care: the minor signs.",
    )


class RepresentativeForm(FlaskForm):
    kind = RadioField(
        "Kind",
        choices=[
            SelectChoice("guardian", "Court-appointed guardian (signs instead of the client)"),
            SelectChoice(
                "other", "Other personal representative, e.g. health-care power of attorney"
            ),
        ],
        default="guardian",
    )
    name = NameField("Their full name", validators=[DataRequired(), Length(max=200)])
    document = FileField(
        "The document that gives them authority", description="PDF, PNG or JPEG, under 5 MB."
    )
