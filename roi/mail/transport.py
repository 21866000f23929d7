"""Hands one composed mail to SMTP (when ROI_SMTP_URL is set) or to the instance's outbox folder.

Both are safe to repeat: the folder keeps one file per Message-ID, and a mail server that gets the
same mail twice (a worker killed after the server accepted it) gets the same Message-ID.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from roi.config import Settings
from roi.errors import ConfigError

FOLDER = "outbox"
#: what a failed delivery raises; anything else is a bug and stops the worker loudly
DELIVERY_ERRORS = (OSError, smtplib.SMTPException, ConfigError)


def compose(
    settings: Settings,
    *,
    ident: str,
    created_at: datetime,
    to: str,
    subject: str,
    body: str,
) -> EmailMessage:
    """The mail as sent; `ident` and `created_at` make every delivery of it identical."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(created_at)
    message["Message-ID"] = f"<{ident}@{settings.mail_from.rsplit('@', 1)[-1]}>"
    message.set_content(body)
    return message


def hand_over(settings: Settings, message: EmailMessage, *, name: str) -> None:
    """Deliver `message`; raises one of DELIVERY_ERRORS when it did not go out."""
    if settings.smtp_url:
        _send_smtp(settings.smtp_url, message)
    else:
        _write_folder(settings.instance_path / FOLDER, message, name)


def _write_folder(folder: Path, message: EmailMessage, name: str) -> None:
    """Write <name>.eml (mode 0600) whole or not at all: a file that exists is a delivered mail."""
    folder.mkdir(mode=0o700, exist_ok=True)
    final = folder / f"{name}.eml"
    if final.exists():
        return
    partial = folder / f".{name}.{os.getpid()}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(message))
            handle.flush()
            os.fsync(handle.fileno())
        # atomic, and refuses to replace the file a worker that took the item over wrote
        with contextlib.suppress(FileExistsError):
            os.link(partial, final)
    finally:
        partial.unlink(missing_ok=True)


def _send_smtp(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps", "smtp+starttls"}:
        raise ConfigError("ROI_SMTP_URL must start with smtp://, smtp+starttls:// or smtps://")
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, parts.port or 465, timeout=10, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, parts.port or 25, timeout=10)
    with client:
        if parts.scheme == "smtp+starttls":
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)
