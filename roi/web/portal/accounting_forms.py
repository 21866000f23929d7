"""Client-portal forms for "Who received my information": the period shown, and asking for a
full accounting. Shape only; the windows and the one-open-request rule are the service's."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import Length, Optional

from roi.compliance.requests import MAX_NOTE
from roi.web.forms import DayField

SCOPE_ALL = "all"
SCOPE_PART2 = "part2"


class PeriodForm(FlaskForm):
    """Which disclosures to show, read from the query string (a GET form changes nothing)."""

    class Meta:
        # A CSRF token would put a secret into the URL, and there is nothing to protect.
        csrf = False

    since = DayField(lazy_gettext("From"), validators=[Optional()])
    until = DayField(lazy_gettext("Until"), validators=[Optional()])
    part2 = BooleanField(
        lazy_gettext("Only substance use treatment records (42 CFR Part 2, three years)")
    )


SCOPES = [
    SelectChoice(SCOPE_ALL, lazy_gettext("Everything shared about me in the past six years")),
    SelectChoice(
        SCOPE_PART2,
        lazy_gettext(
            "Only my substance use treatment records shared in the past three years (42 CFR Part 2)"
        ),
    ),
]


class AskForm(FlaskForm):
    """Ask the practice for a full accounting of disclosures."""

    scope = RadioField(lazy_gettext("What should it cover?"), choices=SCOPES, default=SCOPE_ALL)
    note = TextAreaField(
        lazy_gettext("Anything we should know? (optional)"),
        description=lazy_gettext(
            "For example, how you would like to receive it. Your practice's staff read this."
        ),
        validators=[Optional(), Length(max=MAX_NOTE)],
    )


class AnswerForm(FlaskForm):
    """Go ahead with the fee, or withdraw: no fields, the CSRF token is the point."""


class ChangeForm(FlaskForm):
    """Change what a request covers (to reduce what is prepared)."""

    scope = RadioField(lazy_gettext("What should it cover?"), choices=SCOPES, default=SCOPE_ALL)
    since = DayField(lazy_gettext("From (optional)"), validators=[Optional()])
    until = DayField(lazy_gettext("To (optional)"), validators=[Optional()])
