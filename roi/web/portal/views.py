"""The client portal: a client's own releases — read, sign, download, revoke.

Every consent is loaded through the scoped loaders, so another client's release is "not found"
(SECURITY C2). Consent ids come from the URL only; nothing in a form body names a consent.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from roi.accounts.policy import Permission
from roi.clock import now
from roi.consent import lifecycle, queries
from roi.consent.models import Consent, ConsentStatus
from roi.consent.representation import signer_rule_of
from roi.errors import Invalid, NotFound, WrongState
from roi.extensions import db
from roi.i18n import N_
from roi.web.downloads import pdf_response
from roi.web.forms import apply_errors
from roi.web.language import translated
from roi.web.portal import bp
from roi.web.portal.forms import RevokeForm, SignatureForm, signature_input
from roi.web.portal.releases import form_of, reading_language, release_title, release_titles
from roi.web.security import actor, client_ip, form_library, requires

#: the order the dashboard shows the ended states in, each with its own heading words
ENDED = (
    ConsentStatus.REVOKED,
    ConsentStatus.EXPIRED,
    ConsentStatus.SUPERSEDED,
    ConsentStatus.VOIDED,
)
PASSWORD_ASSURANCE = N_("Signed in to roi with a password")


@bp.app_template_filter("client_date")
def client_date(value: date | datetime | None) -> str:
    """'March 4, 2026' (a datetime is read in UTC, as stored)."""
    if value is None:
        return ""
    return f"{value:%B} {value.day}, {value.year}"


@bp.app_template_filter("client_time")
def client_time(value: datetime | None) -> str:
    """'March 4, 2026 at 14:05 UTC': every time roi stores is UTC, and says so."""
    if value is None:
        return ""
    return f"{client_date(value)} at {value:%H:%M} UTC"


@bp.get("/")
@requires(Permission.USE_PORTAL)
def dashboard() -> str:
    """The client's releases: waiting for a signature first, then active, then ended."""
    me = actor()
    client = queries.client_for(db.session(), me, me.client_id) if me.client_id else None
    consents = queries.consents_for(db.session(), me) if me.client_id else []
    at = now()
    groups: dict[ConsentStatus, list[Consent]] = {status: [] for status in ConsentStatus}
    for consent in consents:
        groups[consent.status_at(at)].append(consent)
    return render_template(
        "portal/dashboard.html",
        client=client,
        waiting=groups[ConsentStatus.PENDING_SIGNATURE],
        active=groups[ConsentStatus.ACTIVE],
        ended=[(status, groups[status]) for status in ENDED if groups[status]],
        titles=release_titles(form_library(), consents),
        at=at,
        notices=queries.notifications_for(db.session(), me),
    )


@bp.get("/consents/<int:consent_id>")
@requires(Permission.VIEW_CONSENTS)
def consent_detail(consent_id: int) -> str:
    """One release: the exact document, and what the client can do with it now."""
    return _detail(consent_id, SignatureForm(), RevokeForm())


@bp.post("/consents/<int:consent_id>/sign")
@requires(Permission.SIGN_CONSENT)
def sign(consent_id: int) -> ResponseReturnValue:
    """The signed-in client signs a release waiting for their signature."""
    form = SignatureForm()
    if not form.validate_on_submit():
        return _detail(consent_id, form, RevokeForm()), 422
    me = actor()
    try:
        lifecycle.sign_as_client(
            db.session(),
            me,
            consent_id,
            signature_input(form),
            lifecycle.Identity(
                method="password",
                assurance=PASSWORD_ASSURANCE,
                ip=client_ip(),
                user_agent=request.user_agent.string or None,
                signer_user_id=me.user_id,
            ),
            form_library(),
        )
    except Invalid as error:
        db.session.rollback()
        apply_errors(form, error)
        return _detail(consent_id, form, RevokeForm()), 422
    except WrongState as error:
        db.session.rollback()
        return _detail(consent_id, form, RevokeForm(), refusal=translated(error.message)), 409
    flash(
        _("Thank you. Your release is signed and active. You can download your copy below."),
        "success",
    )
    return redirect(url_for("portal.consent_detail", consent_id=consent_id, _anchor="your-copy"))


@bp.get("/consents/<int:consent_id>/revoke")
@requires(Permission.REVOKE_CONSENT)
def revoke_confirm(consent_id: int) -> ResponseReturnValue:
    """The one confirmation step before a release is revoked (works without JavaScript)."""
    consent = _visible_consent(consent_id)
    if consent.status_at(now()) is not ConsentStatus.ACTIVE:
        return redirect(url_for("portal.consent_detail", consent_id=consent.id))
    return render_template(
        "portal/revoke_confirm.html",
        consent=consent,
        title=release_title(form_library(), consent),
        form=RevokeForm(),
    )


@bp.post("/consents/<int:consent_id>/revoke")
@requires(Permission.REVOKE_CONSENT)
def revoke(consent_id: int) -> ResponseReturnValue:
    """Revoke an active release; effective the moment it is committed."""
    form = RevokeForm()
    valid = form.validate_on_submit()
    if valid and not form.confirm.data:
        form.confirm.errors = [_("Tick the box to confirm, or go back to keep the release.")]
    if not valid or not form.confirm.data:
        consent = _visible_consent(consent_id)
        return render_template(
            "portal/revoke_confirm.html",
            consent=consent,
            title=release_title(form_library(), consent),
            form=form,
        ), 422
    try:
        consent = lifecycle.revoke(
            db.session(), actor(), consent_id, reason=form.reason.data or None, method="portal"
        )
    except Invalid as error:
        db.session.rollback()
        apply_errors(form, error)
        consent = _visible_consent(consent_id)
        return render_template(
            "portal/revoke_confirm.html",
            consent=consent,
            title=release_title(form_library(), consent),
            form=form,
        ), 422
    except WrongState as error:
        db.session.rollback()
        return _detail(
            consent_id, SignatureForm(), RevokeForm(), refusal=translated(error.message)
        ), 409
    flash(_("Your release is revoked."), "success")
    return redirect(url_for("portal.consent_detail", consent_id=consent.id))


@bp.get("/consents/<int:consent_id>/document.pdf")
@requires(Permission.VIEW_CONSENTS)
def document(consent_id: int) -> Response:
    """The signed PDF exactly as signed, byte for byte."""
    consent, data = lifecycle.signed_pdf(db.session(), actor(), consent_id)
    return pdf_response(data, f"release-{consent.id}.pdf")


@bp.get("/consents/<int:consent_id>/revocation-receipt.pdf")
@requires(Permission.VIEW_CONSENTS)
def revocation_receipt(consent_id: int) -> Response:
    """The revocation receipt: the whole scope of the release, and when it was revoked."""
    consent, data = lifecycle.revocation_receipt(db.session(), actor(), consent_id, form_library())
    return pdf_response(data, f"release-{consent.id}-revocation.pdf")


def _detail(
    consent_id: int,
    sign_form: SignatureForm,
    revoke_form: RevokeForm,
    *,
    refusal: str | None = None,
) -> str:
    consent = _visible_consent(consent_id)
    at = now()
    status = consent.status_at(at)
    if status is ConsentStatus.PENDING_SIGNATURE and not sign_form.is_submitted():
        sign_form.relationship.data = consent.signer_relationship.value
    library = form_library()
    return render_template(
        "portal/consent_detail.html",
        consent=consent,
        status=status,
        title=release_title(library, consent),
        release_form=form_of(library, consent),
        # a release waiting for a signature reads in the page's language, the one it is signed
        # in; a signed one as it was signed
        document_html=lifecycle.preview_html(
            db.session(),
            actor(),
            consent.id,
            library,
            reading_language() if status is ConsentStatus.PENDING_SIGNATURE else None,
        ),
        document_language=(
            form_of(library, consent).language
            if status is ConsentStatus.PENDING_SIGNATURE
            else consent.language
        ),
        signature_form=sign_form,
        revoke_form=revoke_form,
        refusal=refusal,
        signer=signer_rule_of(consent) if status is ConsentStatus.PENDING_SIGNATURE else None,
    )


def _visible_consent(consent_id: int) -> Consent:
    """The client's own release; drafts are the clinician's work in progress, not yet theirs.

    Raises:
        NotFound: not the client's, or still a draft.
    """
    consent = queries.consent_for(db.session(), actor(), consent_id)
    # A draft can still change: the client first sees a release when it is sent for signature.
    if consent.status is ConsentStatus.DRAFT:
        raise NotFound("consent")
    return consent
