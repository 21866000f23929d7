"""Forms, rows and outcomes for restrictions, shared by the portal (the client asks and ends), the
clinician's client page and compliance's list (staff record, agree or decline, and end): shape
only, the rules are `roi.consent.restrictions`'."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import flash, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from roi.accounts.models import Provider
from roi.consent import restrictions
from roi.consent.library import FormLibrary
from roi.consent.models import Restriction
from roi.errors import Invalid, WrongState
from roi.extensions import db
from roi.web.clinician.consent_forms import CheckboxesField
from roi.web.language import form_language, translated
from roi.web.security import actor


class RestrictionForm(FlaskForm):
    categories = CheckboxesField(
        lazy_gettext("Information not to share"), validate_choice=False, validators=[Optional()]
    )
    recipient_provider_id = SelectField(
        lazy_gettext("Not to share with"),
        coerce=int,
        validate_choice=False,
        validators=[Optional()],
    )
    paid_out_of_pocket = BooleanField(
        lazy_gettext(
            "This is a health plan, and the care was paid in full out of pocket "
            "(the practice must then agree)"
        )
    )
    description = TextAreaField(
        lazy_gettext("In your own words"),
        validators=[Length(max=restrictions.MAX_DESCRIPTION)],
        description=lazy_gettext("What should not be shared, and with whom."),
    )

    def offer(self, library: FormLibrary, recipients: list[Provider]) -> None:
        self.categories.choices = [
            SelectChoice(c.code, c.label) for c in library.categories(form_language())
        ]
        self.recipient_provider_id.choices = [SelectChoice(0, lazy_gettext("Anyone"))] + [
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

    reason = TextAreaField(lazy_gettext("Reason"), validators=[Length(max=restrictions.MAX_REASON)])
    clients_request = BooleanField(
        lazy_gettext("The client asked to end it (by letter, phone or in person)")
    )


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
    labels = {c.code: c.label for c in library.categories(form_language())}
    return [
        Row(
            restriction=r,
            description=restrictions.text_of(r, "description_sealed"),
            what=", ".join(labels.get(code, code) for code in r.categories) or _("Everything"),
            to=r.recipient.name if r.recipient else _("Anyone"),
            decision_reason=restrictions.text_of(r, "decision_reason_sealed"),
            termination_reason=restrictions.text_of(r, "termination_reason_sealed"),
        )
        for r in found
    ]


def decide_from(form: ReasonForm, restriction_id: int) -> None:
    """Agree or decline as the pressed button ("decision") says, and say how it went."""
    if not form.validate_on_submit():
        return
    agree = request.form.get("decision") == "agree"
    _flash_outcome(
        lambda: restrictions.decide(
            db.session(), actor(), restriction_id, agree=agree, reason=form.reason.data
        ),
        _("Restriction #%(number)s agreed.", number=restriction_id)
        if agree
        else _("Restriction #%(number)s declined.", number=restriction_id),
    )


def terminate_from(form: ReasonForm, restriction_id: int) -> None:
    """End a restriction from now on, and say how it went (the client is told)."""
    if not form.validate_on_submit():
        return
    _flash_outcome(
        lambda: restrictions.terminate(
            db.session(),
            actor(),
            restriction_id,
            reason=form.reason.data,
            clients_request=bool(form.clients_request.data),
        ),
        _("Restriction #%(number)s ended at the client's request.", number=restriction_id)
        if form.clients_request.data
        else _("Restriction #%(number)s ended. The client has been told.", number=restriction_id),
    )


def _flash_outcome(change: Callable[[], object], done: str) -> None:
    try:
        change()
    except Invalid as error:
        flash(" ".join(translated(why) for why in error.fields.values()), "error")
    except WrongState as error:
        flash(translated(error.message), "error")
    else:
        flash(done, "success")
