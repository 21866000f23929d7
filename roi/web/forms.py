"""What every audience's forms share."""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage

from roi.documents import attachments
from roi.errors import Invalid


def apply_errors(form: FlaskForm, error: Invalid) -> None:
    """Show a service's field reasons next to the fields; others go on the form as a whole."""
    for name, why in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, why]
        else:
            form.form_errors.append(why)


def uploaded_file(name: str, max_bytes: int) -> attachments.Upload | None:
    """The file chosen in the form's field `name`, None when none was chosen. It is read one
    byte past `max_bytes`, so the service refuses a file that is too large."""
    chosen = request.files.get(name)
    if chosen is None or not chosen.filename:
        return None
    return upload_of(chosen, max_bytes)


def upload_of(chosen: FileStorage, max_bytes: int) -> attachments.Upload:
    """A browser's file, with its plain name and the type to check its content against."""
    return attachments.Upload(
        filename=base_name(chosen.filename or ""),
        content_type=attachments.declared_type(chosen.filename or "", chosen.mimetype or ""),
        content=chosen.stream.read(max_bytes + 1),
    )


def base_name(name: str) -> str:
    """The file's own name: some browsers send the whole local path."""
    return name.replace("\\", "/").rsplit("/", 1)[-1]
