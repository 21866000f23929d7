"""Client and directory forms: shape only; the rules are the services'."""

from __future__ import annotations

from flask_babel import lazy_gettext
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
from roi.documents import attachments
from roi.web.forms import DayField, NameField, plain_text


class ClientForm(FlaskForm):
    given_name = NameField(lazy_gettext("Given name"), validators=[DataRequired(), Length(max=100)])
    family_name = NameField(
        lazy_gettext("Family name"), validators=[DataRequired(), Length(max=100)]
    )
    birth_date = DayField(lazy_gettext("Date of birth"), validators=[DataRequired()])
    email = EmailField(
        lazy_gettext("Email (for signing releases online)"),
        validators=[Optional(), Email(check_deliverability=False), Length(max=254), plain_text],
    )


class ProviderForm(FlaskForm):
    name = NameField(lazy_gettext("Name"), validators=[DataRequired(), Length(max=200)])
    credentials = StringField(
        lazy_gettext("Credentials"),
        validators=[Optional(), Length(max=100)],
        description=lazy_gettext("e.g. MD, LCSW"),
    )
    organization = NameField(
        lazy_gettext("Practice or organization"), validators=[DataRequired(), Length(max=200)]
    )
    address = TextAreaField(lazy_gettext("Address"), validators=[Optional(), Length(max=500)])
    email = EmailField(
        lazy_gettext("Email"),
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
        lazy_gettext("This minor consented to their own care under state law"),
        description=lazy_gettext(
            "Then a parent cannot sign releases for that care: the minor signs."
        ),
    )


class RepresentativeForm(FlaskForm):
    kind = RadioField(
        lazy_gettext("Kind"),
        choices=[
            SelectChoice(
                "guardian", lazy_gettext("Court-appointed guardian (signs instead of the client)")
            ),
            SelectChoice(
                "other",
                lazy_gettext("Other personal representative, e.g. health-care power of attorney"),
            ),
        ],
        default="guardian",
    )
    name = NameField(lazy_gettext("Their full name"), validators=[DataRequired(), Length(max=200)])
    document = FileField(
        lazy_gettext("The document that gives them authority"),
        description=lazy_gettext(
            "PDF, PNG or JPEG, under %(size)d MB.",
            size=attachments.MAX_SCAN_BYTES // attachments.MB,
        ),
    )
