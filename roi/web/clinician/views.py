"""Clients and the provider directory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from roi.accounts import service
from roi.accounts.models import Client, RepresentativeKind
from roi.accounts.policy import Permission, allows, manages_consent
from roi.clock import now
from roi.compliance import disclosures
from roi.compliance.accounting import BASIS_LABELS
from roi.consent import lifecycle, queries, representation, restrictions, share_requests
from roi.consent.library import TemplateKind
from roi.consent.models import EXPIRING_WITHIN_DAYS, ConsentStatus, ShareRequestStatus
from roi.consent.signers import age_on, required_signer, shipped_rules
from roi.documents import attachments
from roi.errors import Invalid
from roi.extensions import db
from roi.messaging import drafts
from roi.messaging import queries as message_queries
from roi.messaging.models import MessageDraft
from roi.web.clinician import bp
from roi.web.clinician.consent_forms import ActionForm, DischargeForm
from roi.web.clinician.forms import ClientForm, OwnCareForm, ProviderForm, RepresentativeForm
from roi.web.forms import apply_errors, refused_status
from roi.web.inputs import takes_scans
from roi.web.language import form_language, translated
from roi.web.outside_disclosures import record_page
from roi.web.restriction_forms import ReasonForm, RestrictionForm, rows
from roi.web.security import actor, form_library, practice_today, requires
from roi.web.uploads import uploaded_file

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
        share_requests=share_requests.requests_for(
            db.session(), me, status=ShareRequestStatus.OPEN
        ),
    )


@bp.get("/share-requests/<int:request_id>")
@requires(Permission.PREPARE_CONSENT)
def share_request(request_id: int) -> str:
    """A client's request to share their records, to be turned into a release."""
    found = share_requests.request_for(db.session(), actor(), request_id)
    return render_template(
        "clinician/share_request.html",
        share_request=found,
        note=share_requests.note_of(found),
        templates=[t.in_language(form_language()) for t in form_library().all()],
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
        return render_template("clinician/client_new.html", form=form), refused_status(form)
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
    flash(_("Client added."), "success")
    return redirect(url_for("clinician.client_detail", client_id=client.id))


@bp.get("/clients/<int:client_id>")
@requires(Permission.USE_CLINICIAN_WORKSPACE)
def client_detail(client_id: int) -> str:
    return client_page(queries.client_for(db.session(), actor(), client_id))


def _draft_about(client: Client) -> MessageDraft | None:
    """The message the clinician kept about this client while creating its release, if any."""
    if not allows(actor().role, Permission.SEND_MESSAGES):
        return None
    kept = drafts.drafts_for(db.session(), actor(), client.id)
    return kept[0] if kept else None


def client_page(client: Client, *, restriction_form: RestrictionForm | None = None) -> str:
    """The client's page: releases, who signs them, discharge, and for the client's own
    practice the disclosures made outside roi and the restrictions the client asked for."""
    session, me = db.session(), actor()
    consents = queries.consents_for(session, me, client_id=client.id)
    own = manages_consent(me, client.organization_id)
    state = shipped_rules().for_state(client.organization.state)
    today = practice_today()
    # ages and who signs on the client's calendar, as signing decides them
    their_day = representation.client_day(client, now())
    # outside disclosures belong to the client's practice: none to list for a client seen
    # only through a release that names this clinician elsewhere
    recorded = disclosures.disclosures_of(session, me, client.id) if own else []
    if own and restriction_form is None:
        restriction_form = RestrictionForm(formdata=None)
        offer_restrictions(restriction_form)
    return render_template(
        "clinician/client_detail.html",
        client=client,
        consents=consents,
        discharge=DischargeForm(data={"on": today}) if own else None,
        own=own,
        state=state,
        age=age_on(client.birth_date, their_day),
        signers={kind: required_signer(kind, client, state, their_day) for kind in TemplateKind},
        own_care=OwnCareForm(data={"own_care_consent": client.own_care_consent}),
        representative=RepresentativeForm(),
        recorded=recorded,
        draft=_draft_about(client),
        basis_labels=BASIS_LABELS,
        restrictions=rows(form_library(), restrictions.restrictions_for(session, me, client.id))
        if own
        else None,
        restriction_form=restriction_form,
        reason_form=ReasonForm(formdata=None),
    )


def offer_restrictions(form: RestrictionForm) -> None:
    """The choices of the restriction form: the library's categories, the directory."""
    form.offer(form_library(), service.providers(db.session(), actor()))


@bp.post("/clients/<int:client_id>/own-care")
@requires(Permission.PREPARE_CONSENT)
def client_own_care(client_id: int) -> Response:
    form = OwnCareForm()
    if form.validate_on_submit():
        value = bool(form.own_care_consent.data)
        _client_step(
            client_id,
            lambda: representation.set_own_care_consent(db.session(), actor(), client_id, value),
            _("Recorded: the minor signs releases for their own care.")
            if value
            else _("Recorded: a parent or guardian signs for this minor."),
        )
    return redirect(url_for("clinician.client_detail", client_id=client_id))


@bp.post("/clients/<int:client_id>/representative")
@requires(Permission.PREPARE_CONSENT)
@takes_scans
def client_representative(client_id: int) -> Response:
    form = RepresentativeForm()
    if not form.validate_on_submit():
        flash(_("Give the representative's name and their authority document."), "error")
        return redirect(url_for("clinician.client_detail", client_id=client_id))
    new = representation.NewRepresentative(
        kind=RepresentativeKind(form.kind.data),
        name=form.name.data or "",
        document=uploaded_file("document", attachments.MAX_SCAN_BYTES),
    )
    _client_step(
        client_id,
        lambda: representation.record_representative(db.session(), actor(), client_id, new),
        _("The personal representative is recorded, with their authority document."),
    )
    return redirect(url_for("clinician.client_detail", client_id=client_id))


@bp.post("/clients/<int:client_id>/representative/end")
@requires(Permission.PREPARE_CONSENT)
def client_representative_end(client_id: int) -> Response:
    if ActionForm().validate_on_submit():
        _client_step(
            client_id,
            lambda: representation.end_representative(db.session(), actor(), client_id),
            _("The personal representative no longer acts for this client."),
        )
    return redirect(url_for("clinician.client_detail", client_id=client_id))


def _client_step(client_id: int, step: Callable[[], object], done: str) -> None:
    try:
        step()
    except Invalid as error:
        flash(" ".join(translated(why) for why in error.fields.values()), "error")
    else:
        flash(done, "success")


@bp.post("/clients/<int:client_id>/discharge")
@requires(Permission.PREPARE_CONSENT)
def client_discharge(client_id: int) -> Response:
    form = DischargeForm()
    if not form.validate_on_submit() or form.on.data is None:
        flash(_("Give the day treatment ended."), "error")
        return redirect(url_for("clinician.client_detail", client_id=client_id))
    try:
        expired = lifecycle.record_discharge(db.session(), actor(), client_id, form.on.data)
    except Invalid as error:
        flash(" ".join(translated(why) for why in error.fields.values()), "error")
    else:
        ended = ", ".join(f"#{consent_id}" for consent_id in expired)
        flash(
            _("Discharge recorded. Releases ended with it: %(ended)s.", ended=ended)
            if expired
            else _("Discharge recorded. No active release lasted until the end of treatment."),
            "success",
        )
    return redirect(url_for("clinician.client_detail", client_id=client_id))


@bp.route("/clients/<int:client_id>/disclosures/new", methods=["GET", "POST"])
@requires(Permission.USE_CLINICIAN_WORKSPACE)
@takes_scans
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
        return render_template("clinician/provider_new.html", form=form), refused_status(form)
    try:
        service.add_provider(
            db.session(),
            actor(),
            form.entry(),
        )
    except Invalid as error:
        apply_errors(form, error)
        return render_template("clinician/provider_new.html", form=form), 422
    flash(_("Provider added to the directory."), "success")
    return redirect(url_for("clinician.directory"))
