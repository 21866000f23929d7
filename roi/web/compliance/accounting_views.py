"""Accounting of disclosures and accounting requests, for compliance officers.

A client is chosen from a select box whose values are ids, and the range and the Part 2 toggle
travel as query parameters, so no name reaches a URL (SECURITY D4). Every view and download of
an accounting is audited by the service; requests are compliance's own workflow records.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from wtforms import SelectChoice

from roi.accounts.policy import Permission
from roi.actor import Actor
from roi.compliance import accounting, requests, suspensions
from roi.compliance.accounting import Shown
from roi.compliance.models import AccountingRequest, Channel
from roi.errors import Invalid, WrongState
from roi.extensions import db
from roi.web.compliance import bp
from roi.web.compliance.forms import (
    AccountingFilterForm,
    AccountingRequestForm,
    ClientChoiceForm,
    ExtensionForm,
    FeeForm,
    FulfilForm,
    SuspensionForm,
)
from roi.web.downloads import pdf_response, period_args
from roi.web.forms import apply_errors
from roi.web.inputs import takes_scans
from roi.web.language import day, form_language, translated
from roi.web.outside_disclosures import directory_choices, record_page
from roi.web.security import actor, form_library, practice_today, requires


@bp.get("/accounting")
@requires(Permission.USE_COMPLIANCE_WORKSPACE)
def accounting_start() -> ResponseReturnValue:
    """Choose a client, then see their accounting of disclosures."""
    form = _client_choice()
    if request.args.get("client_id") and form.validate():
        return redirect(url_for("compliance.accounting_client", client_id=int(form.client_id.data)))
    return render_template("compliance/accounting.html", form=form)


@bp.get("/accounting/clients/<int:client_id>")
@requires(Permission.USE_COMPLIANCE_WORKSPACE)
def accounting_client(client_id: int) -> ResponseReturnValue:
    """One client's accounting over the range asked for (six years by default)."""
    form = AccountingFilterForm(formdata=request.args)
    found = None
    status = 200
    if form.validate():
        try:
            found = accounting.accounting(
                db.session(),
                actor(),
                form_library(),
                client_id,
                since=form.since.data,
                until=form.until.data,
                part2=bool(form.part2.data),
                summarized=bool(form.summarize.data),
                language=form_language(),
            )
        except Invalid as error:
            apply_errors(form, error)
            status = 422
    else:
        status = 422
    client = accounting.client_for_accounting(db.session(), actor(), client_id)
    return render_template(
        "compliance/accounting_client.html",
        client=client,
        form=form,
        found=found,
        download_args=(
            period_args(
                form.since.data, form.until.data, form.part2.data, bool(form.summarize.data)
            )
            if found
            else {}
        ),
        requests=requests.requests_for(db.session(), actor(), client_id=client_id),
        today=practice_today(),
    ), status


@bp.route("/accounting/clients/<int:client_id>/disclosures/new", methods=["GET", "POST"])
@requires(Permission.USE_COMPLIANCE_WORKSPACE)
@takes_scans
def outside_disclosure_new(client_id: int) -> ResponseReturnValue:
    """Record a disclosure about this client made by phone, fax, mail or in court."""
    return record_page(
        client_id, endpoint="compliance.outside_disclosure_new", back="compliance.accounting_client"
    )


@bp.route("/accounting/suspensions", methods=["GET", "POST"])
@requires(Permission.MANAGE_ACCOUNTING_POLICY)
def accounting_suspensions() -> ResponseReturnValue:
    """Agencies whose entries are suspended from accountings, and a form to add one."""
    form = SuspensionForm()
    form.recipient_provider_id.choices = directory_choices(_("No directory entry"))
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            chosen = form.recipient_provider_id.data or ""
            new = suspensions.NewSuspension(
                agency=form.agency.data or "",
                until=form.until.data,
                written=form.written.data == "written",
                recipient_provider_id=int(chosen) if chosen.isdigit() else None,
                statement=form.statement.data,
            )
            try:
                found = suspensions.suspend(db.session(), actor(), new)
            except Invalid as error:
                db.session.rollback()
                apply_errors(form, error)
            else:
                flash(
                    _(
                        "%(agency)s: its disclosures are left out of accountings until %(day)s.",
                        agency=found.agency,
                        day=format_date(found.until, "long"),
                    ),
                    "success",
                )
                return redirect(url_for("compliance.accounting_suspensions"))
    listed = suspensions.suspensions(db.session(), actor())
    return render_template(
        "compliance/accounting_suspensions.html",
        form=form,
        suspensions=listed,
        statements={s.id: suspensions.statement_of(s) for s in listed},
        today=practice_today(),
    ), status


@bp.get("/accounting/clients/<int:client_id>/accounting.pdf")
@requires(Permission.USE_COMPLIANCE_WORKSPACE)
def accounting_pdf(client_id: int) -> Response:
    """The accounting as a PDF (audited as an export)."""
    return _export(client_id, Shown.PDF)


@bp.get("/accounting/clients/<int:client_id>/accounting.csv")
@requires(Permission.USE_COMPLIANCE_WORKSPACE)
def accounting_csv(client_id: int) -> Response:
    """The accounting as CSV (audited as an export)."""
    return _export(client_id, Shown.CSV)


@bp.get("/accounting/requests")
@requires(Permission.MANAGE_ACCOUNTING_REQUESTS)
def accounting_requests() -> str:
    """Open requests by due date (overdue ones marked), then the latest fulfilled ones."""
    session = db.session()
    fee_form = FeeForm()
    fee_form.fee.data = Decimal(requests.repeat_fee(session, actor().organization_id or 0)) / 100
    return render_template(
        "compliance/accounting_requests.html",
        open_requests=requests.open_requests(session, actor()),
        fulfilled=requests.fulfilled_requests(session, actor()),
        late=requests.fulfilled_late,
        fee_form=fee_form,
        today=practice_today(),
    )


@bp.route("/accounting/requests/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_ACCOUNTING_REQUESTS)
def accounting_request_new() -> ResponseReturnValue:
    """Record a request that arrived by letter, phone or in person."""
    form = AccountingRequestForm()
    form.client_id.choices = _client_choices()
    if request.method == "GET":
        form.received_on.data = practice_today()
        if request.args.get("client_id", "").isdigit():
            form.client_id.data = request.args["client_id"]
        return render_template("compliance/accounting_request_new.html", form=form)
    if not form.validate_on_submit():
        return render_template("compliance/accounting_request_new.html", form=form), 422
    if request.form.get("step") == "change":
        return render_template("compliance/accounting_request_new.html", form=form)
    if request.form.get("step") != "confirmed":
        return _confirm_request(form)
    new = requests.NewRequest(
        client_id=int(form.client_id.data),
        received_on=form.received_on.data,
        channel=Channel(form.channel.data),
        since=form.since.data,
        until=form.until.data,
        part2=bool(form.part2.data),
        note=form.note.data or None,
    )
    try:
        found = requests.record(db.session(), actor(), new)
    except Invalid as error:
        db.session.rollback()
        apply_errors(form, error)
        return render_template("compliance/accounting_request_new.html", form=form), 422
    due = format_date(found.due_on, "long")
    if found.free:
        flash(
            _("Request #%(id)d recorded: due %(due)s, free of charge.", id=found.id, due=due),
            "success",
        )
    else:
        flash(
            _(
                "Request #%(id)d recorded: due %(due)s; a fee may apply "
                "(not the first in 12 months).",
                id=found.id,
                due=due,
            ),
            "success",
        )
    return redirect(url_for("compliance.accounting_request", request_id=found.id))


def _confirm_request(form: AccountingRequestForm) -> str:
    """The request as it will be recorded, with its due date, before it starts the clock."""
    client_name = next(
        (c.label for c in form.client_id.choices if c.value == form.client_id.data), ""
    )
    return render_template(
        "compliance/accounting_request_confirm.html",
        form=form,
        client_name=client_name,
        due=form.received_on.data + requests.DEADLINE,
    )


@bp.get("/accounting/requests/<int:request_id>")
@requires(Permission.MANAGE_ACCOUNTING_REQUESTS)
def accounting_request(request_id: int) -> str:
    """One request: what was asked, when it is due, and what can be done with it now."""
    return _request_page(request_id, ExtensionForm())


@bp.post("/accounting/requests/<int:request_id>/extension")
@requires(Permission.MANAGE_ACCOUNTING_REQUESTS)
def accounting_request_extend(request_id: int) -> ResponseReturnValue:
    """Extend the deadline once by 30 days, with the written reason."""
    form = ExtensionForm()
    if not form.validate_on_submit():
        return _request_page(request_id, form), 422
    try:
        found = requests.extend(db.session(), actor(), request_id, form.reason.data or "")
    except Invalid as error:
        db.session.rollback()
        apply_errors(form, error)
        return _request_page(request_id, form), 422
    except WrongState as error:
        db.session.rollback()
        return _request_page(request_id, form, refusal=translated(error.message)), 409
    flash(
        _(
            "Extended to %(due)s. Tell the client why, in writing.",
            due=format_date(found.due, "long"),
        ),
        "success",
    )
    return redirect(url_for("compliance.accounting_request", request_id=request_id))


@bp.post("/accounting/requests/<int:request_id>/fulfilment")
@requires(Permission.MANAGE_ACCOUNTING_REQUESTS)
def accounting_request_fulfil(request_id: int) -> ResponseReturnValue:
    """Generate the accounting for the range asked for and attach it to the request."""
    form = FulfilForm()
    if not form.validate_on_submit():
        return _request_page(request_id, ExtensionForm()), 400
    try:
        requests.fulfil(db.session(), actor(), form_library(), request_id)
    except WrongState as error:
        db.session.rollback()
        return _request_page(request_id, ExtensionForm(), refusal=translated(error.message)), 409
    flash(_("Fulfilled: the report is attached. Download it and send it to the client."), "success")
    return redirect(url_for("compliance.accounting_request", request_id=request_id))


@bp.post("/accounting/requests/<int:request_id>/fee-acceptance")
@requires(Permission.MANAGE_ACCOUNTING_REQUESTS)
def accounting_request_accept_fee(request_id: int) -> ResponseReturnValue:
    """Record that the client agreed to the fee (by phone, by letter)."""
    return _answer(
        request_id, requests.accept_fee, _("The client's agreement to the fee is recorded.")
    )


@bp.post("/accounting/requests/<int:request_id>/withdrawal")
@requires(Permission.MANAGE_ACCOUNTING_REQUESTS)
def accounting_request_withdraw(request_id: int) -> ResponseReturnValue:
    """Record that the client withdrew the request."""
    return _answer(request_id, requests.withdraw, _("The request is withdrawn."))


@bp.get("/accounting/requests/<int:request_id>/fee-letter.pdf")
@requires(Permission.MANAGE_ACCOUNTING_REQUESTS)
def accounting_request_fee_letter(request_id: int) -> Response:
    """The letter telling the client the fee in advance."""
    found, data = requests.fee_letter(db.session(), actor(), request_id)
    return pdf_response(data, f"accounting-request-{found.id}-fee.pdf")


@bp.get("/accounting/requests/<int:request_id>/extension-letter.pdf")
@requires(Permission.MANAGE_ACCOUNTING_REQUESTS)
def accounting_request_extension_letter(request_id: int) -> Response:
    """The written statement of the reasons for the delay and the new date."""
    found, data = requests.extension_letter(db.session(), actor(), request_id)
    return pdf_response(data, f"accounting-request-{found.id}-extension.pdf")


@bp.post("/accounting/settings")
@requires(Permission.MANAGE_ACCOUNTING_POLICY)
def accounting_settings() -> ResponseReturnValue:
    """Set the fee for a repeat accounting within 12 months."""
    form = FeeForm()
    if form.validate_on_submit():
        try:
            found = requests.set_repeat_fee(
                db.session(), actor(), round((form.fee.data or Decimal(0)) * 100)
            )
        except Invalid as error:
            db.session.rollback()
            flash(" ".join(translated(text) for text in error.fields.values()), "error")
        else:
            flash(
                _(
                    "Repeat accountings are now quoted %(fee)s.",
                    fee=requests.money(found.repeat_fee_cents),
                ),
                "success",
            )
    else:
        flash(_("Give the fee in dollars, for example 25.00."), "error")
    return redirect(url_for("compliance.accounting_requests"))


@bp.get("/accounting/requests/<int:request_id>/report.pdf")
@requires(Permission.MANAGE_ACCOUNTING_REQUESTS)
def accounting_request_report(request_id: int) -> Response:
    """The report the request was fulfilled with, byte for byte."""
    found, data = requests.report(db.session(), actor(), request_id)
    return pdf_response(data, f"accounting-request-{found.id}.pdf")


def _export(client_id: int, file_format: Shown) -> Response:
    form = AccountingFilterForm(formdata=request.args)
    if not form.validate():
        raise Invalid({k: " ".join(v) for k, v in form.errors.items()})
    result = accounting.export(
        db.session(),
        actor(),
        form_library(),
        client_id,
        file_format=file_format,
        since=form.since.data,
        until=form.until.data,
        part2=bool(form.part2.data),
        summarized=bool(form.summarize.data),
    )
    if file_format is Shown.PDF:
        return pdf_response(result.data, result.filename)
    return csv_response(result.data, result.filename)


def csv_response(data: bytes, filename: str) -> Response:
    """A CSV download that no browser or proxy keeps."""
    response = Response(data, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _answer(
    request_id: int,
    step: Callable[[Session, Actor, int], AccountingRequest],
    done: str,
) -> ResponseReturnValue:
    """Record the client's answer about the fee, given outside roi."""
    if not FulfilForm().validate_on_submit():
        return _request_page(request_id, ExtensionForm()), 400
    try:
        step(db.session(), actor(), request_id)
    except WrongState as error:
        db.session.rollback()
        return _request_page(request_id, ExtensionForm(), refusal=translated(error.message)), 409
    flash(done, "success")
    return redirect(url_for("compliance.accounting_request", request_id=request_id))


def _request_page(request_id: int, form: ExtensionForm, *, refusal: str | None = None) -> str:
    found = requests.request_for(db.session(), actor(), request_id)
    return render_template(
        "compliance/accounting_request.html",
        found=found,
        note=requests.note_of(found),
        reason=requests.extension_reason_of(found),
        extension_form=form,
        fulfil_form=FulfilForm(),
        refusal=refusal,
        today=practice_today(),
        new_due=found.due_on + requests.EXTENSION,
        freed=requests.freed_by(db.session(), actor(), found.id) if found.withdrawn else None,
    )


def _client_choice() -> ClientChoiceForm:
    form = ClientChoiceForm(formdata=request.args if request.args else None)
    form.client_id.choices = [SelectChoice("", _("Choose a client")), *_client_choices()]
    return form


def _client_choices() -> list[SelectChoice]:
    return [
        SelectChoice(
            str(c.id),
            _(
                "%(family)s, %(given)s (born %(born)s)",
                family=c.family_name,
                given=c.given_name,
                born=format_date(c.birth_date, "long"),
            ),
        )
        for c in accounting.clients_for_accounting(db.session(), actor())
    ]


def due_words(found: AccountingRequest, today: date) -> str:
    """'due in 12 days', 'due today', 'overdue by 3 days' (fulfilled requests say when)."""
    if found.fulfilled_at is not None:
        return _("fulfilled %(day)s", day=day(found.fulfilled_at))
    days = (found.due - today).days
    if days > 0:
        return ngettext("due in %(num)d day", "due in %(num)d days", days)
    if days == 0:
        return _("due today")
    return ngettext("overdue by %(num)d day", "overdue by %(num)d days", -days)


bp.add_app_template_global(due_words, "accounting_due_words")
bp.add_app_template_filter(requests.money, "money")
