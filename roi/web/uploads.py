"""Files a browser uploads, as the attachments the services check by content."""

from __future__ import annotations

import mimetypes

from werkzeug.datastructures import FileStorage

from roi.messaging.service import ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES, NewAttachment


def uploaded(upload: FileStorage) -> NewAttachment:
    """One uploaded file, read one byte past the limit so the service can refuse it."""
    return NewAttachment(
        filename=_base_name(upload.filename or ""),
        content_type=_content_type(upload),
        content=upload.stream.read(MAX_ATTACHMENT_BYTES + 1),
    )


def _base_name(name: str) -> str:
    # some browsers send the whole local path; only the last part is the file's name
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def _content_type(upload: FileStorage) -> str:
    """The type the browser declared, or the one the name suggests when the browser declared
    none roi accepts; the service then checks the content against it."""
    declared = upload.mimetype or ""
    if declared in ATTACHMENT_TYPES:
        return declared
    guessed, _ = mimetypes.guess_type(upload.filename or "")
    return guessed if guessed in ATTACHMENT_TYPES else declared or "application/octet-stream"
