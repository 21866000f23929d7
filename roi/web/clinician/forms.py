"""Client and directory forms: shape only; the rules are the services'."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional


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
    name = StringField("Their full name", validators=[DataRequired(), Length(max=200)])
    document = FileField(
        "The document that gives them authority", description="PDF, PNG or JPEG, under 5 MB."
    )
