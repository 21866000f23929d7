"""Restrictions on the client's page: staff of the client's practice record a request on the
client's behalf, agree or decline it, and end an agreed one (the client is told)."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from roi.accounts.policy import Permission
from roi.consent import queries, restrictions
from roi.errors import Invalid
from roi.extensions import db
from roi.web.clinician import bp
from roi.web.clinician.views import client_page, offer_restrictions
from roi.web.forms import apply_errors
from roi.web.restriction_forms import ReasonForm, RestrictionForm, decide_from, terminate_from
from roi.web.security import actor, form_library, requires


@bp.post("/clients/<int:client_id>/restrictions")
@requires(Permission.USE_CLINICIAN_WORKSPACE)
def restriction_new(client_id: int) -> Response | tuple[str, int]:
    """Record a client's request for a restriction, made by phone, letter or in person."""
    form = RestrictionForm()
    client = queries.client_for(db.session(), actor(), client_id)
    offer_restrictions(form)
    if form.validate_on_submit():
        try:
            restrictions.request(db.session(), actor(), form_library(), client.id, form.new())
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash(_("Restriction request recorded. Agree to it or decline it below."), "success")
            return redirect(
                url_for("clinician.client_detail", client_id=client.id) + "#restrictions"
            )
    return client_page(client, restriction_form=form), 422


@bp.post("/restrictions/<int:restriction_id>/decision")
@requires(Permission.USE_CLINICIAN_WORKSPACE)
def restriction_decision(restriction_id: int) -> Response:
    """Agree to (the "agree" button) or decline (with a reason) a requested restriction."""
    form = ReasonForm()
    found = restrictions.restriction_for(db.session(), actor(), restriction_id)
    client_id = found.client_id
    decide_from(form, restriction_id)
    return redirect(url_for("clinician.client_detail", client_id=client_id) + "#restrictions")


@bp.post("/restrictions/<int:restriction_id>/termination")
@requires(Permission.USE_CLINICIAN_WORKSPACE)
def restriction_termination(restriction_id: int) -> Response:
    """End an agreed restriction from now on; the client is told."""
    form = ReasonForm()
    found = restrictions.restriction_for(db.session(), actor(), restriction_id)
    client_id = found.client_id
    terminate_from(form, restriction_id)
    return redirect(url_for("clinician.client_detail", client_id=client_id) + "#restrictions")
