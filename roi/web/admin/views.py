"""Users: list, add, disable and re-enable; mail the outbox worker gave up on."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from roi import mail
from roi.accounts import service
from roi.accounts.models import Organization
from roi.accounts.policy import Permission
from roi.actor import Role
from roi.errors import Invalid
from roi.extensions import db
from roi.web.admin import bp
from roi.web.admin.forms import EmergencyRateForm, ToggleForm, UserForm
from roi.web.forms import apply_errors
from roi.web.security import actor, requires, settings


@bp.get("/")
@requires(Permission.MANAGE_USERS)
def dashboard() -> str:
    return _dashboard(None)


@bp.post("/emergency-rate")
@requires(Permission.MANAGE_PRACTICE_SETTINGS)
def emergency_rate() -> Response | tuple[str, int]:
    """Set the practice's emergency rate per clinician."""
    form = EmergencyRateForm()
    if form.validate_on_submit():
        try:
            service.set_emergency_rate(
                db.session(), actor(), form.emergency_sends_per_day.data or 0
            )
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash("Emergency rate saved.", "success")
            return redirect(url_for("admin.dashboard"))
    return _dashboard(form), 422


def _dashboard(rate_form: EmergencyRateForm | None) -> str:
    session, me = db.session(), actor()
    users = service.list_users(session, me)
    failed = mail.failed_mail(session, me.organization_id)
    organization = session.get(Organization, me.organization_id) if me.organization_id else None
    if rate_form is None and organization is not None:
        rate_form = EmergencyRateForm(
            formdata=None, emergency_sends_per_day=organization.emergency_sends_per_day
        )
    return render_template(
        "admin/dashboard.html",
        user_count=len(users),
        failed_mail=len(failed),
        rate_form=rate_form,
    )


@bp.get("/mail")
@requires(Permission.MANAGE_USERS)
def failed_mail() -> str:
    """Mail that could not be delivered after every retry, with a way to try again."""
    failed = mail.failed_mail(db.session(), actor().organization_id)
    return render_template("admin/mail.html", failed=failed, form=ToggleForm())


@bp.post("/mail/<int:item_id>/retry")
@requires(Permission.MANAGE_USERS)
def mail_retry(item_id: int) -> Response:
    mail.retry(db.session(), item_id, organization_id=actor().organization_id)
    flash("The mail will be tried again within a minute.", "success")
    return redirect(url_for("admin.failed_mail"))


@bp.get("/users")
@requires(Permission.MANAGE_USERS)
def users() -> str:
    return render_template(
        "admin/users.html", users=service.list_users(db.session(), actor()), form=ToggleForm()
    )


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def user_new() -> Response | str | tuple[str, int]:
    form = UserForm()
    if not form.validate_on_submit():
        return render_template("admin/user_new.html", form=form)
    try:
        service.create_user(
            db.session(),
            actor(),
            email=form.email.data or "",
            password=form.password.data or "",
            role=Role(form.role.data),
            name=form.name.data or "",
            organization=form.organization.data or None,
            client_id=form.client_id.data,
            argon2=settings().argon2,
        )
    except Invalid as error:
        apply_errors(form, error)
        return render_template("admin/user_new.html", form=form), 422
    flash("Account created.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/disable")
@requires(Permission.MANAGE_USERS)
def user_disable(user_id: int) -> Response:
    return _set_active(user_id, active=False)


@bp.post("/users/<int:user_id>/enable")
@requires(Permission.MANAGE_USERS)
def user_enable(user_id: int) -> Response:
    return _set_active(user_id, active=True)


def _set_active(user_id: int, *, active: bool) -> Response:
    try:
        user = service.set_user_active(db.session(), actor(), user_id, active=active)
    except Invalid as error:
        flash(" ".join(error.fields.values()), "error")
        return redirect(url_for("admin.users"))
    if active:
        flash(f"{user.name} can sign in again.", "success")
    else:
        flash(f"{user.name} is disabled and signed out everywhere.", "success")
    return redirect(url_for("admin.users"))
