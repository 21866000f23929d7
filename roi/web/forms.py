"""What every audience's forms share."""

from __future__ import annotations

from flask_wtf import FlaskForm

from roi.errors import Invalid


def apply_errors(form: FlaskForm, error: Invalid) -> None:
    """Show a service's field reasons next to the fields; others go on the form as a whole."""
    for name, why in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, why]
        else:
            form.form_errors.append(why)
