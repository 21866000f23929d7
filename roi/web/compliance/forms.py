"""Compliance forms for the accounting of disclosures and accounting requests: shape only; the
rules (windows, deadlines, one extension) are `roi.compliance.requests`'."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    RadioField,
    SelectChoice,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from roi.compliance.models import Channel
from roi.compliance.requests import MAX_NOTE, MAX_REASON
from roi.web.compliance.words import CHANNEL_WORDS
from roi.web.forms import DayField, NameField


class AccountingFilterForm(FlaskForm):
    """Which disclosures to show, read from the query string (a GET form changes nothing)."""

    class Meta:
        # A CSRF token would put a secret into the URL, and there is nothing to protect.
        csrf = False

    # days of the practice's calendar, named with its zone above the form
    since = DayField(lazy_gettext("First day"), validators=[Optional()])
    until = DayField(lazy_gettext("Last day (included)"), validators=[Optional()])
    part2 = BooleanField(
        lazy_gettext("Part 2 disclosures only (42 CFR 2.25, three years by default)")
    )
    summarize = BooleanField(
        lazy_gettext(
            "Summarize repeated disclosures to one recipient for one purpose (164.528(b)(3))"
        )
    )


class ClientChoiceForm(FlaskForm):
    """Choose a client by name; the value sent is the client's id (no name in the URL)."""

    class Meta:
        csrf = False

    client_id = SelectField(lazy_gettext("Client"), choices=[], validators=[DataRequired()])


class AccountingRequestForm(FlaskForm):
    """A client's request for an accounting, as staff record it."""

    client_id = SelectField(lazy_gettext("Client"), choices=[], validators=[DataRequired()])
    received_on = DayField(lazy_gettext("Received on"), validators=[DataRequired()])
    channel = RadioField(
        lazy_gettext("How it arrived"),
        choices=[SelectChoice(code, lazy_gettext(words)) for code, words in CHANNEL_WORDS.items()],
        default=Channel.WRITTEN.value,
    )
    part2 = BooleanField(
        lazy_gettext("Part 2 accounting (substance use disorder records, three years at most)")
    )
    since = DayField(
        lazy_gettext("Disclosures from"),
        validators=[Optional()],
        description=lazy_gettext(
            "Leave empty for the whole window: six years (Part 2: three) before receipt."
        ),
    )
    until = DayField(
        lazy_gettext("Disclosures up to"),
        validators=[Optional()],
        description=lazy_gettext("Leave empty for the day it was received."),
    )
    note = TextAreaField(
        lazy_gettext("Note (optional)"),
        description=lazy_gettext(
            "For staff: how the client wants to receive it, who took the call."
        ),
        validators=[Optional(), Length(max=MAX_NOTE)],
    )


class ExtensionForm(FlaskForm):
    reason = TextAreaField(
        lazy_gettext("Reason for the delay"),
        description=lazy_gettext(
            "The client is told this in writing, with the new date. One extension of 30 days "
            "is allowed, given within the first 60 days."
        ),
        validators=[Length(max=MAX_REASON)],
    )


class FulfilForm(FlaskForm):
    """No fields: the CSRF token is the point."""


class SuspensionForm(FlaskForm):
    """An agency's statement suspending its entries (164.528(a)(2)); the rules are
    `roi.compliance.suspensions`'."""

    agency = NameField(
        lazy_gettext("Agency or official"),
        validators=[DataRequired(lazy_gettext("Name the agency."))],
    )
    recipient_provider_id = SelectField(
        lazy_gettext("Its directory entry (when disclosures to it go through roi)"),
        validate_choice=False,
        validators=[Optional()],
    )
    until = DayField(
        lazy_gettext("Suspended until (included)"),
        validators=[DataRequired(lazy_gettext("Give the date."))],
    )
    written = RadioField(
        lazy_gettext("The statement was"),
        choices=[
            SelectChoice("written", lazy_gettext("In writing")),
            SelectChoice("oral", lazy_gettext("Oral (at most 30 days; document it below)")),
        ],
        default="written",
    )
    statement = TextAreaField(
        lazy_gettext("The statement"),
        description=lazy_gettext(
            "For an oral statement: what was said, and the official who said it."
        ),
    )


class FeeForm(FlaskForm):
    fee = DecimalField(
        lazy_gettext("Fee for a repeat accounting within 12 months (US dollars)"),
        places=2,
        description=lazy_gettext(
            "Told to the client in advance; the first accounting in 12 months is free."
        ),
        validators=[DataRequired(lazy_gettext("Give an amount (0 for none).")), NumberRange(min=0)],
    )
