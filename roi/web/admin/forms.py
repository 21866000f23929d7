"""User administration forms: shape only; the rules are the services'."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from roi.accounts.passwords import MAX_LENGTH
from roi.actor import Role
from roi.inputs import MAX_ID
from roi.web.forms import NameField, plain_text

ROLE_CHOICES = [
    SelectChoice("clinician", lazy_gettext("Clinician")),
    SelectChoice("compliance", lazy_gettext("Compliance officer")),
    SelectChoice("admin", lazy_gettext("Administrator")),
    SelectChoice("client", lazy_gettext("Client")),
]


def role_choices(current: Role) -> list[SelectChoice]:
    """The roles an account may change to: a client account stays one; staff move among staff."""
    if current is Role.CLIENT:
        return [c for c in ROLE_CHOICES if c.value == "client"]
    return [c for c in ROLE_CHOICES if c.value != "client"]


class UserForm(FlaskForm):
    name = NameField(lazy_gettext("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        lazy_gettext("Email"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254), plain_text],
    )
    role = SelectField(lazy_gettext("Role"), choices=ROLE_CHOICES)
    organization = NameField(
        lazy_gettext("Organization"),
        validators=[Optional(), Length(max=200)],
        description=lazy_gettext(
            "Your organization. Accounts of another practice are added by the instance "
            "operator with the roi command."
        ),
    )
    client_id = IntegerField(
        lazy_gettext("Client record number"),
        validators=[Optional(), NumberRange(min=1, max=MAX_ID)],
        description=lazy_gettext(
            "Only for client accounts: the client record this account belongs to."
        ),
    )
    password = PasswordField(
        lazy_gettext("Initial password"),
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        description=lazy_gettext(
            "At least 12 characters. Share it with the person by a safe channel."
        ),
    )


class UserEditForm(FlaskForm):
    name = NameField(lazy_gettext("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(lazy_gettext("Role"), choices=ROLE_CHOICES)
    #: empty on the form, "yes" on the confirmation page that repeats its values
    confirmed = HiddenField()


class ToggleForm(FlaskForm):
    """No fields: the CSRF token is the point."""


class PracticeForm(FlaskForm):
    state = SelectField(
        lazy_gettext("The practice's state"),
        description=lazy_gettext(
            "Its law decides who signs a release for a minor (rules/signers.toml)."
        ),
        validators=[Optional()],
    )
    mfa_required = BooleanField(
        lazy_gettext("Second factor required for staff"),
        description=lazy_gettext(
            "Clinicians, compliance officers and administrators confirm each sign-in "
            "with an authenticator app or a passkey, and set one up at their next sign-in. "
            "Clients may always choose to use one."
        ),
    )
    emergency_sends_per_day = IntegerField(
        lazy_gettext("Emergency disclosures one clinician may send in 24 hours"),
        # InputRequired: 0 is a number given (the practice setting says it is out of range)
        validators=[InputRequired(lazy_gettext("Give a number."))],
        description=lazy_gettext("Above it, roi refuses the send and alerts compliance."),
    )
    #: any IANA name is checked by the service (roi.accounts.practice), which says what is wrong
    time_zone = SelectField(
        lazy_gettext("The practice's time zone"),
        description=lazy_gettext(
            "Pages, mails and documents show times in it, with the zone named."
        ),
        validate_choice=False,
    )
