"""A client's own accounting of disclosures: who received what about me, when and why.

Only the signed-in client's own record is ever shown: the service scopes every read to
`actor.client_id`, so no id in a URL can reach another client's disclosures. Viewing and
downloading are audited by the service, like a compliance officer's.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from roi.accounts.policy import Permission
from roi.actor import Actor
from roi.compliance import accounting, requests
from roi.compliance.accounting import Accounting, Shown
from roi.compliance.models import AccountingRequest
from roi.errors import Invalid, NotFound, WrongState
from roi.extensions import db
from roi.web.downloads import pdf_response, period_args
from roi.web.forms import apply_errors
from roi.web.language import day, form_language, translated
from roi.web.portal import bp
from roi.web.portal.accounting_forms import (
    SCOPE_PART2,
    AnswerForm,
    AskForm,
    ChangeForm,
    PeriodForm,
)
from roi.web.security import actor, form_library, practice_today, requires


@bp.get("/accounting")
@requires(Permission.USE_PORTAL)
def accounting_page() -> ResponseReturnValue:
    """Who received my information: the disclosures of the past six years, or a chosen period."""
    return _page(AskForm())


@bp.get("/accounting.pdf")
@requires(Permission.USE_PORTAL)
def accounting_pdf() -> Response:
    """The same list as a PDF to keep."""
    form = PeriodForm(formdata=request.args)
    if not form.validate():
        raise Invalid({k: " ".join(v) for k, v in form.errors.items()})
    result = accounting.export(
        db.session(),
        actor(),
        form_library(),
        _own_client_id(),
        file_format=Shown.PDF,
        since=form.since.data,
        until=form.until.data,
        part2=bool(form.part2.data),
    )
    return pdf_response(result.data, result.filename)


@bp.post("/accounting/requests")
@requires(Permission.USE_PORTAL)
def accounting_ask() -> ResponseReturnValue:
    """Ask the practice for a full accounting; it is due within 60 days."""
    form = AskForm()
    if not form.validate_on_submit():
        return _page(form)[0], 422
    try:
        found = requests.ask(
            db.session(),
            actor(),
            part2=form.scope.data == SCOPE_PART2,
            note=form.note.data or None,
        )
    except Invalid as error:
        db.session.rollback()
        apply_errors(form, error)
        return _page(form)[0], 422
    except WrongState as error:
        db.session.rollback()
        return _page(form, refusal=translated(error.message))[0], 409
    flash(
        _(
            "Thank you. Your practice has your request and will send your accounting by %(day)s.",
            day=day(found.due_on),
        ),
        "success",
    )
    return redirect(url_for("portal.accounting_page", _anchor="your-requests"))


@bp.post("/accounting/requests/<int:request_id>/fee-acceptance")
@requires(Permission.USE_PORTAL)
def accounting_accept_fee(request_id: int) -> ResponseReturnValue:
    """Go ahead with the request and its fee."""
    return _answer(request_id, requests.accept_fee, _("Thank you: your practice will prepare it."))


@bp.post("/accounting/requests/<int:request_id>/withdrawal")
@requires(Permission.USE_PORTAL)
def accounting_withdraw(request_id: int) -> ResponseReturnValue:
    """Withdraw the request; nothing is charged."""
    return _answer(
        request_id,
        requests.withdraw,
        _("Your request is withdrawn: nothing is charged."),
    )


@bp.post("/accounting/requests/<int:request_id>/change")
@requires(Permission.USE_PORTAL)
def accounting_change(request_id: int) -> ResponseReturnValue:
    """Change what the request covers."""
    form = ChangeForm()
    if not form.validate_on_submit():
        return _page(AskForm())[0], 422
    try:
        requests.change(
            db.session(),
            actor(),
            request_id,
            since=form.since.data,
            until=form.until.data,
            part2=form.scope.data == SCOPE_PART2,
        )
    except Invalid as error:
        db.session.rollback()
        return _page(AskForm(), refusal=" ".join(translated(why) for why in error.fields.values()))[
            0
        ], 422
    except WrongState as error:
        db.session.rollback()
        return _page(AskForm(), refusal=translated(error.message))[0], 409
    flash(_("Your request is changed."), "success")
    return redirect(url_for("portal.accounting_page", _anchor="your-requests"))


@bp.get("/accounting/requests/<int:request_id>/fee-letter.pdf")
@requires(Permission.USE_PORTAL)
def accounting_fee_letter(request_id: int) -> Response:
    """The letter telling you the fee before anything is prepared."""
    found, data = requests.fee_letter(db.session(), actor(), request_id)
    return pdf_response(data, f"accounting-request-{found.id}-fee.pdf")


@bp.get("/accounting/requests/<int:request_id>/extension-letter.pdf")
@requires(Permission.USE_PORTAL)
def accounting_extension_letter(request_id: int) -> Response:
    """The letter giving the reasons for the delay and the new date."""
    found, data = requests.extension_letter(db.session(), actor(), request_id)
    return pdf_response(data, f"accounting-request-{found.id}-extension.pdf")


@bp.get("/accounting/requests/<int:request_id>/report.pdf")
@requires(Permission.USE_PORTAL)
def accounting_report(request_id: int) -> Response:
    """The accounting your practice sent in answer to your request."""
    found, data = requests.report(db.session(), actor(), request_id)
    return pdf_response(data, f"accounting-request-{found.id}.pdf")


def _answer(
    request_id: int, step: Callable[[Session, Actor, int], AccountingRequest], done: str
) -> ResponseReturnValue:
    if not AnswerForm().validate_on_submit():
        return _page(AskForm())[0], 400
    try:
        step(db.session(), actor(), request_id)
    except WrongState as error:
        db.session.rollback()
        return _page(AskForm(), refusal=translated(error.message))[0], 409
    flash(done, "success")
    return redirect(url_for("portal.accounting_page", _anchor="your-requests"))


def _page(ask_form: AskForm, *, refusal: str | None = None) -> tuple[str, int]:
    me = actor()
    form = PeriodForm(formdata=request.args)
    found: Accounting | None = None
    status = 200
    if me.client_id is not None:
        if form.validate():
            try:
                found = accounting.accounting(
                    db.session(),
                    me,
                    form_library(),
                    me.client_id,
                    since=form.since.data,
                    until=form.until.data,
                    part2=bool(form.part2.data),
                    language=form_language(),
                )
            except Invalid as error:
                apply_errors(form, error)
                status = 422
        else:
            status = 422
    mine = requests.requests_for(db.session(), me, client_id=me.client_id) if me.client_id else []
    return render_template(
        "portal/accounting.html",
        form=form,
        found=found,
        download_args=(
            period_args(form.since.data, form.until.data, form.part2.data) if found else {}
        ),
        ask_form=ask_form,
        mine=mine,
        reasons={r.id: requests.extension_reason_of(r) for r in mine if r.extended_to},
        can_ask=me.client_id is not None and not any(not r.closed for r in mine),
        change_form=ChangeForm(formdata=None),
        refusal=refusal,
        today=practice_today(),
    ), status


def _own_client_id() -> int:
    client_id = actor().client_id
    if client_id is None:
        raise NotFound("client")
    return client_id
