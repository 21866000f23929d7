"""The form that records a disclosure made outside roi, shared by the clinician's client page
and compliance's accounting page (each blueprint mounts it under its own workspace).

Shape only: whether the client is the actor's, whether the basis, dates and file are acceptable
is `roi.compliance.disclosures`'s, whose field reasons are shown next to the fields.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, FileField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Optional

from roi.compliance import disclosures
from roi.compliance.accounting import BASIS_LABELS
from roi.compliance.models import DisclosureBasis
from roi.documents import attachments
from roi.errors import Invalid
from roi.extensions import db
from roi.web.forms import DayField, NameField, apply_errors
from roi.web.security import actor
from roi.web.uploads import uploaded_file

TEMPLATE = "outside_disclosure_new.html"


class OutsideDisclosureForm(FlaskForm):
    disclosed_on = DayField(
        lazy_gettext("Day it was disclosed"),
        validators=[DataRequired(lazy_gettext("Give the day (YYYY-MM-DD)."))],
    )
    recipient_provider_id = SelectField(
        lazy_gettext("Recipient from the directory"), validate_choice=False, validators=[Optional()]
    )
    recipient_name = NameField(
        lazy_gettext("Or the recipient's name"),
        description=lazy_gettext("A court, an agency, a person: as the request names them."),
        validators=[Optional()],
    )
    recipient_address = TextAreaField(lazy_gettext("Their address"), validators=[Optional()])
    description = TextAreaField(
        lazy_gettext("What was disclosed"),
        validators=[DataRequired(lazy_gettext("Say what was disclosed."))],
    )
    purpose = TextAreaField(
        lazy_gettext("Why"),
        description=lazy_gettext("The purpose, in words the client will read in their accounting."),
    )
    basis = SelectField(
        lazy_gettext("Basis"),
        choices=[
            SelectChoice(b.value, lazy_gettext(BASIS_LABELS[b.value])) for b in DisclosureBasis
        ],
        validate_choice=False,
    )
    substance_use_records = BooleanField(
        lazy_gettext("It carried substance-use-disorder records (42 CFR Part 2)"),
        description=lazy_gettext(
            "Under a Part 2 consent, the client's Part 2 accounting then lists it."
        ),
    )
    request_document = FileField(
        lazy_gettext("The written request (optional)"),
        description=lazy_gettext(
            "A subpoena, a court order, an agency's letter: PDF, PNG, JPEG or text, under "
            "%(size)d MB.",
            size=attachments.MAX_SCAN_BYTES // attachments.MB,
        ),
    )


def directory_choices(none: str) -> list[SelectChoice]:
    """The directory as select options (values are ids), after an empty option `none`."""
    return [
        SelectChoice("", none),
        *(
            SelectChoice(str(p.id), f"{p.name}, {p.organization_name}".rstrip(", "))
            for p in disclosures.directory(db.session(), actor())
        ),
    ]


def record_page(client_id: int, *, endpoint: str, back: str) -> ResponseReturnValue:
    """GET: the empty form; POST: record the disclosure and go back to the `back` endpoint's
    page of the client (the page the form was opened from)."""
    action = url_for(endpoint, client_id=client_id)
    done = cancel = url_for(back, client_id=client_id)
    form = OutsideDisclosureForm()
    form.recipient_provider_id.choices = directory_choices(_("Not in the directory (type below)"))
    if request.method == "POST":
        if form.validate_on_submit():
            new = disclosures.NewOutsideDisclosure(
                client_id=client_id,
                disclosed_on=form.disclosed_on.data,
                description=form.description.data or "",
                purpose=form.purpose.data or "",
                basis=form.basis.data or "",
                recipient_provider_id=(
                    int(form.recipient_provider_id.data)
                    if (form.recipient_provider_id.data or "").isdigit()
                    else None
                ),
                recipient_name=form.recipient_name.data,
                recipient_address=form.recipient_address.data,
                request_document=uploaded_file("request_document", attachments.MAX_SCAN_BYTES),
                substance_use_records=bool(form.substance_use_records.data),
            )
            try:
                found = disclosures.record(db.session(), actor(), new)
            except Invalid as error:
                db.session.rollback()
                apply_errors(form, error)
            else:
                flash(
                    _(
                        "Disclosure #%(number)s recorded: the client's accounting lists it.",
                        number=found.id,
                    ),
                    "success",
                )
                return redirect(done)
        return render_template(TEMPLATE, form=form, action=action, cancel=cancel), 422
    # the client must be the actor's before the form is shown (404 otherwise)
    disclosures.disclosures_of(db.session(), actor(), client_id)
    return render_template(TEMPLATE, form=form, action=action, cancel=cancel)
