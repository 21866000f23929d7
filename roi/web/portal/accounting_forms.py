"""Client-portal forms for "Who received my information": the period shown, and asking for a
full accounting. Shape only; the windows and the one-open-request rule are the service's."""

from __future__ import annotations

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

    since = DayField("From", validators=[Optional()])
    until = DayField("To", validators=[Optional()])
    part2 = BooleanField("Only substance use treatment records (42 CFR Part 2, three years)")


SCOPES = [
    SelectChoice(SCOPE_ALL, "Everything shared about me in the past six years"),
    SelectChoice(
        SCOPE_PART2,
        "Only my substance use treatment records shared in the past three years (42 CFR Part 2)",
    ),
]


class AskForm(FlaskForm):
    """Ask the practice for a full accounting of disclosures."""

    scope = RadioField("What should it cover?", choices=SCOPES, default=SCOPE_ALL)
    note = TextAreaField(
        "Anything we should know? (optional)",
        description=(
            "For example, how you would like to receive it. Your practice's staff read this."
        ),
        validators=[Optional(), Length(max=MAX_NOTE)],
    )


class AnswerForm(FlaskForm):
    """Go ahead with the fee, or withdraw: no fields, the CSRF token is the point."""


class ChangeForm(FlaskForm):
    """Change what a request covers (to reduce what is prepared)."""

    scope = RadioField("What should it cover?", choices=SCOPES, default=SCOPE_ALL)
    since = DayField("From (optional)", validators=[Optional()])
    until = DayField("To (optional)", validators=[Optional()])
