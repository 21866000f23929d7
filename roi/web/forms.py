"""What every audience's forms share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from jinja2 import pass_context
from jinja2.runtime import Context
from wtforms import DateField, Field, HiddenField, SelectChoice, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import ListWidget

from roi import inputs
from roi.accounts.practice import COMMON_TIME_ZONES
from roi.clock import time_zones
from roi.errors import Invalid
from roi.web.language import translated


def apply_errors(form: FlaskForm, error: Invalid) -> None:
    """Show a service's field reasons next to the fields, in the page's language; others go on
    the form as a whole."""
    for name, reason in error.fields.items():
        why = translated(reason)
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, why]
        else:
            form.form_errors.append(why)


class DayField(DateField):
    """A date field that takes only the days a record of roi can hold (roi.inputs)."""

    def pre_validate(self, form: Any) -> None:
        why = inputs.day_problem(self.data) if self.data is not None else None
        if why is not None:
            raise ValidationError(translated(why))


class NameField(StringField):
    """A person's or an organization's name: nothing invisible or direction-changing in it,
    kept in NFC (roi.inputs)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        typed = getattr(self, "data", None)  # wtforms' stubs leave `data` untyped
        if isinstance(typed, str):
            self.data = inputs.normal_name(typed)

    def pre_validate(self, form: Any) -> None:
        plain_text(form, self)


def plain_text(form: Any, field: Field) -> None:
    """A WTForms validator: names and email addresses hide nothing (roi.inputs.name_problem).

    Raises:
        ValidationError: the field holds a control, invisible or direction-changing character.
    """
    why = inputs.name_problem(field.data) if isinstance(field.data, str) else None
    if why is not None:
        raise ValidationError(translated(why))


def record_id(value: Any) -> int:
    """A SelectField's `coerce` for record ids: a number an id column can hold, or 0 (the
    "Choose…" placeholder, which no record has).

    Raises:
        ValueError: not a number, or out of range (WTForms shows "not a valid choice").
    """
    number = int(value)
    if not 0 <= number <= inputs.MAX_ID:
        raise ValueError(f"{number} is not a record id")
    return number


def refused_status(form: FlaskForm) -> int:
    """The status of a form page: 200 when first shown, 422 when a submission was refused, as
    the API answers the same fields."""
    return 422 if form.is_submitted() else 200


@dataclass(frozen=True)
class SummaryItem:
    """One line of a refused page's error summary: what is wrong, and where (None: no field)."""

    message: str
    target: str | None


@pass_context
def error_summary(context: Context) -> list[SummaryItem]:
    """A template global: every error of every form the page shows, for the summary at its top
    (base.html), so no view or template has to remember it."""
    return summary_of(context.get_all())


def summary_of(values: Mapping[str, Any]) -> list[SummaryItem]:
    """Every error of the forms among a template's values, each form once, in field order."""
    items: list[SummaryItem] = []
    seen: set[int] = set()
    for value in values.values():
        if isinstance(value, FlaskForm) and id(value) not in seen:
            seen.add(id(value))
            items += _form_summary(value)
    return items


def _form_summary(form: FlaskForm) -> list[SummaryItem]:
    items: list[SummaryItem] = []
    for field in form:
        for message in field.errors if isinstance(field.errors, list) else []:
            if isinstance(field, HiddenField):
                items.append(SummaryItem(str(message), None))
            else:
                items.append(SummaryItem(_standing_alone(field, str(message)), _target(field)))
    items += [SummaryItem(str(message), form_errors_id(form)) for message in form.form_errors]
    return items


def form_errors_id(form: FlaskForm) -> str:
    """A template global: the id of the box of a form's own errors (the form_errors macro), to
    which the summary links; one per form class, as a page shows each form once."""
    return f"{type(form).__name__.lower()}-errors"


#: how WTForms' own messages start ("This field is required.", "Not a valid choice.", "Invalid
#: email address.", "Field must be between 1 and 100 characters long."), in English and in
#: WTForms' Spanish ("Este campo es obligatorio.", "Opción inválida."): they name no field
_GENERIC = (
    "This field",
    "Not a valid",
    "Invalid",
    "Field ",
    "Number must",
    "Este campo",
    "El campo",
    "El número",
    "No es ",
    "Opción inválida",
    "Valor inválido",
    "Email inválido",
    "Elección inválida",
)


def _standing_alone(field: Field, message: str) -> str:
    """The message as the summary shows it, away from its field: roi's own messages say what
    to do ("Enter your date of birth."), WTForms' get the field's label before them."""
    return f"{field.label.text}: {message}" if message.startswith(_GENERIC) else message


def _target(field: Field) -> str:
    """The id the summary links to: the field, or its first option when its options are shown
    one by one (radios, checkboxes), as the templates render them in a fieldset."""
    return f"{field.id}-0" if isinstance(field.widget, ListWidget) else str(field.id)


def time_zone_choices(first: SelectChoice | None = None) -> list[SelectChoice]:
    """The options of a time-zone select: `first` if given, the common US zones named in the
    page's language, then every other IANA zone by its name."""
    common = [
        SelectChoice(zone, _("%(name)s (%(zone)s)", name=translated(name), zone=zone))
        for zone, name in COMMON_TIME_ZONES
    ]
    known = {zone for zone, _name in COMMON_TIME_ZONES}
    others = [SelectChoice(zone, zone) for zone in sorted(time_zones() - known)]
    return [*([first] if first else []), *common, *others]
