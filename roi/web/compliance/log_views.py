"""The disclosure log, an entry's detail, its CSV export, and chain verification.

Filters travel as GET query parameters so a filtered view can be bookmarked and paged, and so
they hold ids, codes and dates only: a client is chosen by name from a select box whose values
are ids, and no name ever reaches a URL or an access log (SECURITY D4).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField
from wtforms.validators import NumberRange, Optional, ValidationError

from roi.accounts.policy import Permission
from roi.audit import Outcome
from roi.audit.search import MAX_SEQ, EntryFilter
from roi.compliance import log as disclosure_log
from roi.compliance import log_csv as csv_export
from roi.compliance import verification, wording
from roi.compliance.log import (
    DEFAULT_GROUP,
    GROUP_ACTIONS,
    GROUP_LABELS,
    ActionGroup,
    Choice,
    FilterChoices,
)
from roi.extensions import db
from roi.i18n import N_
from roi.web.compliance import bp
from roi.web.forms import DayField
from roi.web.language import form_language
from roi.web.scope import scope_line
from roi.web.security import actor, form_library, requires

OUTCOME_LABELS: dict[str, str] = {
    Outcome.PERMIT: N_("Permitted"),
    Outcome.DENY: N_("Denied"),
    Outcome.SUCCESS: N_("Succeeded"),
    Outcome.FAILURE: N_("Failed"),
}
#: the query parameters a filtered view is made of (and that its links carry on)
FILTER_PARAMS = ("client_id", "provider_id", "actor_id", "group", "outcome", "since", "until")


class LogFilterForm(FlaskForm):
    """The log's filters, read from the query string; shape only."""

    class Meta:
        # A GET form changes nothing, and a CSRF token would put a secret into the URL.
        csrf = False

    # default "": WTForms would otherwise coerce a missing value to the string "None"
    client_id = SelectField(
        lazy_gettext("Client"), choices=[SelectChoice("", lazy_gettext("Any client"))], default=""
    )
    provider_id = SelectField(
        lazy_gettext("Recipient provider"),
        choices=[SelectChoice("", lazy_gettext("Any recipient"))],
        default="",
    )
    actor_id = SelectField(
        lazy_gettext("Done by"), choices=[SelectChoice("", lazy_gettext("Anyone"))], default=""
    )
    group = SelectField(
        lazy_gettext("What happened"),
        choices=[
            SelectChoice(group.value, lazy_gettext(GROUP_LABELS[group])) for group in ActionGroup
        ],
        default=DEFAULT_GROUP.value,
    )
    outcome = SelectField(
        lazy_gettext("Outcome"),
        choices=[
            SelectChoice("", lazy_gettext("Any outcome")),
            *(SelectChoice(str(o), lazy_gettext(label)) for o, label in OUTCOME_LABELS.items()),
        ],
        default="",
    )
    since = DayField(lazy_gettext("From (UTC)"), validators=[Optional()])
    until = DayField(lazy_gettext("To (UTC, inclusive)"), validators=[Optional()])
    before = IntegerField(
        lazy_gettext("Page"), validators=[Optional(), NumberRange(min=1, max=MAX_SEQ)]
    )

    def validate_until(self, field: DayField) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_("The end date is before the start date."))


def _filter_form(choices: FilterChoices) -> LogFilterForm:
    form = LogFilterForm(formdata=request.args)
    form.client_id.choices = _options(_("Any client"), choices.clients)
    form.provider_id.choices = _options(_("Any recipient"), choices.providers)
    form.actor_id.choices = _options(_("Anyone"), choices.staff)
    return form


def _options(anyone: str, choices: list[Choice]) -> list[SelectChoice]:
    return [SelectChoice("", anyone), *(SelectChoice(str(c.id), c.label) for c in choices)]


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def _entry_filter(form: LogFilterForm) -> EntryFilter:
    """The form's choices as the log's filter; "to" includes the whole of its day."""
    until = _day_start(form.until.data)
    return EntryFilter(
        client_id=int(form.client_id.data) if form.client_id.data else None,
        recipient_provider_id=int(form.provider_id.data) if form.provider_id.data else None,
        actor_id=int(form.actor_id.data) if form.actor_id.data else None,
        actions=GROUP_ACTIONS[ActionGroup(form.group.data or DEFAULT_GROUP)],
        outcome=Outcome(form.outcome.data) if form.outcome.data else None,
        since=_day_start(form.since.data),
        until=until + timedelta(days=1) if until else None,
    )


def _filter_args(form: LogFilterForm) -> dict[str, str]:
    """The valid filters as query parameters, for the CSV link and the next page's link."""
    args: dict[str, str] = {}
    for name in FILTER_PARAMS:
        value = getattr(form, name).data
        if value and not (name == "group" and value == DEFAULT_GROUP.value):
            args[name] = value.isoformat() if isinstance(value, date) else str(value)
    return args


def _labels() -> dict[str, Any]:
    library = form_library()
    return {
        "category_labels": {c.code: c.label for c in library.categories(form_language())},
        "purpose_labels": {p.code: p.label for p in library.purposes(form_language())},
        "outcome_labels": OUTCOME_LABELS,
        "reason_text": partial(wording.reason_sentence, library=library, language=form_language()),
    }


def _log_page(form: LogFilterForm, **context: Any) -> str:
    return render_template(
        "compliance/log.html", form=form, filters=_filter_args(form), **_labels(), **context
    )


@bp.get("/log")
@requires(Permission.VIEW_DISCLOSURE_LOG)
def log() -> ResponseReturnValue:
    """The disclosure log, newest first, filtered and a page at a time."""
    me = actor()
    form = _filter_form(disclosure_log.filter_choices(db.session(), me))
    if not form.validate():
        return _log_page(form, rows=None, next_before=None), 422
    page = disclosure_log.log_page(
        db.session(),
        me,
        _entry_filter(form),
        before=form.before.data or None,
        limit=disclosure_log.PAGE_SIZE,
    )
    return _log_page(form, rows=page.rows, next_before=page.next_before)


@bp.get(f"/log/<int(max={MAX_SEQ}):seq>")  # a seq is BIGINT, beyond a record id's range
@requires(Permission.VIEW_DISCLOSURE_LOG)
def log_entry(seq: int) -> str:
    """One entry: every field, the reasons in sentences, its consent and message (metadata)."""
    detail = disclosure_log.log_entry(db.session(), actor(), seq, form_library(), form_language())
    return render_template(
        "compliance/log_entry.html", detail=detail, scope_line=scope_line, **_labels()
    )


@bp.get("/log.csv")
@requires(Permission.VIEW_DISCLOSURE_LOG)
def log_csv() -> ResponseReturnValue:
    """The filtered log as a CSV download (every matching entry, not one page)."""
    me = actor()
    form = _filter_form(disclosure_log.filter_choices(db.session(), me))
    if not form.validate():
        return _log_page(form, rows=None, next_before=None), 422
    export = csv_export.export_csv(db.session(), me, _entry_filter(form), form_library())
    response = Response(export.content, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["Content-Length"] = str(len(export.content))
    return response


@bp.get("/verify")
@requires(Permission.VERIFY_AUDIT_CHAIN)
def verify_page() -> str:
    """The last verification of the audit chain, and the button that runs one."""
    last = verification.last_verification(db.session(), actor())
    return render_template("compliance/verify.html", last=last, result=None)


@bp.post("/verify")
@requires(Permission.VERIFY_AUDIT_CHAIN)
def verify_chain() -> str:
    """Verify the whole chain now (recorded as audit.verified) and show the answer."""
    result = verification.verify_chain(db.session(), actor())
    return render_template("compliance/verify.html", last=None, result=result)
