"""Routes of the emailed-link flows, for clients without an account: signing, and once signed,
the signer's copy and revoking it.

The link's token is taken out of the URL at once: `start` keeps it in the (signed, HttpOnly)
session cookie and redirects, so it never reaches a later URL, a Referer or an access log line
after the first. The link alone opens nothing: the date of birth and a one-time code sent by
email must match first (`roi.consent.invitations`), and that check is also bound to this browser
session, so a link forwarded after someone verified it cannot be used to sign.

Every dead link — unknown, used, expired, locked, or its release voided — gets the same kind page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from roi.actor import Actor, Role
from roi.clock import iso, now, time_zones
from roi.consent import invitations, lifecycle, rendering
from roi.consent.models import Consent, LinkPurpose, SigningInvitation
from roi.consent.representation import signer_rule_of
from roi.errors import Invalid, NotFound, Throttled, WrongState
from roi.extensions import db
from roi.web.downloads import pdf_response
from roi.web.forms import apply_errors
from roi.web.language import translated
from roi.web.portal.forms import RevokeForm, signature_input
from roi.web.portal.releases import form_of, reading_language, release_title
from roi.web.security import client_ip, form_library, settings
from roi.web.signing import bp
from roi.web.signing.forms import CodeRequestForm, IdentityForm, LinkRequestForm, SignatureForm

TOKEN_KEY = "signing_token"  # noqa: S105 - the session key, not a secret
VERIFIED_KEY = "signing_verified"
SIGNED_KEY = "signing_signed"
#: how long the copy can be downloaded from this browser session after signing
DOWNLOAD_WINDOW = timedelta(minutes=30)


@bp.errorhandler(NotFound)
def dead_link(error: NotFound) -> ResponseReturnValue:
    """One kind answer for every dead link, whatever made it dead."""
    db.session.rollback()
    session.pop(TOKEN_KEY, None)
    session.pop(VERIFIED_KEY, None)
    return render_template("signing/link_dead.html"), 404


@bp.get("/<token>")
def start(token: str) -> ResponseReturnValue:
    """The emailed link: check it, keep its token in the session, take it out of the URL."""
    _open(token)
    session.pop(VERIFIED_KEY, None)
    session.pop(SIGNED_KEY, None)
    session[TOKEN_KEY] = token
    return redirect(url_for("signing.identity"))


@bp.get("/identity")
def identity() -> ResponseReturnValue:
    """Date of birth and the emailed code, with the button that emails the code."""
    token = _token()
    _open(token)
    return _identity_page(IdentityForm(), CodeRequestForm())


@bp.post("/code")
def send_code() -> ResponseReturnValue:
    """Email a one-time code to the address the practice has on file."""
    token = _token()
    form = CodeRequestForm()
    if not form.validate_on_submit():
        return _identity_page(IdentityForm(), form), 422
    try:
        invitations.send_code(db.session(), token)
    except Throttled as error:
        db.session.rollback()
        flash(translated(error.message), "info")
        return redirect(url_for("signing.identity"))
    except Invalid as error:
        db.session.rollback()
        apply_errors(form, error)
        return _identity_page(IdentityForm(), form), 422
    flash(
        _(
            "We emailed you a 6-digit code. It works for 10 minutes. "
            "If it has not arrived in a few minutes, check your spam folder."
        ),
        "success",
    )
    return redirect(url_for("signing.identity"))


@bp.post("/verify")
def verify() -> ResponseReturnValue:
    """Check the date of birth and the code; five wrong tries lock the link."""
    token = _token()
    form = IdentityForm()
    if not form.validate_on_submit():
        _open(token)
        return _identity_page(form, CodeRequestForm()), 422
    try:
        invitations.verify(
            db.session(),
            token,
            birth_date=form.birth_date.data,
            code=form.code.data or "",
            ip=client_ip(),
        )
    except Invalid as error:
        db.session.rollback()
        apply_errors(form, error)
        return _identity_page(form, CodeRequestForm()), 422
    session[VERIFIED_KEY] = invitations.digest(token)
    return redirect(_after_identity(token))


@bp.get("/review")
def review() -> ResponseReturnValue:
    """The exact document and the signature form, once the identity check has passed."""
    token = _token()
    opened = _open(token)
    if opened.invitation.purpose is LinkPurpose.SIGNED:
        return redirect(url_for("signing.copy"))
    if not _verified_here(token, opened.invitation):
        flash(_("Please confirm your date of birth and code first."), "info")
        return redirect(url_for("signing.identity"))
    form = SignatureForm()
    form.relationship.data = opened.consent.signer_relationship.value
    return _review_page(opened.consent, form)


@bp.post("/review")
def sign() -> ResponseReturnValue:
    """Sign: the release becomes active and immutable, and the link is used up."""
    token = _token()
    opened = _open(token)
    if not _verified_here(token, opened.invitation):
        flash(_("Please confirm your date of birth and code again before signing."), "info")
        return redirect(url_for("signing.identity"))
    form = SignatureForm()
    if not form.validate_on_submit():
        return _review_page(opened.consent, form), 422
    try:
        consent = invitations.sign(
            db.session(),
            token,
            signature_input(form),
            ip=client_ip(),
            user_agent=request.user_agent.string or None,
            library=form_library(),
        )
    except Invalid as error:
        db.session.rollback()
        apply_errors(form, error)
        return _review_page(_open(token).consent, form), 422
    except WrongState as error:
        db.session.rollback()
        return render_template("signing/refused.html", message=error.message), 409
    session.pop(TOKEN_KEY, None)
    session.pop(VERIFIED_KEY, None)
    session[SIGNED_KEY] = {
        "consent_id": consent.id,
        "client_id": consent.client_id,
        "signed_at": iso(consent.signed_at or now()),
        # the link is closed now: the thank-you page keeps where the client reads times
        "time_zone": rendering.client_time_zone(consent),
    }
    return redirect(url_for("signing.done"))


@bp.get("/done")
def done() -> ResponseReturnValue:
    """Thanks, the time of signing, and the download button."""
    signed = _signed()
    return render_template(
        "signing/done.html",
        consent_id=signed.consent_id,
        signed_at=signed.signed_at,
        download_until=signed.signed_at + DOWNLOAD_WINDOW,
    )


@bp.get("/done/release.pdf")
def document() -> Response:
    """The signed PDF, for the browser session that just signed it (for 30 minutes)."""
    signed = _signed()
    consent, data = lifecycle.signed_pdf(
        db.session(), _link_actor(signed.client_id), signed.consent_id
    )
    return pdf_response(data, f"release-{consent.id}.pdf")


@bp.get("/copy")
def copy() -> ResponseReturnValue:
    """The signer's copy of a signed release, and revoking it while it is active."""
    token = _token()
    opened = _verified_copy(token)
    if isinstance(opened, Response):
        return opened
    return _copy_page(opened.consent, RevokeForm())


@bp.get("/copy/release.pdf")
def copy_document() -> ResponseReturnValue:
    """The signed PDF, behind the verified copy link (audited as a download)."""
    token = _token()
    opened = _verified_copy(token)
    if isinstance(opened, Response):
        return opened
    consent, data = invitations.signed_copy(db.session(), token, ip=client_ip())
    return pdf_response(data, f"release-{consent.id}.pdf")


@bp.get("/copy/revocation-receipt.pdf")
def copy_revocation_receipt() -> ResponseReturnValue:
    """The revocation receipt, behind the verified copy link (audited as a download)."""
    token = _token()
    opened = _verified_copy(token)
    if isinstance(opened, Response):
        return opened
    if opened.consent.revocation is None:
        flash(_("There is no revocation receipt: this release is not revoked."), "info")
        return redirect(url_for("signing.copy"))
    consent, data = invitations.revocation_receipt(
        db.session(), token, form_library(), ip=client_ip()
    )
    return pdf_response(data, f"revocation-receipt-{consent.id}.pdf")


@bp.post("/copy/revoke")
def revoke() -> ResponseReturnValue:
    """Revoke the release behind the verified copy link, once confirmed."""
    token = _token()
    opened = _verified_copy(token)
    if isinstance(opened, Response):
        return opened
    form = RevokeForm()
    if not form.validate_on_submit() or not form.confirm.data:
        if not form.confirm.data:
            form.confirm.errors = [_("Tick the box to confirm that you want to revoke it.")]
        return _copy_page(opened.consent, form), 422
    try:
        invitations.revoke(db.session(), token, reason=form.reason.data or None, ip=client_ip())
    except Invalid as error:
        db.session.rollback()
        apply_errors(form, error)
        return _copy_page(opened.consent, form), 422
    except WrongState as error:
        db.session.rollback()
        flash(translated(error.message), "error")
        return redirect(url_for("signing.copy"))
    flash(_("Your release is revoked. Nothing more may be shared under it from now on."), "success")
    return redirect(url_for("signing.copy"))


@bp.route("/request", methods=["GET", "POST"])
def request_link() -> ResponseReturnValue:
    """Ask for a new link to one's signed releases, to download a copy or revoke. The answer
    is the same whether or not the address is known."""
    form = LinkRequestForm()
    if request.method == "GET":
        return render_template("signing/request.html", form=form, sent=False)
    if not form.validate_on_submit():
        return render_template("signing/request.html", form=form, sent=False), 422
    try:
        invitations.request_links(
            db.session(), form.email.data or "", ip=client_ip(), settings=settings()
        )
    except Throttled as refusal:
        db.session.rollback()
        form.form_errors.append(translated(refusal.message))
        page = render_template("signing/request.html", form=form, sent=False)
        return page, 429, {"Retry-After": str(refusal.retry_after_seconds)}
    return render_template("signing/request.html", form=LinkRequestForm(), sent=True)


def _after_identity(token: str) -> str:
    """Where a verified link leads: the document to sign, or the signed copy."""
    opened = _open(token)
    if opened.invitation.purpose is LinkPurpose.SIGNED:
        return url_for("signing.copy")
    return url_for("signing.review")


def _verified_copy(token: str) -> invitations.Opened | Response:
    """The copy link of this browser session once verified here; else back to the check.

    Raises:
        NotFound: the link is dead, or it is a signing link.
    """
    opened = _open(token)
    if opened.invitation.purpose is not LinkPurpose.SIGNED:
        raise NotFound("signing link")
    if not _verified_here(token, opened.invitation):
        flash(_("Please confirm your date of birth and code first."), "info")
        return redirect(url_for("signing.identity"))
    return opened


def _copy_page(consent: Consent, form: RevokeForm) -> str:
    return render_template(
        "signing/copy.html",
        consent=consent,
        title=release_title(form_library(), consent),
        status=consent.status_at(now()),
        form=form,
    )


def _token() -> str:
    """The link's token from the session.

    Raises:
        NotFound: this browser did not open a link (or it is used up).
    """
    token = session.get(TOKEN_KEY)
    if not isinstance(token, str) or not token:
        raise NotFound("signing link")
    return token


def _verified_here(token: str, invitation: SigningInvitation) -> bool:
    """Verified recently, and by this browser session (not only by someone holding the link)."""
    return session.get(VERIFIED_KEY) == invitations.digest(token) and invitations.is_verified(
        invitation, now()
    )


@dataclass(frozen=True)
class Signed:
    """What this browser session just signed (kept in the session cookie, which is signed)."""

    consent_id: int
    client_id: int
    signed_at: datetime


def _signed() -> Signed:
    """What this browser session signed in the last 30 minutes.

    Raises:
        NotFound: nothing, or longer ago.
    """
    kept: Any = session.get(SIGNED_KEY)
    try:
        signed = Signed(int(kept["consent_id"]), int(kept["client_id"]), _parse(kept["signed_at"]))
    except (TypeError, KeyError, ValueError):
        signed = None
    if signed is None or now() - signed.signed_at > DOWNLOAD_WINDOW:
        session.pop(SIGNED_KEY, None)
        raise NotFound("signed document")
    if kept.get("time_zone") in time_zones():
        g.reader_time_zone = kept["time_zone"]
    return signed


def _parse(value: object) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _link_actor(client_id: int) -> Actor:
    """The client, as the emailed link identified them (no account, no organization)."""
    return Actor(
        user_id=None,
        role=Role.CLIENT,
        organization_id=None,
        ip=client_ip(),
        request_id=g.get("request_id"),
        client_id=client_id,
    )


def _identity_page(form: IdentityForm, code_form: CodeRequestForm) -> str:
    opened = _open(_token())
    return render_template(
        "signing/identity.html",
        form=form,
        code_form=code_form,
        for_copy=opened.invitation.purpose is LinkPurpose.SIGNED,
    )


def _review_page(consent: Consent, form: SignatureForm) -> str:
    library = form_library()
    return render_template(
        "signing/review.html",
        consent=consent,
        title=release_title(library, consent),
        release_form=form_of(library, consent),
        document_html=lifecycle.preview_html(
            db.session(), _link_actor(consent.client_id), consent.id, library, reading_language()
        ),
        form=form,
        signer=signer_rule_of(consent),
    )


def _open(token: str) -> invitations.Opened:
    """The link's release (as `invitations.open_invitation`), with this page's times read where
    the client is (their zone, else the practice's): the link's reader is signed in nowhere, so
    the page would otherwise say UTC, and the day they signed would not be the PDF's."""
    opened = invitations.open_invitation(db.session(), token)
    g.reader_time_zone = rendering.client_time_zone(opened.consent)
    return opened
