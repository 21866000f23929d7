"""Restrictions for compliance: the practice's requests waiting for a decision and those in force,
each agreed, declined (with a reason) or ended here as on the client's page."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from werkzeug.wrappers import Response

from roi.accounts.policy import Permission
from roi.consent import restrictions
from roi.extensions import db
from roi.web.compliance import bp
from roi.web.restriction_forms import ReasonForm, decide_from, rows, terminate_from
from roi.web.security import actor, form_library, requires


@bp.get("/restrictions")
@requires(Permission.USE_COMPLIANCE_WORKSPACE)
def restrictions_page() -> str:
    """Waiting for a decision first, then in force."""
    found = restrictions.open_for_practice(db.session(), actor())
    return render_template(
        "compliance/restrictions.html",
        restrictions=rows(form_library(), found),
        reason_form=ReasonForm(formdata=None),
    )


@bp.post("/restrictions/<int:restriction_id>/decision")
@requires(Permission.USE_COMPLIANCE_WORKSPACE)
def restriction_decision(restriction_id: int) -> Response:
    """Agree to or decline (with a reason) a requested restriction."""
    form = ReasonForm()
    decide_from(form, restriction_id)
    return redirect(url_for("compliance.restrictions_page"))


@bp.post("/restrictions/<int:restriction_id>/termination")
@requires(Permission.USE_COMPLIANCE_WORKSPACE)
def restriction_termination(restriction_id: int) -> Response:
    """End an agreed restriction from now on; the client is told."""
    form = ReasonForm()
    terminate_from(form, restriction_id)
    return redirect(url_for("compliance.restrictions_page"))
