"""The client asks that some information not be shared, sees what the practice decided, and ends
a restriction whenever they like (45 CFR 164.522(a)); `roi.consent.restrictions` scopes and
audits."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from roi.accounts.models import Provider
from roi.accounts.policy import Permission
from roi.consent import queries, restrictions
from roi.errors import Invalid, NotFound, WrongState
from roi.extensions import db
from roi.web.forms import apply_errors
from roi.web.language import translated
from roi.web.portal import bp
from roi.web.restriction_forms import ReasonForm, RestrictionForm, rows
from roi.web.security import actor, form_library, requires


@bp.get("/restrictions")
@requires(Permission.USE_PORTAL)
def restrictions_page() -> str:
    """The client's restrictions and the form to ask for one."""
    return _page(None)


@bp.post("/restrictions")
@requires(Permission.USE_PORTAL)
def restriction_ask() -> Response | tuple[str, int]:
    """Ask that some information not be shared; the practice agrees or declines."""
    form = RestrictionForm()
    _offer(form)
    if form.validate_on_submit():
        try:
            restrictions.request(db.session(), actor(), form_library(), _client_id(), form.new())
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash(
                _("Your request was sent to your practice. You will see their answer here."),
                "success",
            )
            return redirect(url_for("portal.restrictions_page"))
    return _page(form), 422


@bp.post("/restrictions/<int:restriction_id>/end")
@requires(Permission.USE_PORTAL)
def restriction_end(restriction_id: int) -> Response:
    """End a restriction (or withdraw a request) from now on."""
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            restrictions.terminate(db.session(), actor(), restriction_id, reason=form.reason.data)
        except WrongState as error:
            flash(translated(error.message), "error")
        else:
            flash(_("Ended. Your releases apply as they say from now on."), "success")
    return redirect(url_for("portal.restrictions_page"))


def _client_id() -> int:
    client_id = actor().client_id
    if client_id is None:
        raise NotFound("client")
    return client_id


def _offer(form: RestrictionForm) -> None:
    """The recipients a client knows: those named on their releases."""
    named: dict[int, Provider] = {}
    for consent in queries.consents_for(db.session(), actor()):
        named.setdefault(consent.recipient.id, consent.recipient)
    form.offer(form_library(), sorted(named.values(), key=lambda p: p.name))


def _page(form: RestrictionForm | None) -> str:
    if form is None:
        form = RestrictionForm(formdata=None)
        _offer(form)
    found = restrictions.restrictions_for(db.session(), actor(), _client_id())
    return render_template(
        "portal/restrictions.html",
        restrictions=rows(form_library(), found),
        form=form,
        reason_form=ReasonForm(formdata=None),
    )
