"""Sign in, sign out, home, password change."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from roi.accounts import service, sessions
from roi.accounts.errors import InvalidCredentials, LoginThrottled
from roi.accounts.policy import Permission
from roi.actor import Role
from roi.errors import Invalid
from roi.extensions import db
from roi.web.auth import bp
from roi.web.auth.forms import LoginForm, PasswordChangeForm
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
        return render_template("auth/login.html", form=form, error=error.message), 200
    except LoginThrottled as error:
        wait = {"Retry-After": str(error.retry_after_seconds)}
        return render_template("auth/login.html", form=form, error=error.message), 429, wait
    # A fresh session at sign-in: nothing from the anonymous session survives (SECURITY B1).
    session.clear()
    session[SESSION_TOKEN] = sessions.start_session(db.session(), user)
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
        service.change_password(
            db.session(),
            actor(),
            current=form.current_password.data or "",
            new=form.new_password.data or "",
            keep_session_token=session.get(SESSION_TOKEN),
            argon2=settings().argon2,
        )
    except Invalid as error:
        for name, why in error.fields.items():
            getattr(form, name).errors.append(why)
        return render_template("auth/password.html", form=form), 422
    flash("Your password is changed. Your other sessions have been signed out.", "success")
    return redirect(url_for("auth.index"))
