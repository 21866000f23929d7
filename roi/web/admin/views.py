"""Users of the admin's practice: list, add, change, disable and re-enable, invite again, reset
a second factor, each change behind a confirmation page; the practice's directory entries and
settings (its state, whether staff need a second factor); mail the outbox worker gave up on."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from roi import mail
from roi.accounts import administration, mfa, practice, service
from roi.accounts.models import Organization
from roi.accounts.policy import Permission, administered_organization
from roi.actor import Role
from roi.consent.signers import shipped_rules
from roi.errors import Invalid
from roi.extensions import db
from roi.i18n import N_
from roi.web.admin import bp
from roi.web.admin.forms import PracticeForm, ToggleForm, UserEditForm, UserForm, role_choices
from roi.web.clinician.forms import ProviderForm
from roi.web.forms import apply_errors, refused_status, time_zone_choices
from roi.web.language import translated
from roi.web.navigation import ROLE_NAMES
from roi.web.security import actor, requires, settings


@bp.get("/")
@requires(Permission.MANAGE_USERS)
def dashboard() -> str:
    users = administration.list_users(db.session(), actor())
    failed = mail.failed_mail(db.session(), administered_organization(actor()))
    return render_template("admin/dashboard.html", user_count=len(users), failed_mail=len(failed))


@bp.get("/mail")
@requires(Permission.MANAGE_USERS)
def failed_mail() -> str:
    """Mail that could not be delivered after every retry, with a way to try again."""
    failed = mail.failed_mail(db.session(), administered_organization(actor()))
    return render_template("admin/mail.html", failed=failed, form=ToggleForm())


@bp.post("/mail/<int:item_id>/retry")
@requires(Permission.MANAGE_USERS)
def mail_retry(item_id: int) -> Response:
    mail.retry(db.session(), item_id, organization_id=administered_organization(actor()))
    flash(_("The mail will be tried again within a minute."), "success")
    return redirect(url_for("admin.failed_mail"))


@bp.get("/users")
@requires(Permission.MANAGE_USERS)
def users() -> str:
    return render_template(
        "admin/users.html", users=administration.list_users(db.session(), actor())
    )


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def user_new() -> Response | str | tuple[str, int]:
    form = UserForm()
    if not form.is_submitted():
        form.organization.data = service.own_organization_name(db.session(), actor()) or ""
    if not form.validate_on_submit():
        return render_template("admin/user_new.html", form=form), refused_status(form)
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
    flash(_("Account created."), "success")
    return redirect(url_for("admin.users"))


@bp.get("/users/<int:user_id>")
@requires(Permission.MANAGE_USERS)
def user_detail(user_id: int) -> str:
    user = administration.administered_user(db.session(), actor(), user_id)
    return render_template("admin/user_detail.html", user=user)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def user_edit(user_id: int) -> Response | str | tuple[str, int]:
    """Change a name or role: the form, then a page that names the change, then the change."""
    user = administration.administered_user(db.session(), actor(), user_id)
    form = UserEditForm(obj=None if request.method == "POST" else user)
    form.role.choices = role_choices(Role(user.role))
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("admin/user_edit.html", form=form, user=user), status
    role = Role(form.role.data)
    if not form.confirmed.data:
        form.confirmed.data = "yes"
        return render_template("admin/user_edit_confirm.html", form=form, user=user, role=role)
    try:
        administration.update_user(
            db.session(), actor(), user_id, name=form.name.data or "", role=role
        )
    except Invalid as error:
        form.confirmed.data = ""
        apply_errors(form, error)
        return render_template("admin/user_edit.html", form=form, user=user), 422
    flash(_("The account is changed."), "success")
    return redirect(url_for("admin.user_detail", user_id=user_id))


#: what each confirmed action on a user is called on its confirmation page
USER_ACTIONS = {
    "disable": (
        N_("Disable %(name)s?"),
        N_("They are signed out everywhere and cannot sign in."),
        N_("Disable %(name)s"),
    ),
    "enable": (
        N_("Enable %(name)s?"),
        N_("They can sign in again with their password."),
        N_("Enable %(name)s"),
    ),
    "invite": (
        N_("Send %(name)s a password link?"),
        N_(
            "They get a mail with a link to choose a password, valid 7 days. Their current "
            "password keeps working until they use it."
        ),
        N_("Send the link"),
    ),
}


@bp.get("/users/<int:user_id>/<any(disable, enable, invite):action>")
@requires(Permission.MANAGE_USERS)
def user_confirm(user_id: int, action: str) -> str:
    """The confirmation page of an action on a user; the action itself is the POST."""
    user = administration.administered_user(db.session(), actor(), user_id)
    title, explanation, button = USER_ACTIONS[action]
    return render_template(
        "admin/confirm.html",
        title=_(title, name=user.name),
        explanation=_(explanation),
        facts=[
            (_("Name"), user.name),
            (_("Email"), user.email),
            (_("Role"), _(ROLE_NAMES[Role(user.role)])),
        ],
        button=_(button, name=user.name),
        danger=action == "disable",
        action=url_for(f"admin.user_{action}", user_id=user.id),
        cancel=url_for("admin.user_detail", user_id=user.id),
    )


@bp.post("/users/<int:user_id>/invite")
@requires(Permission.MANAGE_USERS)
def user_invite(user_id: int) -> Response:
    try:
        administration.resend_invitation(db.session(), actor(), user_id)
    except Invalid as error:
        flash(" ".join(translated(why) for why in error.fields.values()), "error")
        return redirect(url_for("admin.user_detail", user_id=user_id))
    # no name or address in a flash: it waits in the session cookie (SECURITY B4)
    flash(_("A new password link is on its way to the account's address."), "success")
    return redirect(url_for("admin.user_detail", user_id=user_id))


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
        administration.set_user_active(db.session(), actor(), user_id, active=active)
    except Invalid as error:
        flash(" ".join(translated(why) for why in error.fields.values()), "error")
        return redirect(url_for("admin.user_detail", user_id=user_id))
    if active:
        flash(_("The account can sign in again."), "success")
    else:
        flash(_("The account is disabled and signed out everywhere."), "success")
    return redirect(url_for("admin.user_detail", user_id=user_id))


@bp.route("/settings", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def settings_page() -> Response | str | tuple[str, int]:
    """The practice's own settings, saved together: its state, whose law decides who signs for
    a minor; whether staff must use a second factor; the emergency rate; its time zone."""
    org_id = administered_organization(actor())
    organization = db.session.get(Organization, org_id) if org_id else None
    if organization is None:
        return render_template("admin/settings.html", form=None, organization=None)
    form = PracticeForm(
        data={
            "state": organization.state or "",
            "mfa_required": organization.mfa_required_for_staff,
            "emergency_sends_per_day": organization.emergency_sends_per_day,
            "time_zone": organization.time_zone,
        }
        if request.method == "GET"
        else None
    )
    form.state.choices = [
        SelectChoice(code, translated(name))
        for code, name in [("", _("Not set (conservative default)")), *shipped_rules().choices()]
    ]
    form.time_zone.choices = time_zone_choices()
    if not form.validate_on_submit():
        return render_template(
            "admin/settings.html", form=form, organization=organization
        ), refused_status(form)
    wanted = practice.PracticeSettings(
        state=form.state.data or None,
        mfa_required_for_staff=bool(form.mfa_required.data),
        emergency_sends_per_day=form.emergency_sends_per_day.data or 0,
        # the select has no empty option: none sent keeps the zone as it is
        time_zone=form.time_zone.data or organization.time_zone,
    )
    try:
        practice.update_practice_settings(
            db.session(), actor(), wanted, states=shipped_rules().states
        )
    except Invalid as error:
        apply_errors(form, error)
        return render_template("admin/settings.html", form=form, organization=organization), 422
    flash(_("Saved. Releases signed from now on follow this state's rules."), "success")
    return redirect(url_for("admin.settings_page"))


@bp.route("/users/<int:user_id>/reset-second-factor", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def user_reset_mfa(user_id: int) -> Response | str:
    """Remove a user's second factors after a confirmation (they lost their phone and their
    recovery codes); they set one up again at their next sign-in."""
    user = administration.administered_user(db.session(), actor(), user_id)
    form = ToggleForm()
    if form.validate_on_submit():
        mfa.reset(db.session(), actor(), user_id)
        flash(
            _("The second factor is removed. They set up a new one at their next sign-in."),
            "success",
        )
        return redirect(url_for("admin.users"))
    return render_template("admin/reset_mfa.html", user=user, form=form)


@bp.get("/directory")
@requires(Permission.MANAGE_DIRECTORY)
def directory() -> str:
    """The practice's own directory entries, disabled ones too."""
    return render_template(
        "admin/directory.html", providers=service.providers(db.session(), actor())
    )


@bp.route("/directory/<int:provider_id>/edit", methods=["GET", "POST"])
@requires(Permission.MANAGE_DIRECTORY)
def provider_edit(provider_id: int) -> Response | str | tuple[str, int]:
    provider = service.administered_provider(db.session(), actor(), provider_id)
    form = ProviderForm(obj=None if request.method == "POST" else provider)
    if request.method == "GET":
        form.organization.data = provider.organization_name
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("admin/provider_edit.html", form=form, provider=provider), status
    try:
        service.update_provider(
            db.session(),
            actor(),
            provider_id,
            form.entry(),
        )
    except Invalid as error:
        apply_errors(form, error)
        return render_template("admin/provider_edit.html", form=form, provider=provider), 422
    flash(_("The directory entry is changed."), "success")
    return redirect(url_for("admin.directory"))


@bp.get("/directory/<int:provider_id>/<any(disable, enable):action>")
@requires(Permission.MANAGE_DIRECTORY)
def provider_confirm(provider_id: int, action: str) -> str:
    provider = service.administered_provider(db.session(), actor(), provider_id)
    disable = action == "disable"
    return render_template(
        "admin/confirm.html",
        title=_("Disable %(name)s?", name=provider.name)
        if disable
        else _("Enable %(name)s?", name=provider.name),
        explanation=_(
            "The entry stays on the releases that name it, but nobody can choose it as a "
            "recipient any more."
        )
        if disable
        else _("Clinicians can choose the entry as a recipient again."),
        facts=[(_("Name"), provider.name), (_("Organization"), provider.organization_name)],
        button=_("Disable %(name)s", name=provider.name)
        if disable
        else _("Enable %(name)s", name=provider.name),
        danger=disable,
        action=url_for("admin.provider_set_active", provider_id=provider.id, action=action),
        cancel=url_for("admin.directory"),
    )


@bp.post("/directory/<int:provider_id>/<any(disable, enable):action>")
@requires(Permission.MANAGE_DIRECTORY)
def provider_set_active(provider_id: int, action: str) -> Response:
    provider = service.set_provider_active(
        db.session(), actor(), provider_id, active=action == "enable"
    )
    if action == "enable":
        flash(_("%(name)s can be chosen again.", name=provider.name), "success")
    else:
        flash(_("%(name)s is disabled.", name=provider.name), "success")
    return redirect(url_for("admin.directory"))
