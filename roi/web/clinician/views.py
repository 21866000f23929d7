"""Clients and the provider directory."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from roi.accounts import service
from roi.accounts.policy import Permission, manages_consent
from roi.clock import now
from roi.compliance import disclosures
from roi.compliance.accounting import BASIS_LABELS
from roi.consent import queries
from roi.consent.models import EXPIRING_WITHIN_DAYS, ConsentStatus
from roi.errors import Invalid
from roi.extensions import db
from roi.messaging import queries as message_queries
from roi.web.clinician import bp
from roi.web.clinician.forms import ClientForm, ProviderForm
from roi.web.forms import apply_errors
from roi.web.outside_disclosures import record_page
from roi.web.security import actor, requires

SEARCH_MAX = 100


@bp.get("/")
@requires(Permission.USE_CLINICIAN_WORKSPACE)
def dashboard() -> str:
    me = actor()
    clients = queries.clients_for(db.session(), me)
    consents = queries.consents_for(db.session(), me)
    at = now()
    soon = at + timedelta(days=EXPIRING_WITHIN_DAYS)
    return render_template(
        "clinician/dashboard.html",
        client_count=len(clients),
        waiting=[c for c in consents if c.status_at(at) is ConsentStatus.PENDING_SIGNATURE],
        drafts=[c for c in consents if c.status is ConsentStatus.DRAFT],
        active=[c for c in consents if c.status_at(at) is ConsentStatus.ACTIVE],
        expiring=[
            c
            for c in consents
            if c.status_at(at) is ConsentStatus.ACTIVE
            and c.status_at(soon) is ConsentStatus.EXPIRED
        ],
        shared_with_me=[c for c in consents if not manages_consent(me, c.organization_id)],
        notices=queries.notifications_for(db.session(), me),
        unread=message_queries.unread_count(db.session(), me),
    )


@bp.route("/clients", methods=["GET", "POST"])
@requires(Permission.USE_CLINICIAN_WORKSPACE)
def clients() -> str:
    # Searching is a POST: a client's name must never appear in a URL or an access log (D4).
    search = request.form.get("q", "")[:SEARCH_MAX] if request.method == "POST" else ""
    found = queries.clients_for(db.session(), actor(), search or None)
    return render_template("clinician/clients.html", clients=found, search=search)


@bp.route("/clients/new", methods=["GET", "POST"])
@requires(Permission.CREATE_CLIENT)
def client_new() -> Response | str | tuple[str, int]:
    form = ClientForm()
    if not form.validate_on_submit():
        return render_template("clinician/client_new.html", form=form)
    try:
        client = service.create_client(
            db.session(),
            actor(),
            service.NewClient(
                given_name=form.given_name.data or "",
                family_name=form.family_name.data or "",
                birth_date=form.birth_date.data,
                email=form.email.data,
            ),
        )
    except Invalid as error:
        apply_errors(form, error)
        return render_template("clinician/client_new.html", form=form), 422
    flash("Client added.", "success")
    return redirect(url_for("clinician.client_detail", client_id=client.id))


@bp.get("/clients/<int:client_id>")
@requires(Permission.USE_CLINICIAN_WORKSPACE)
def client_detail(client_id: int) -> str:
    client = queries.client_for(db.session(), actor(), client_id)
    consents = queries.consents_for(db.session(), actor(), client_id=client.id)
    # outside disclosures belong to the client's practice: none to list for a client seen
    # only through a release that names this clinician elsewhere
    own = client.organization_id == actor().organization_id
    recorded = disclosures.disclosures_of(db.session(), actor(), client.id) if own else []
    return render_template(
        "clinician/client_detail.html",
        client=client,
        consents=consents,
        own=own,
        recorded=recorded,
        basis_labels=BASIS_LABELS,
    )


@bp.route("/clients/<int:client_id>/disclosures/new", methods=["GET", "POST"])
@requires(Permission.USE_CLINICIAN_WORKSPACE)
def outside_disclosure_new(client_id: int) -> ResponseReturnValue:
    """Record a disclosure about this client made by phone, fax, mail or in court."""
    return record_page(
        client_id, endpoint="clinician.outside_disclosure_new", back="clinician.client_detail"
    )


@bp.get("/directory")
@requires(Permission.VIEW_DIRECTORY)
def directory() -> str:
    search = request.args.get("q", "")[:SEARCH_MAX]
    found = service.providers(db.session(), actor(), search or None)
    return render_template("clinician/directory.html", providers=found, search=search)


@bp.route("/directory/new", methods=["GET", "POST"])
@requires(Permission.ADD_PROVIDER)
def provider_new() -> Response | str | tuple[str, int]:
    form = ProviderForm()
    if not form.validate_on_submit():
        return render_template("clinician/provider_new.html", form=form)
    try:
        service.add_provider(
            db.session(),
            actor(),
            form.entry(),
        )
    except Invalid as error:
        apply_errors(form, error)
        return render_template("clinician/provider_new.html", form=form), 422
    flash("Provider added to the directory.", "success")
    return redirect(url_for("clinician.directory"))
