"""Files a browser uploads, as the uploads the services check by content
(`roi.documents.attachments`)."""

from __future__ import annotations

from flask import request
from werkzeug.datastructures import FileStorage

from roi.documents import attachments
from roi.messaging.service import MAX_ATTACHMENT_BYTES


def uploaded(upload: FileStorage, max_bytes: int = MAX_ATTACHMENT_BYTES) -> attachments.Upload:
    """One uploaded file, read one byte past `max_bytes` so the service can refuse it."""
    return attachments.Upload(
        filename=_base_name(upload.filename or ""),
        content_type=attachments.declared_type(upload.filename or "", upload.mimetype or ""),
        content=upload.stream.read(max_bytes + 1),
    )


def uploaded_file(name: str, max_bytes: int) -> attachments.Upload | None:
    """The file chosen in the form's field `name`, None when none was chosen."""
    chosen = request.files.get(name)
    if chosen is None or not chosen.filename:
        return None
    return uploaded(chosen, max_bytes)


def _base_name(name: str) -> str:
    # some browsers send the whole local path; only the last part is the file's name
    return name.replace("\\", "/").rsplit("/", 1)[-1]
