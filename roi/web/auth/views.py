"""Sign in (password, then a second factor), sign out, home, password change, second factors."""

from __future__ import annotations

import segno
from flask import flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from roi.accounts import mfa, passkeys, practice, recovery, sessions
from roi.accounts.errors import (
    InvalidCredentials,
    LoginThrottled,
    SecondFactorRejected,
    SecondStepEnded,
)
from roi.accounts.models import PasskeyCredential, User
from roi.accounts.policy import Permission
from roi.actor import Role
from roi.errors import Invalid, WrongState
from roi.extensions import db
from roi.web.auth import bp
from roi.web.auth.forms import (
    ConfirmForm,
    LoginForm,
    NewPasswordForm,
    PasskeyForm,
    PasswordChangeForm,
    PreferencesForm,
    ResetRequestForm,
    SecondFactorForm,
    TotpConfirmForm,
)
from roi.web.forms import apply_errors, refused_status, time_zone_choices
from roi.web.language import LANGUAGE_KEY, page_language, translated
from roi.web.security import (
    SECOND_STEP_PAGES,
    SESSION_TOKEN,
    SignedIn,
    actor,
    client_ip,
    half_signed_in,
    passkey_challenge,
    relying_party,
    requires,
    settings,
)

DASHBOARDS = {
    Role.CLINICIAN: "clinician.dashboard",
    Role.CLIENT: "portal.dashboard",
    Role.COMPLIANCE: "compliance.dashboard",
    Role.ADMIN: "admin.dashboard",
}


@bp.get("/")
def index() -> Response:
    if not current_user.is_authenticated:
        step = half_signed_in()
        return redirect(url_for(SECOND_STEP_PAGES[step] if step else "auth.login"))
    return redirect(url_for(DASHBOARDS[current_user.role]))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    if current_user.is_authenticated:
        return redirect(url_for("auth.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    try:
        user = sessions.authenticate(
            db.session(),
            email=form.email.data or "",
            password=form.password.data or "",
            ip=client_ip(),
            request_id=g.request_id,
            settings=settings(),
        )
    except InvalidCredentials as error:
        shown = translated(error.message)
        return render_template("auth/login.html", form=form, error=shown), 200
    except LoginThrottled as error:
        wait = {"Retry-After": str(error.retry_after_seconds)}
        shown = translated(error.message)
        return render_template("auth/login.html", form=form, error=shown), 429, wait
    step = mfa.required_step(db.session(), user)
    # A fresh session at sign-in: nothing from the anonymous session survives (SECURITY B1),
    # except the language the person picked on the sign-in page.
    chosen_language = session.get(LANGUAGE_KEY)
    session.clear()
    if chosen_language is not None:
        session[LANGUAGE_KEY] = chosen_language
    session[SESSION_TOKEN] = sessions.start_session(
        db.session(), user, step, request.headers.get("User-Agent")
    )
    if step is not None:
        # Half-signed-in: not a Flask-Login user until the second step (SECURITY A6).
        return redirect(url_for(SECOND_STEP_PAGES[step]))
    login_user(SignedIn(user), remember=False)
    return redirect(url_for("auth.index"))


@bp.route("/login/second-factor", methods=["GET", "POST"])
@requires(Permission.SIGNED_IN)
def second_factor() -> Response | str | tuple[str, int]:
    """The second step of signing in: a code from the authenticator app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.index"))
    if not mfa.has_second_factor(db.session(), actor().user_id or 0):
        return _sign_in_again()
    form = SecondFactorForm()
    if not form.validate_on_submit():
        return _second_factor_page(form)
    passed = mfa.verify(db.session(), actor(), form.code.data or "")
    return _second_step_outcome(passed, form)


@bp.post("/login/second-factor/passkey")
@requires(Permission.SIGNED_IN)
def second_factor_passkey() -> Response | str | tuple[str, int]:
    """The second step with a passkey: the browser's answer to the page's challenge."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.index"))
    if not mfa.has_second_factor(db.session(), actor().user_id or 0):
        return _sign_in_again()
    answer = PasskeyForm()
    if not answer.validate_on_submit():
        unanswered = PasskeyForm(formdata=None)
        unanswered.credential.errors = [_("No answer from a passkey arrived. Try again.")]
        return _second_factor_page(SecondFactorForm(formdata=None), unanswered), 400
    passed = passkeys.verify(
        db.session(), actor(), session[SESSION_TOKEN], relying_party(), answer.credential.data or ""
    )
    # a fresh form: the page must not carry the used answer back in its hidden field
    return _second_step_outcome(passed, SecondFactorForm(formdata=None), PasskeyForm(formdata=None))


def _sign_in_again() -> Response:
    """The person has no second factor left (they removed their last passkey, or an admin reset
    them, since the password): this half-done sign-in ends, and the next one asks for what is
    needed now (setting one up, where the practice requires it)."""
    sessions.end_session(db.session(), actor(), session[SESSION_TOKEN])
    session.clear()
    flash(_("Your sign-in's second step changed meanwhile. Sign in again."), "info")
    return redirect(url_for("auth.login"))


def _second_factor_page(form: SecondFactorForm, passkey_form: PasskeyForm | None = None) -> str:
    """The second step's page; with a fresh passkey challenge when the person has a passkey,
    and without the code field when a passkey is all they have (no code to type)."""
    return render_template(
        "auth/second_factor.html",
        form=form,
        needs_code=mfa.has_code_factor(db.session(), actor().user_id or 0),
        passkey_options=passkey_challenge(),
        passkey_form=passkey_form or PasskeyForm(),
    )


def _second_step_outcome(
    passed: bool, form: SecondFactorForm, passkey_form: PasskeyForm | None = None
) -> Response | tuple[str, int]:
    """Signed in, or the page again saying what was refused: the code, or the passkey's answer
    (`passkey_form` given)."""
    try:
        sessions.pass_second_step(
            db.session(), session[SESSION_TOKEN], actor(), passed, client_ip()
        )
    except SecondStepEnded as error:
        session.clear()
        flash(translated(error.message), "error")
        return redirect(url_for("auth.login"))
    except SecondFactorRejected as error:
        if passkey_form is None:
            form.code.errors = [translated(error.message)]
        else:
            passkey_form.credential.errors = [_("Your passkey was not accepted. Try it again.")]
        return _second_factor_page(form, passkey_form), 401
    _finish_sign_in()
    return redirect(url_for("auth.index"))


@bp.route("/account/passkeys", methods=["GET", "POST"])
@requires(Permission.SIGNED_IN)
def passkeys_page() -> Response | str | tuple[str, int]:
    """The account's passkeys, and adding one: the browser creates it for the page's challenge."""
    user = db.session.get(User, actor().user_id)
    assert user is not None  # noqa: S101 - signed in
    form = PasskeyForm()
    status = 200
    if form.validate_on_submit():
        try:
            passkeys.register(
                db.session(),
                actor(),
                session[SESSION_TOKEN],
                relying_party(),
                form.credential.data or "",
                form.name.data or "",
            )
        except Invalid as error:
            flash(" ".join(translated(why) for why in error.fields.values()), "error")
            status = 422
        else:
            flash(_("Your passkey is added. Sign-ins can use it as the second step."), "success")
            return redirect(url_for("auth.passkeys_page"))
    options = passkeys.registration_options(
        db.session(), user, session[SESSION_TOKEN], relying_party()
    )
    return render_template(
        "auth/passkeys.html",
        form=form,
        options=options,
        passkeys=passkeys.passkeys_of(db.session(), user.id),
    ), status


@bp.route("/account/passkeys/<int:passkey_id>/remove", methods=["GET", "POST"])
@requires(Permission.SIGNED_IN)
def passkey_remove(passkey_id: int) -> Response | str | tuple[str, int]:
    """Remove one of one's own passkeys, after a confirmation."""
    passkey = passkeys.passkey_of(db.session(), actor(), passkey_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        refusal = passkeys.removal_refused(db.session(), passkey)
        return _remove_passkey_page(passkey, form, refusal), 200
    try:
        name = passkeys.remove(db.session(), actor(), passkey_id)
    except WrongState as error:
        return _remove_passkey_page(passkey, form, error.message), 409
    flash(
        _("The passkey “%(name)s” is removed. Sign-ins no longer accept it.", name=name), "success"
    )
    return redirect(url_for("auth.passkeys_page"))


def _remove_passkey_page(passkey: PasskeyCredential, form: ConfirmForm, refusal: str | None) -> str:
    return render_template(
        "auth/remove_passkey.html",
        passkey=passkey,
        form=form,
        refusal=translated(refusal) if refusal else None,
        last=passkeys.is_last_second_factor(db.session(), passkey),
    )


def _finish_sign_in() -> None:
    user = db.session.get(User, actor().user_id)
    assert user is not None  # noqa: S101 - the session resumed this user
    login_user(SignedIn(user), remember=False)


@bp.get("/account/security")
@requires(Permission.SIGNED_IN)
def security() -> str:
    """The account's second factors: set one up, or see how many recovery codes are left; and
    the person's own preferences (their time zone)."""
    user = db.session.get(User, actor().user_id)
    assert user is not None  # noqa: S101 - signed in
    return _security_page(user, PreferencesForm(data={"time_zone": user.time_zone or ""}))[0]


@bp.post("/account/preferences")
@requires(Permission.SIGNED_IN)
def preferences() -> Response | tuple[str, int]:
    """Keep the person's own time zone, or none to read times in their practice's."""
    user = db.session.get(User, actor().user_id)
    assert user is not None  # noqa: S101 - signed in
    form = PreferencesForm()
    if not form.validate_on_submit():
        return _security_page(user, form)
    try:
        practice.set_own_time_zone(db.session(), user.id, form.time_zone.data or None)
    except Invalid as error:
        apply_errors(form, error)
        return _security_page(user, form)
    flash(_("Saved. Times show in your chosen time zone."), "success")
    return redirect(url_for("auth.security"))


def _security_page(user: User, preferences: PreferencesForm) -> tuple[str, int]:
    practice_zone = user.organization.time_zone if user.organization else "UTC"
    own = SelectChoice("", _("Use the practice's (%(zone)s)", zone=practice_zone))
    preferences.time_zone.choices = time_zone_choices(own)
    return render_template(
        "auth/security.html",
        passkey_count=len(passkeys.passkeys_of(db.session(), user.id)),
        has_app=mfa.has_code_factor(db.session(), user.id),
        required=mfa.required_by_practice(db.session(), user),
        recovery_left=mfa.recovery_codes_left(db.session(), user.id),
        preferences=preferences,
    ), refused_status(preferences)


@bp.route("/account/mfa/totp", methods=["GET", "POST"])
@requires(Permission.SIGNED_IN)
def totp_setup() -> Response | str | tuple[str, int]:
    """Set up an authenticator app: a QR code and the secret, a code to confirm, then the
    recovery codes, shown once. A staff member whose practice requires a second factor lands
    here right after the password and can do nothing else until done."""
    user = db.session.get(User, actor().user_id)
    assert user is not None  # noqa: S101 - signed in, or half-signed-in
    form = TotpConfirmForm()
    if form.validate_on_submit():
        try:
            codes = mfa.confirm_totp(db.session(), actor(), form.code.data or "")
        except Invalid as error:
            form.code.errors = [translated(why) for why in error.fields.values()]
        else:
            if not current_user.is_authenticated:
                sessions.complete_second_step(db.session(), session[SESSION_TOKEN], actor())
                _finish_sign_in()
            return render_template("auth/recovery_codes.html", codes=codes)
    enrolment = mfa.pending_totp(db.session(), actor(), user.email) or mfa.begin_totp(
        db.session(), actor(), user.email
    )
    qr = segno.make(enrolment.otpauth_uri, error="m")
    svg = qr.svg_inline(scale=5, light="#fff", title=_("QR code for your authenticator app"))
    return render_template(
        "auth/totp_setup.html",
        form=form,
        secret=enrolment.secret,
        qr=Markup(svg),  # noqa: S704 - segno's own SVG
        forced=not current_user.is_authenticated,
    ), (422 if form.errors else 200)


@bp.post("/logout")
@requires(Permission.SIGNED_IN)
def logout() -> Response:
    """Sign out, or give up a half-done sign-in."""
    token = session.get(SESSION_TOKEN)
    if token:
        sessions.end_session(db.session(), actor(), token)
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@requires(Permission.SIGNED_IN)
def password() -> Response | str | tuple[str, int]:
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return render_template("auth/password.html", form=form)
    try:
        recovery.change_password(
            db.session(),
            actor(),
            current=form.current_password.data or "",
            new=form.new_password.data or "",
            end_other_sessions=bool(form.end_other_sessions.data),
            keep_session_token=session.get(SESSION_TOKEN),
            settings=settings(),
        )
    except Invalid as error:
        apply_errors(form, error)
        return render_template("auth/password.html", form=form), 422
    if form.end_other_sessions.data:
        flash(_("Your password is changed. Your other sessions have been signed out."), "success")
    else:
        flash(_("Your password is changed."), "success")
    return redirect(url_for("auth.index"))


@bp.route("/password-reset", methods=["GET", "POST"])
def password_reset() -> str:
    """Ask for a reset link; the answer is the same whether or not the address has an account."""
    form = ResetRequestForm()
    if not form.validate_on_submit():
        return render_template("auth/password_reset.html", form=form)
    recovery.request_reset(
        db.session(),
        email=form.email.data or "",
        ip=client_ip(),
        request_id=g.request_id,
        settings=settings(),
        language=page_language(),
    )
    return render_template("auth/password_reset_sent.html")


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
def password_reset_link(token: str) -> Response | str | tuple[str, int]:
    """Choose a new password through an emailed link; then sign in as usual."""
    recovery.link_owner(db.session(), token)
    form = NewPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/password_new.html", form=form, token=token)
    try:
        recovery.reset_password(
            db.session(),
            token=token,
            password=form.password.data or "",
            ip=client_ip(),
            request_id=g.request_id,
            argon2=settings().argon2,
        )
    except Invalid as error:
        apply_errors(form, error)
        return render_template("auth/password_new.html", form=form, token=token), 422
    if current_user.is_authenticated:
        logout_user()
    session.clear()
    flash(
        _("Your password is set, and every session of your account is signed out. Sign in."),
        "success",
    )
    return redirect(url_for("auth.login"))


@bp.get("/account/sessions")
@requires(Permission.SIGNED_IN)
def sessions_page() -> str:
    """The signed-in user's live sessions, this one marked, each with a way to end it."""
    live = sessions.live_sessions(
        db.session(), current_user.id, settings(), session.get(SESSION_TOKEN)
    )
    return render_template("auth/sessions.html", sessions=live)


@bp.post("/account/sessions/<int:session_id>/end")
@requires(Permission.SIGNED_IN)
def session_end(session_id: int) -> Response:
    """End one of one's own sessions; ending this one signs out here."""
    live = sessions.live_sessions(
        db.session(), current_user.id, settings(), session.get(SESSION_TOKEN)
    )
    this_one = any(s.id == session_id and s.current for s in live)
    sessions.end_own_session(db.session(), actor(), session_id)
    if this_one:
        logout_user()
        session.clear()
        flash(_("You are signed out."), "info")
        return redirect(url_for("auth.login"))
    flash(_("That session is signed out."), "success")
    return redirect(url_for("auth.sessions_page"))
