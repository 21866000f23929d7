"""Sign in, sign out, home, password change."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from roi.accounts import recovery, sessions
from roi.accounts.errors import InvalidCredentials, LoginThrottled
from roi.accounts.policy import Permission
from roi.actor import Role
from roi.errors import Invalid
from roi.extensions import db
from roi.web.auth import bp
from roi.web.auth.forms import LoginForm, NewPasswordForm, PasswordChangeForm, ResetRequestForm
from roi.web.forms import apply_errors
from roi.web.security import SESSION_TOKEN, SignedIn, actor, client_ip, requires, settings

DASHBOARDS = {
    Role.CLINICIAN: "clinician.dashboard",
    Role.CLIENT: "portal.dashboard",
    Role.COMPLIANCE: "compliance.dashboard",
    Role.ADMIN: "admin.dashboard",
}


@bp.get("/")
def index() -> Response:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(DASHBOARDS[current_user.role]))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
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
        return render_template("auth/login.html", form=form, error=error.message), 200
    except LoginThrottled as error:
        return render_template("auth/login.html", form=form, error=error.message), 429
    # A fresh session at sign-in: nothing from the anonymous session survives (SECURITY B1).
    session.clear()
    session[SESSION_TOKEN] = sessions.start_session(
        db.session(), user, request.headers.get("User-Agent")
    )
    login_user(SignedIn(user), remember=False)
    return redirect(url_for("auth.index"))


@bp.post("/logout")
@requires(Permission.SIGNED_IN)
def logout() -> Response:
    token = session.get(SESSION_TOKEN)
    if token:
        sessions.end_session(db.session(), actor(), token)
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
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
        flash("Your password is changed. Your other sessions have been signed out.", "success")
    else:
        flash("Your password is changed.", "success")
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
        "Your password is set, and every session of your account is signed out. Sign in.", "success"
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
        flash("You are signed out.", "info")
        return redirect(url_for("auth.login"))
    flash("That session is signed out.", "success")
    return redirect(url_for("auth.sessions_page"))
