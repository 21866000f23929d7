"""The device pages: while a clinician's session is handed to a client, these are all it reaches
(`roi.web.security` refuses the rest). One page at a time, by the hand-over's stage: a lock screen,
the date of birth, the release and its signature form, the thanks; and the hand-back."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from roi.accounts import mfa, passkeys
from roi.accounts.errors import InvalidCredentials, LoginThrottled, SecondFactorRejected
from roi.accounts.policy import Permission
from roi.consent import handover, lifecycle
from roi.consent.models import DeviceHandover
from roi.consent.representation import signer_rule_of
from roi.errors import Invalid, WrongState
from roi.extensions import db
from roi.web.device import bp
from roi.web.device.forms import BirthDateForm, HandBackForm
from roi.web.forms import apply_errors
from roi.web.language import LANGUAGE_KEY, translated
from roi.web.portal.forms import SignatureForm, signature_input
from roi.web.portal.releases import form_of, reading_language, release_title
from roi.web.security import (
    SESSION_TOKEN,
    actor,
    client_ip,
    form_library,
    passkey_challenge,
    relying_party,
    requires,
    settings,
)


@bp.get("")
@requires(Permission.PREPARE_CONSENT)
def show() -> ResponseReturnValue:
    """The one page the device may show now."""
    found = _handover()
    if found is None:
        return redirect(url_for("auth.index"))
    view = handover.device_view(db.session(), found)
    if view.stage == "identity":
        return _page(view, "device/identity.html", form=BirthDateForm())
    if view.stage == "sign":
        form = SignatureForm()
        form.relationship.data = view.consent.signer_relationship.value
        return _sign_page(view, form)
    return _page(view, f"device/{view.stage}.html")


@bp.post("/identity")
@requires(Permission.PREPARE_CONSENT)
def identity() -> ResponseReturnValue:
    """Check the client's date of birth; three wrong tries lock the view."""
    found = _handover()
    if found is None:
        return redirect(url_for("auth.index"))
    form = BirthDateForm()
    if not form.validate_on_submit() or form.birth_date.data is None:
        return _page(handover.device_view(db.session(), found), "device/identity.html", form=form)
    try:
        handover.confirm_birth_date(db.session(), found, form.birth_date.data, ip=client_ip())
    except Invalid as error:
        db.session.rollback()
        apply_errors(form, error)
        view = handover.device_view(db.session(), found, activity=False)
        if view.stage == "identity":
            return _page(view, "device/identity.html", form=form), 422
    except WrongState:
        db.session.rollback()
    return redirect(url_for("device.show"))


@bp.post("/sign")
@requires(Permission.PREPARE_CONSENT)
def sign() -> ResponseReturnValue:
    """The client signs: the release becomes active, signed in person."""
    found = _handover()
    if found is None:
        return redirect(url_for("auth.index"))
    form = SignatureForm()
    if not form.validate_on_submit():
        return _sign_page(handover.device_view(db.session(), found), form), 422
    try:
        handover.sign(
            db.session(),
            found,
            signature_input(form),
            ip=client_ip(),
            user_agent=request.user_agent.string or None,
            library=form_library(),
        )
    except Invalid as error:
        db.session.rollback()
        apply_errors(form, error)
        view = handover.device_view(db.session(), found, activity=False)
        if view.stage == "sign":
            return _sign_page(view, form), 422
    except WrongState as error:
        db.session.rollback()
        flash(translated(error.message), "error")
    return redirect(url_for("device.show"))


@bp.post("/activity")
@requires(Permission.PREPARE_CONSENT)
def activity() -> ResponseReturnValue:
    """The client is reading or typing (static/js/device.js): the idle minute starts again."""
    found = _handover()
    if found is None:
        return "", 204
    view = handover.device_view(db.session(), found)
    return ("", 204) if view.stage != "locked" else ("", 423)


@bp.route("/hand-back", methods=["GET", "POST"])
@requires(Permission.PREPARE_CONSENT)
def hand_back() -> ResponseReturnValue:
    """The clinician takes the device back with their password (and second factor)."""
    found = _handover()
    if found is None:
        return redirect(url_for("auth.index"))
    form = HandBackForm()
    if request.method == "GET":
        return _hand_back_page(form)
    if not form.validate_on_submit():
        return _hand_back_page(form), 422
    consent_id = found.consent_id
    answer = _second_factor_answer(form)
    if answer is None:
        # a passkey-only clinician who sent the password alone (Enter in its box): asked for
        # their passkey, without a try counted against the throttle, the password unchecked
        form.credential.errors = [_("Use your passkey to take the device back.")]
        return _hand_back_page(form), 422
    try:
        handover.hand_back(
            db.session(),
            actor(),
            found,
            password=form.password.data or "",
            answer=answer,
            settings=settings(),
        )
    except LoginThrottled as error:
        db.session.rollback()
        form.password.errors = [translated(error.message)]
        wait = {"Retry-After": str(error.retry_after_seconds)}
        return _hand_back_page(form), 429, wait
    except InvalidCredentials:
        db.session.rollback()
        form.password.errors = [_("That password is not correct.")]
        return _hand_back_page(form), 401
    except SecondFactorRejected as error:
        db.session.rollback()
        if isinstance(answer, passkeys.Answer):
            form.credential.errors = [_("Your passkey was not accepted. Try it again.")]
        else:
            form.code.errors = [translated(error.message)]
        return _hand_back_page(form), 401
    # the pages return to the clinician's own language (their account's), whatever the client read
    session.pop(LANGUAGE_KEY, None)
    flash(_("You have the device back."), "success")
    return redirect(url_for("clinician.consent_detail", consent_id=consent_id))


def _handover() -> DeviceHandover | None:
    """The hand-over `roi.web.security` found for this session; None outside device mode."""
    found: DeviceHandover | None = g.get("handover")
    return found


def _second_factor_answer(form: HandBackForm) -> mfa.Code | passkeys.Answer | None:
    """What the clinician gave besides the password: their passkey's answer (only from someone
    with a passkey), or a code (an empty one is checked and audited as a wrong one); None from a
    passkey-only clinician who sent no answer."""
    user_id = actor().user_id or 0
    has_passkey = passkeys.has_passkey(db.session(), user_id)
    if form.credential.data and has_passkey:
        return passkeys.Answer(session[SESSION_TOKEN], relying_party(), form.credential.data)
    if has_passkey and not form.code.data and not mfa.has_code_factor(db.session(), user_id):
        return None
    return mfa.Code(form.code.data or "")


def _hand_back_page(form: HandBackForm) -> str:
    """The hand-back form, with a fresh passkey challenge when the clinician has a passkey; it
    does not count as the client's activity, nor unlock anything."""
    return render_template(
        "device/hand_back.html",
        form=form,
        needs_code=mfa.has_code_factor(db.session(), actor().user_id or 0),
        passkey_options=passkey_challenge(),
    )


def _page(view: handover.DeviceView, template: str, **context: object) -> str:
    return render_template(
        template,
        view=view,
        idle_seconds=int(handover.IDLE_LOCK.total_seconds()),
        **context,
    )


def _sign_page(view: handover.DeviceView, form: SignatureForm) -> str:
    if view.stage != "sign":
        return _page(view, f"device/{view.stage}.html", form=BirthDateForm())
    library = form_library()
    client = handover.client_actor(view.consent, client_ip())
    return _page(
        view,
        "device/sign.html",
        form=form,
        title=release_title(library, view.consent),
        release_form=form_of(library, view.consent),
        document_html=lifecycle.preview_html(
            db.session(), client, view.consent.id, library, reading_language()
        ),
        signer=signer_rule_of(view.consent),
    )
