"""Forms, rows and outcomes for restrictions, shared by the portal (the client asks and ends), the
clinician's client page and compliance's list (staff record, agree or decline, and end): shape
only, the rules are `roi.consent.restrictions`'."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import flash
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from roi.accounts.models import Provider
from roi.consent import restrictions
from roi.consent.library import FormLibrary
from roi.consent.models import Restriction
from roi.errors import Invalid, WrongState
from roi.web.clinician.consent_forms import CheckboxesField


class RestrictionForm(FlaskForm):
    categories = CheckboxesField(
        "Information not to share", validate_choice=False, validators=[Optional()]
    )
    recipient_provider_id = SelectField(
        "Not to share with", coerce=int, validate_choice=False, validators=[Optional()]
    )
    paid_out_of_pocket = BooleanField(
        "This is a health plan, and the care was paid in full out of pocket "
        "(the practice must then agree)"
    )
    description = TextAreaField(
        "In your own words",
        validators=[Length(max=restrictions.MAX_DESCRIPTION)],
        description="What should not be shared, and with whom.",
    )

    def offer(self, library: FormLibrary, recipients: list[Provider]) -> None:
        self.categories.choices = [SelectChoice(c.code, c.label) for c in library.categories()]
        self.recipient_provider_id.choices = [SelectChoice(0, "Anyone")] + [
            SelectChoice(p.id, f"{p.name} — {p.organization_name}") for p in recipients
        ]

    def new(self) -> restrictions.NewRestriction:
        return restrictions.NewRestriction(
            recipient_provider_id=self.recipient_provider_id.data or None,
            categories=tuple(self.categories.data or ()),
            description=self.description.data or "",
            paid_out_of_pocket=bool(self.paid_out_of_pocket.data),
        )


class ReasonForm(FlaskForm):
    """Agree, decline or end, with a reason (required to decline)."""

    reason = TextAreaField("Reason", validators=[Length(max=restrictions.MAX_REASON)])


@dataclass(frozen=True)
class Row:
    """One restriction as a page shows it, its sealed texts opened."""

    restriction: Restriction
    description: str
    what: str
    to: str
    decision_reason: str
    termination_reason: str


def rows(library: FormLibrary, found: list[Restriction]) -> list[Row]:
    labels = {c.code: c.label for c in library.categories()}
    return [
        Row(
            restriction=r,
            description=restrictions.text_of(r, "description_sealed"),
            what=", ".join(labels.get(code, code) for code in r.categories) or "Everything",
            to=r.recipient.name if r.recipient else "Anyone",
            decision_reason=restrictions.text_of(r, "decision_reason_sealed"),
            termination_reason=restrictions.text_of(r, "termination_reason_sealed"),
        )
        for r in found
    ]


def flash_outcome(change: Callable[[], object], done: str) -> None:
    """Make a decision or a termination, then say what happened or why it was refused."""
    try:
        change()
    except Invalid as error:
        flash(" ".join(error.fields.values()), "error")
    except WrongState as error:
        flash(error.message, "error")
    else:
        flash(done, "success")
