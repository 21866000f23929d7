"""Releases of information, clinician side: create, check, preview, send, void, expire, amend."""

from __future__ import annotations

import dataclasses

from flask import Response as FlaskResponse
from flask import flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from roi import i18n
from roi.accounts import service
from roi.accounts.models import Client, Provider
from roi.accounts.policy import Permission, manages_consent, records_revocation
from roi.clock import now
from roi.consent import handover, lifecycle, queries, share_requests
from roi.consent.library import FormTemplate, TemplateKind
from roi.consent.models import (
    Consent,
    ConsentStatus,
    Direction,
    ExpiryEventKind,
    OutsideMethod,
    RequiredSigner,
    SignerRelationship,
)
from roi.consent.representation import signer_rule_of
from roi.documents import attachments
from roi.errors import Forbidden, Invalid, NotFound, WrongState
from roi.extensions import db
from roi.i18n import N_
from roi.web.clinician import bp
from roi.web.clinician.consent_forms import (
    YES,
    ActionForm,
    ConfirmForm,
    ConsentForm,
    ExpiryEventForm,
    PaperConsentForm,
    RevocationRecordForm,
    TemplateChoiceForm,
    confirming,
)
from roi.web.downloads import pdf_response
from roi.web.forms import apply_errors, record_id
from roi.web.inputs import takes_scans
from roi.web.language import form_language, translated
from roi.web.security import (
    SESSION_TOKEN,
    actor,
    form_library,
    practice_today,
    requires,
    settings,
)
from roi.web.uploads import uploaded_file

STATUS_WORDS = {
    ConsentStatus.DRAFT: N_("Draft"),
    ConsentStatus.PENDING_SIGNATURE: N_("Waiting for signature"),
    ConsentStatus.ACTIVE: N_("Active"),
    ConsentStatus.REVOKED: N_("Revoked"),
    ConsentStatus.EXPIRED: N_("Expired"),
    ConsentStatus.VOIDED: N_("Voided"),
    ConsentStatus.SUPERSEDED: N_("Superseded"),
}
#: how a revocation received outside roi arrived, as the release's history says it
METHOD_WORDS = {
    OutsideMethod.LETTER: N_("letter"),
    OutsideMethod.FAX: N_("fax"),
    OutsideMethod.EMAIL: N_("email"),
    OutsideMethod.IN_PERSON: N_("in person"),
    OutsideMethod.PHONE: N_("phone"),
}


@bp.app_template_filter("consent_status")
def consent_status(consent: Consent) -> str:
    """The release's state at this moment, in the page's language."""
    return translated(STATUS_WORDS[consent.status_at(now())])


#: each kind of release, in words
KIND_WORDS = {
    TemplateKind.GENERAL: N_("General release"),
    TemplateKind.PSYCHOTHERAPY_NOTES: N_("Psychotherapy notes"),
    TemplateKind.PART2: N_("42 CFR Part 2 consent"),
}
#: who must sign a release, in words
SIGNER_WORDS = {
    RequiredSigner.CLIENT: N_("The client"),
    RequiredSigner.REPRESENTATIVE: N_("A parent, guardian or other personal representative"),
    RequiredSigner.CLIENT_OR_REPRESENTATIVE: N_("The client or their personal representative"),
}


@bp.app_template_filter("release_kind")
def release_kind(kind: str) -> str:
    """A kind of release (`TemplateKind` or its value) in the page's language."""
    return translated(KIND_WORDS[TemplateKind(kind)])


@bp.app_template_filter("required_signer")
def required_signer_words(who: str) -> str:
    """Who must sign (`RequiredSigner` or its value) in the page's language."""
    return translated(SIGNER_WORDS[RequiredSigner(who)])


@bp.app_template_filter("consent_state")
def consent_state(consent: Consent) -> str:
    return consent.status_at(now()).value


@bp.get("/clients/<int:client_id>/consents/new")
@requires(Permission.PREPARE_CONSENT)
def consent_new(client_id: int) -> str:
    client = queries.client_to_prepare_for(db.session(), actor(), client_id)
    library = form_library()
    chooser = TemplateChoiceForm(request.args)
    templates = [t.in_language(form_language()) for t in library.all()]
    chooser.template_id.choices = [(t.id, t.title) for t in templates]
    template_id = request.args.get("template_id")
    if not template_id:
        introductions = {
            t.id: t.fill(
                t.introduction,
                discloser_organization=client.organization.name,
                recipient_name=_("the recipient"),
            )
            for t in templates
        }
        return render_template(
            "clinician/consent_new.html",
            client=client,
            chooser=chooser,
            templates=templates,
            introductions=introductions,
        )
    template = _template_or_404(template_id)
    # a refused message links here with its recipient, so the release names them already
    recipient = request.args.get("recipient_provider_id", type=record_id)
    asked = request.args.get("share_request_id", type=record_id)
    data = (
        _asked(client.id, asked)
        if asked
        else ({"recipient_provider_id": recipient} if recipient else None)
    )
    paper = request.args.get("paper") == "1"
    form = PaperConsentForm(data=data) if paper else ConsentForm(data=data)
    form.offer(template, _recipients(), at_request=asked is not None)
    return _form_page(client, template, form, paper=paper)


def _asked(client_id: int, request_id: int) -> dict[str, object]:
    """A release answering the client's request starts with its recipient and purpose."""
    found = share_requests.request_for(db.session(), actor(), request_id)
    if found.client_id != client_id:
        raise NotFound("share request")
    data: dict[str, object] = {
        "share_request_id": str(found.id),
        "purposes": [share_requests.AT_REQUEST],
    }
    if found.provider_id is not None:
        data["recipient_provider_id"] = found.provider_id
    else:
        data["new_provider_name"] = found.provider_name
        data["new_provider_address"] = found.provider_address
    return data


@bp.post("/clients/<int:client_id>/consents")
@requires(Permission.PREPARE_CONSENT)
def consent_create(client_id: int) -> Response | tuple[str, int]:
    client = queries.client_to_prepare_for(db.session(), actor(), client_id)
    template = _template_or_404(request.form.get("template_id", ""))
    form = ConsentForm()
    form.offer(template, _recipients(), at_request=bool(form.share_request_id.data))
    if form.validate_on_submit():
        try:
            consent = lifecycle.create(
                db.session(),
                actor(),
                _fields(client.id, template, form),
                form_library(),
                new_recipient=form.new_recipient(),
            )
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash(_("Draft saved. Check the list below, then send it for signature."), "success")
            return redirect(url_for("clinician.consent_detail", consent_id=consent.id))
    return _form_page(client, template, form), 422


@bp.post("/clients/<int:client_id>/consents/paper")
@requires(Permission.PREPARE_CONSENT)
@takes_scans
def consent_paper_create(client_id: int) -> Response | tuple[str, int]:
    """Record a release signed on paper from its scan; it is active at once."""
    client = queries.client_to_prepare_for(db.session(), actor(), client_id)
    template = _template_or_404(request.form.get("template_id", ""))
    form = PaperConsentForm()
    form.offer(template, _recipients(), at_request=False)
    scan = uploaded_file("scan", attachments.MAX_SCAN_BYTES)
    if form.validate_on_submit() and form.signed_on.data is not None and scan is not None:
        paper = lifecycle.PaperSignature(
            signed_on=form.signed_on.data,
            signer_name=form.signer_name.data or "",
            relationship=SignerRelationship(form.signer_relationship.data or "self"),
            representative_authority=form.representative_authority.data or None,
            scan=scan,
        )
        try:
            consent = lifecycle.record_paper(
                db.session(), actor(), _fields(client.id, template, form), paper, form_library()
            )
        except Invalid as error:
            db.session.rollback()
            apply_errors(form, error)
        else:
            flash(_("The paper release is recorded and active."), "success")
            return redirect(url_for("clinician.consent_detail", consent_id=consent.id))
    if scan is None:
        form.scan.errors = [*form.scan.errors, _("Attach the scan of the signed paper.")]
    return _form_page(client, template, form, paper=True), 422


@bp.get("/consents/<int:consent_id>/blank.pdf")
@requires(Permission.PREPARE_CONSENT)
def consent_blank(consent_id: int) -> FlaskResponse | Response:
    """A draft, pre-filled, with empty lines to sign on paper."""
    try:
        consent, blank = lifecycle.blank_release(db.session(), actor(), consent_id, form_library())
    except (Invalid, WrongState) as error:
        db.session.rollback()
        if isinstance(error, Invalid):
            missing = " ".join(translated(why) for why in error.fields.values())
            flash(_("Complete it first: %(missing)s", missing=missing), "error")
        else:
            flash(translated(error.message), "error")
        return redirect(url_for("clinician.consent_detail", consent_id=consent_id))
    return pdf_response(blank, f"release-{consent.id}-for-signing.pdf")


@bp.post("/consents/check")
@requires(Permission.PREPARE_CONSENT)
def consent_check() -> FlaskResponse:
    """The release form's live completeness check: what is still missing, as JSON."""
    template = _template_or_404(request.form.get("template_id", ""))
    form = ConsentForm()
    form.offer(template, _recipients(), at_request=bool(form.share_request_id.data))
    form.validate()  # shape only; the elements are checked below
    recipient = form.recipient_provider_id.data or (1 if form.new_recipient() else 0)
    fields = _fields(0, template, form)
    missing = lifecycle.check_draft(
        dataclasses.replace(fields, recipient_provider_id=recipient),
        form_library(),
        today=practice_today(),
    )
    return jsonify(
        {
            "missing": [
                {"field": m.field, "rule": m.rule, "message": translated(m.message)}
                for m in missing
            ]
        }
    )


@bp.route("/consents/<int:consent_id>/edit", methods=["GET", "POST"])
@requires(Permission.PREPARE_CONSENT)
def consent_edit(consent_id: int) -> Response | str | tuple[str, int]:
    consent = queries.consent_for(db.session(), actor(), consent_id)
    template = form_library().get(consent.template_id, consent.template_version)
    template = template.in_language(form_language())
    if request.method == "GET":
        form = ConsentForm(
            data={
                "recipient_provider_id": consent.recipient_provider_id,
                "direction": consent.direction.value,
                "categories": list(consent.categories),
                "purposes": list(consent.purposes),
                "information_description": lifecycle.description_of(consent),
                "expires_on": consent.expires_on,
                "expiry_event": consent.expiry_event or "",
                "expiry_event_kind": consent.expiry_event_kind or "",
                "signer_relationship": consent.signer_relationship.value,
            }
        )
        form.offer(template, _recipients(), at_request=consent.share_request_id is not None)
        return _form_page(consent.client, template, form, consent)
    form = ConsentForm()
    form.offer(template, _recipients(), at_request=consent.share_request_id is not None)
    if form.validate_on_submit():
        try:
            lifecycle.update_draft(
                db.session(),
                actor(),
                consent_id,
                _fields(consent.client_id, template, form),
                form_library(),
            )
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash(_("Draft saved."), "success")
            return redirect(url_for("clinician.consent_detail", consent_id=consent_id))
    return _form_page(consent.client, template, form, consent), 422


@bp.get("/consents/<int:consent_id>")
@requires(Permission.VIEW_CONSENTS)
def consent_detail(consent_id: int) -> str:
    consent = queries.consent_for(db.session(), actor(), consent_id)
    library = form_library()
    template = library.get(consent.template_id, consent.template_version)
    template = template.in_language(form_language())
    missing = (
        lifecycle.completeness(consent, library) if consent.status is ConsentStatus.DRAFT else []
    )
    return render_template(
        "clinician/consent_detail.html",
        consent=consent,
        template=template,
        description=lifecycle.description_of(consent),
        missing=missing,
        manages=manages_consent(actor(), consent.organization_id),
        action=ActionForm(),
        expiry_form=ExpiryEventForm(),
        revocation_form=RevocationRecordForm(),
        records_revocation=records_revocation(actor(), consent.organization_id),
        status=consent.status_at(now()),
        signer=signer_rule_of(consent),
        revocation_methods={method.value: _(words) for method, words in METHOD_WORDS.items()},
    )


@bp.get("/consents/<int:consent_id>/preview")
@requires(Permission.VIEW_CONSENTS)
def consent_preview(consent_id: int) -> str:
    """What the client will read, in either language (`?language=es`); a complete draft can be
    sent from here ("Looks right — send")."""
    consent = queries.consent_for(db.session(), actor(), consent_id)
    asked = request.args.get("language")
    language = i18n.supported(asked) if asked else consent.language
    html = lifecycle.preview_html(db.session(), actor(), consent_id, form_library(), language)
    return render_template(
        "clinician/consent_preview.html",
        document=html,
        document_language=language,
        **_sending(consent),
    )


@bp.route("/consents/<int:consent_id>/send", methods=["GET", "POST"])
@requires(Permission.PREPARE_CONSENT)
def consent_send(consent_id: int) -> Response | str:
    """Mail the client the release to sign, once the clinician confirmed what will go out: the
    client's address, the recipient, the information and the expiry."""
    form = ConfirmForm()
    if request.method == "GET" or not (form.validate_on_submit() and form.confirmed.data == YES):
        consent = queries.consent_for(db.session(), actor(), consent_id)
        return render_template("clinician/consent_send_confirm.html", **_sending(consent))
    try:
        sent = lifecycle.send_for_signature(
            db.session(),
            actor(),
            consent_id,
            form_library(),
            invitation_lifetime=settings().invitation_lifetime,
        )
    except Invalid as error:
        flash(
            _("Not sent yet: %(why)s", why=" ".join(translated(v) for v in error.fields.values())),
            "error",
        )
        return redirect(url_for("clinician.consent_detail", consent_id=consent_id))
    except WrongState as error:
        flash(translated(error.message), "error")
        return redirect(url_for("clinician.consent_detail", consent_id=consent_id))
    if sent.invitation_token:
        flash(_("Sent. The client has an email with a link to read and sign it."), "success")
    else:
        flash(
            _(
                "Sent. The client has no email address on file: they can sign after signing in "
                "to roi."
            ),
            "success",
        )
    return redirect(url_for("clinician.consent_detail", consent_id=consent_id))


@bp.post("/consents/<int:consent_id>/hand-to-client")
@requires(Permission.PREPARE_CONSENT)
def consent_hand_to_client(consent_id: int) -> Response:
    """Turn this browser into a client-only view of the release, for signing in the office."""
    form = ActionForm()
    if not form.validate_on_submit():
        return redirect(url_for("clinician.consent_detail", consent_id=consent_id))
    try:
        handover.hand_to_client(db.session(), actor(), consent_id, session[SESSION_TOKEN])
    except WrongState as error:
        flash(translated(error.message), "error")
        return redirect(url_for("clinician.consent_detail", consent_id=consent_id))
    return redirect(url_for("device.show"))


@bp.route("/consents/<int:consent_id>/void", methods=["GET", "POST"])
@requires(Permission.PREPARE_CONSENT)
def consent_void(consent_id: int) -> Response | str:
    """Void a release not yet signed, once the clinician confirmed what voiding means."""
    form = ConfirmForm()
    if request.method == "GET" or not (form.validate_on_submit() and form.confirmed.data == YES):
        consent = queries.consent_for(db.session(), actor(), consent_id)
        if not manages_consent(actor(), consent.organization_id):
            raise Forbidden()
        if consent.status not in (ConsentStatus.DRAFT, ConsentStatus.PENDING_SIGNATURE):
            # only a release not yet signed can be voided: its page says what state it is in
            return redirect(url_for("clinician.consent_detail", consent_id=consent_id))
        return render_template(
            "clinician/consent_void_confirm.html", consent=consent, confirm=confirming()
        )
    return _act(consent_id, lambda: lifecycle.void(db.session(), actor(), consent_id), _("Voided."))


@bp.post("/consents/<int:consent_id>/expiry-event")
@requires(Permission.PREPARE_CONSENT)
def consent_expiry_event(consent_id: int) -> Response:
    form = ExpiryEventForm()
    if not form.validate_on_submit() or form.occurred_on.data is None:
        flash(_("Give the date the event happened."), "error")
        return redirect(url_for("clinician.consent_detail", consent_id=consent_id))
    occurred_on = form.occurred_on.data
    return _act(
        consent_id,
        lambda: lifecycle.record_expiry_event(db.session(), actor(), consent_id, occurred_on),
        _("The expiration event is recorded. This release no longer permits any disclosure."),
    )


@bp.post("/consents/<int:consent_id>/revocation")
@requires(Permission.RECORD_REVOCATION)
@takes_scans
def consent_record_revocation(consent_id: int) -> Response:
    """Record a revocation received by letter, fax, email, in person or by phone."""
    form = RevocationRecordForm()
    if not form.validate_on_submit() or form.received_on.data is None:
        flash(_("Give how the revocation arrived and the day it was received."), "error")
        return redirect(url_for("clinician.consent_detail", consent_id=consent_id))
    consent = queries.consent_for(db.session(), actor(), consent_id)
    if not records_revocation(actor(), consent.organization_id):
        raise NotFound("consent")  # as the lifecycle answers: not told apart from none (C1)
    before = consent.revocation
    if not (before and before.awaits_confirmation) and not form.confirmed.data:
        # recording a revocation ends the release at once: the box says so, and is ticked
        flash(
            _("Tick the box to confirm: this release will permit no further disclosure."), "error"
        )
        return redirect(url_for("clinician.consent_detail", consent_id=consent_id))
    method = OutsideMethod(form.method.data)
    received = lifecycle.ReceivedRevocation(
        method=method,
        received_on=form.received_on.data,
        reason=form.reason.data or None,
        document=uploaded_file("document", attachments.MAX_SCAN_BYTES),
    )
    try:
        consent = lifecycle.record_revocation(db.session(), actor(), consent_id, received)
    except (WrongState, Invalid) as error:
        db.session.rollback()
        return _refused(consent_id, error)
    revocation = consent.revocation
    if revocation is not None and revocation.confirmed_on is not None:
        flash(_("The written confirmation is recorded."), "success")
    elif method is OutsideMethod.PHONE:
        flash(
            _(
                "The revocation is recorded. This release permits no further disclosure. The "
                "client is asked by email to confirm it in writing."
            ),
            "success",
        )
    else:
        flash(
            _("The revocation is recorded. This release permits no further disclosure."),
            "success",
        )
    return redirect(url_for("clinician.consent_detail", consent_id=consent_id))


@bp.get("/consents/<int:consent_id>/revocation-document")
@requires(Permission.RECORD_REVOCATION)
def consent_revocation_document(consent_id: int) -> FlaskResponse:
    """The scan of the letter, fax or email that revoked the release (an email's text, as text)."""
    consent, content, content_type = lifecycle.revocation_document(
        db.session(), actor(), consent_id
    )
    ending = attachments.ENDINGS[content_type]
    return pdf_response(content, f"release-{consent.id}-revocation-scan.{ending}", content_type)


@bp.post("/consents/<int:consent_id>/copy-link")
@requires(Permission.PREPARE_CONSENT)
def consent_copy_link(consent_id: int) -> Response:
    """Mail the client a new link to their signed copy (valid 30 days)."""
    return _act(
        consent_id,
        lambda: lifecycle.resend_copy_link(db.session(), actor(), consent_id),
        _("The client has an email with a link to their signed copy, valid for 30 days."),
    )


@bp.post("/consents/<int:consent_id>/signing-link")
@requires(Permission.PREPARE_CONSENT)
def consent_signing_link(consent_id: int) -> Response:
    """Mail the client a new link to sign; the earlier one stops working."""
    return _act(
        consent_id,
        lambda: lifecycle.resend_signing_link(
            db.session(),
            actor(),
            consent_id,
            invitation_lifetime=settings().invitation_lifetime,
        ),
        _("The client has a new email with a link to sign. The earlier link no longer works."),
    )


@bp.post("/consents/<int:consent_id>/new-version")
@requires(Permission.PREPARE_CONSENT)
def consent_new_version(consent_id: int) -> Response:
    try:
        draft = lifecycle.new_version(db.session(), actor(), consent_id, form_library())
    except WrongState as error:
        flash(translated(error.message), "error")
        return redirect(url_for("clinician.consent_detail", consent_id=consent_id))
    flash(
        _("A new version is drafted. Once the client signs it, it replaces the current release."),
        "success",
    )
    return redirect(url_for("clinician.consent_detail", consent_id=draft.id))


@bp.get("/consents/<int:consent_id>/document.pdf")
@requires(Permission.VIEW_CONSENTS)
def consent_document(consent_id: int) -> FlaskResponse:
    consent, document = lifecycle.signed_pdf(db.session(), actor(), consent_id)
    return pdf_response(document, f"release-{consent.id}.pdf")


@bp.get("/consents/<int:consent_id>/revocation-receipt.pdf")
@requires(Permission.VIEW_CONSENTS)
def consent_revocation_receipt(consent_id: int) -> FlaskResponse:
    consent, receipt = lifecycle.revocation_receipt(
        db.session(), actor(), consent_id, form_library()
    )
    return pdf_response(receipt, f"release-{consent.id}-revocation.pdf")


def _act(consent_id: int, step: object, done: str) -> Response:
    try:
        step()  # type: ignore[operator]
    except (WrongState, Invalid) as error:
        return _refused(consent_id, error)
    flash(done, "success")
    return redirect(url_for("clinician.consent_detail", consent_id=consent_id))


def _refused(consent_id: int, error: WrongState | Invalid) -> Response:
    """Back to the release's page, saying why the step was refused (in the page's language)."""
    flash(
        translated(error.message)
        if isinstance(error, WrongState)
        else " ".join(translated(why) for why in error.fields.values()),
        "error",
    )
    return redirect(url_for("clinician.consent_detail", consent_id=consent_id))


def _sending(consent: Consent) -> dict[str, object]:
    """What a clinician confirms before the release is mailed: where it goes, to whom it lets
    the information go, what information and until when; and whether it can go now."""
    library = form_library()
    template = library.get(consent.template_id, consent.template_version)
    template = template.in_language(form_language())
    manages = manages_consent(actor(), consent.organization_id)
    ready = (
        manages
        and consent.status is ConsentStatus.DRAFT
        and not lifecycle.completeness(consent, library)
    )
    return {
        "consent": consent,
        "template": template,
        "ready": ready,
        "not_now": None if ready else _why_not_now(consent, manages=manages),
        "manages": manages,
        "confirm": confirming(),
    }


def _why_not_now(consent: Consent, *, manages: bool) -> str:
    """Why the release cannot be sent now, exactly: opened again with Back after sending, the
    page says it was sent."""
    if not manages:
        return _("Only the practice that prepared this release can send it.")
    if consent.status is not ConsentStatus.DRAFT:
        return translated(lifecycle.state_refusal(consent, "sent"))
    return _("This draft is not complete yet: its page names what is missing.")


def _form_page(
    client: Client,
    template: FormTemplate,
    form: ConsentForm,
    consent: Consent | None = None,
    *,
    paper: bool = False,
) -> str:
    """The release form (a new draft, an edit, or a release signed on paper: `paper`), its
    example expiration events worded with the real names."""
    # the directory is shared, so any entry chosen may be named
    chosen = form.recipient_provider_id.data
    recipient = db.session().get(Provider, chosen) if chosen else None
    examples = [
        template.fill(
            event,
            discloser_organization=client.organization.name,
            recipient_name=recipient.name if recipient else _("the recipient"),
        )
        for event in template.expiry_events
    ]
    return render_template(
        "clinician/consent_form.html",
        client=client,
        template=template,
        form=form,
        consent=consent,
        paper=paper,
        event_examples=examples,
    )


def _template_or_404(template_id: str) -> FormTemplate:
    """The newest version of a form, in the page's language."""
    try:
        return form_library().get(template_id).in_language(form_language())
    except NotFound:
        raise NotFound("form template") from None


def _recipients() -> list[tuple[int, str]]:
    """Directory entries a release may name, except the clinician's own."""
    me = actor().user_id
    return [
        (p.id, f"{p.name}{', ' + p.credentials if p.credentials else ''} — {p.organization_name}")
        for p in service.providers(db.session(), actor())
        if p.user_id != me
    ]


def _fields(client_id: int, template: FormTemplate, form: ConsentForm) -> lifecycle.ConsentFields:
    return lifecycle.ConsentFields(
        client_id=client_id,
        template_id=template.id,
        recipient_provider_id=form.recipient_provider_id.data or 0,
        categories=tuple(form.categories.data or ()),
        purposes=tuple(form.purposes.data or ()),
        information_description=form.information_description.data or "",
        expires_on=form.expires_on.data,
        expiry_event=form.expiry_event.data or None,
        expiry_event_kind=ExpiryEventKind(form.expiry_event_kind.data)
        if form.expiry_event_kind.data
        else None,
        direction=Direction(form.direction.data or "one_way"),
        signer_relationship=SignerRelationship(form.signer_relationship.data or "self"),
        share_request_id=int(form.share_request_id.data)
        if (form.share_request_id.data or "").isdigit()
        else None,
    )
