"""What every audience's forms share."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, Field, StringField
from wtforms.validators import ValidationError

from roi import inputs
from roi.errors import Invalid


def apply_errors(form: FlaskForm, error: Invalid) -> None:
    """Show a service's field reasons next to the fields; others go on the form as a whole."""
    for name, why in error.fields.items():
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
            raise ValidationError(why)


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
        raise ValidationError(why)


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
