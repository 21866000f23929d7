"""Files people upload (message attachments; scans of paper releases, revocation letters,
representatives' authority and the written requests behind disclosures without consent): the one
check of what a file is, made on its content, and the one limit of a scan's size.

A browser declares whatever type the file's name suggests, so the declared type only says which
check to run: a PDF must start with `%PDF-`, a PNG and a JPEG with their signatures, and plain
text must be UTF-8 without NUL bytes.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass

MB = 1024 * 1024
MAX_FILENAME = 200
#: what an uploaded file may be, with the bytes every such file starts with
TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "text/plain": (),
}
#: what a scan of a signed paper may be: text is not a scan
SCAN_TYPES: dict[str, tuple[bytes, ...]] = {k: v for k, v in TYPES.items() if k != "text/plain"}
#: every scanned document: a paper release, a letter of revocation, the court order or power of
#: attorney behind a representative, the subpoena or order behind a disclosure without consent.
#: Several pages at 300 dpi; one limit, so a scan that goes in one place goes in every other.
MAX_SCAN_BYTES = 15 * MB
#: the ending a download of each kind of file is named with
ENDINGS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "text/plain": "txt"}
#: the words a refusal uses for each kind of file
TYPE_WORDS = {
    "application/pdf": "PDF",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "text/plain": "plain-text",
}


@dataclass(frozen=True)
class Upload:
    """A file as someone uploaded it: its name, the type they declared, its bytes."""

    filename: str
    content_type: str
    content: bytes


def problem(
    upload: Upload,
    *,
    max_bytes: int,
    types: Mapping[str, tuple[bytes, ...]] = TYPES,
) -> str | None:
    """Why `upload` is not acceptable, in a sentence naming the file; None when it is."""
    name = upload.filename.strip()
    if not name or len(name) > MAX_FILENAME or any(ch in name for ch in "\x00/\\"):
        return f"Each file needs a plain name under {MAX_FILENAME} characters."
    if upload.content_type not in types:
        return f"{name}: attach {_either(types)} files only."
    if len(upload.content) > max_bytes:
        return f"{name}: each file must be under {max_bytes // MB} MB."
    if not upload.content:
        return f"{name}: the file is empty."
    magic = types[upload.content_type]
    if magic and not upload.content.startswith(magic):
        return f"{name}: the file is not the {upload.content_type} its name says."
    if upload.content_type == "text/plain" and not _is_text(upload.content):
        return f"{name}: the file is not plain UTF-8 text."
    return None


def scan_problem(upload: Upload) -> str | None:
    """Why `upload` is not an acceptable scan (a PDF, PNG or JPEG within MAX_SCAN_BYTES), in a
    sentence naming the file; None when it is."""
    return problem(upload, max_bytes=MAX_SCAN_BYTES, types=SCAN_TYPES)


def declared_type(filename: str, declared: str, types: Mapping[str, object] = TYPES) -> str:
    """The type a browser declared, or the one the name suggests when it declared none of
    `types`; `problem` then checks the content against it."""
    if declared in types:
        return declared
    guessed, _ = mimetypes.guess_type(filename)
    if guessed is not None and guessed in types:
        return guessed
    return declared or "application/octet-stream"


def _either(types: Mapping[str, object]) -> str:
    """ "PDF, PNG, JPEG or plain-text"."""
    words = [TYPE_WORDS[t] for t in types]
    return ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else words[0]


def _is_text(content: bytes) -> bool:
    try:
        text = content.decode()
    except UnicodeDecodeError:
        return False
    return "\x00" not in text
