"""The compliance review queue of emergency disclosures: waiting first, each reviewed with a note
(`roi.compliance.emergencies` scopes and audits)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from roi.accounts.policy import Permission
from roi.compliance import emergencies
from roi.errors import Invalid
from roi.extensions import db
from roi.web.compliance import bp
from roi.web.forms import apply_errors
from roi.web.security import actor, requires


class ReviewForm(FlaskForm):
    note = TextAreaField(
        lazy_gettext("Review note"),
        validators=[
            DataRequired(lazy_gettext("Write what you found.")),
            Length(max=emergencies.MAX_NOTE),
        ],
        description=lazy_gettext("Whether the emergency basis held, and anything to follow up."),
    )


@bp.get("/emergency-disclosures")
@requires(Permission.REVIEW_EMERGENCY_DISCLOSURES)
def emergency_disclosures() -> str:
    """Waiting for review (the default), or reviewed with ?reviewed=1."""
    reviewed = request.args.get("reviewed") == "1"
    return _queue_page(reviewed, ReviewForm(), None)


@bp.post("/emergency-disclosures/<int:disclosure_id>/review")
@requires(Permission.REVIEW_EMERGENCY_DISCLOSURES)
def emergency_review(disclosure_id: int) -> Response | tuple[str, int]:
    """Record the review of one emergency disclosure with its note."""
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            emergencies.review(db.session(), actor(), disclosure_id, form.note.data or "")
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash(_("Emergency disclosure #%(id)d reviewed.", id=disclosure_id), "success")
            return redirect(url_for("compliance.emergency_disclosures"))
    return _queue_page(False, form, disclosure_id), 422


def _queue_page(reviewed: bool, form: ReviewForm, failed_id: int | None) -> str:
    session, me = db.session(), actor()
    return render_template(
        "compliance/emergency_disclosures.html",
        entries=emergencies.queue(session, me, reviewed=reviewed),
        reviewed=reviewed,
        form=form,
        failed_id=failed_id,
    )
