"""The client asks their practice to share their records with a provider (164.508(c)(1)(iv))."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from roi.accounts.policy import Permission
from roi.consent import share_requests
from roi.errors import Invalid
from roi.extensions import db
from roi.web.forms import apply_errors
from roi.web.portal import bp
from roi.web.security import actor, requires

SEARCH_MAX = 100


class ShareRequestForm(FlaskForm):
    provider_id = IntegerField(lazy_gettext("Provider from the directory"), validators=[Optional()])
    provider_name = StringField(
        lazy_gettext("Their name"), validators=[Optional(), Length(max=200)]
    )
    provider_address = TextAreaField(
        lazy_gettext("Their address"),
        validators=[Optional(), Length(max=500)],
        description=lazy_gettext("Post or email."),
    )
    note = TextAreaField(
        lazy_gettext("What should be shared, and why? (optional)"),
        validators=[Optional(), Length(max=share_requests.MAX_NOTE)],
    )


@bp.route("/share", methods=["GET", "POST"])
@requires(Permission.REQUEST_SHARING)
def share() -> ResponseReturnValue:
    """Find the provider (or type their name and address) and ask."""
    form = ShareRequestForm()
    # Searching is a POST, as the clinicians' client search is: whom a client looks for must not
    # appear in a URL or an access log (D4). The request form carries the search along.
    search = request.form.get("q", "")[:SEARCH_MAX] if request.method == "POST" else ""
    found = share_requests.find_providers(db.session(), actor(), search)
    status = 200
    if "find" in request.form:
        # only a search: the request form is filled in next
        form = ShareRequestForm(formdata=None)
    elif form.validate_on_submit():
        try:
            share_requests.request_sharing(
                db.session(),
                actor(),
                share_requests.NewShareRequest(
                    provider_id=form.provider_id.data,
                    provider_name=form.provider_name.data or "",
                    provider_address=form.provider_address.data or "",
                    note=form.note.data or "",
                ),
            )
        except Invalid as error:
            apply_errors(form, error)
            status = 422
        else:
            flash(
                _(
                    "Your request is sent to your practice. Your clinician will prepare a release "
                    "for you to read and sign."
                ),
                "success",
            )
            return redirect(url_for("portal.dashboard"))
    elif form.is_submitted():
        status = 422
    mine = share_requests.requests_for(db.session(), actor())
    return render_template(
        "portal/share.html", form=form, search=search, found=found, mine=mine
    ), status
