"""Outgoing mail: written to the instance outbox by default, sent over SMTP when configured.

Messages carry no health information: they say that something is waiting, and link to it.
"""

from __future__ import annotations

import logging
import os
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from roi.clock import now
from roi.config import Settings
from roi.errors import ConfigError

logger = logging.getLogger(__name__)

OUTBOX = "outbox"


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def send(settings: Settings, mail: Mail) -> None:
    """Deliver `mail`: SMTP when ROI_SMTP_URL is set, else a .eml file in the outbox.

    Failures are logged (without the address) and swallowed: mail is sent after the action has
    committed, and the person can ask for the link again.
    """
    message = _message(settings, mail)
    try:
        if settings.smtp_url:
            _send_smtp(settings.smtp_url, message)
        else:
            _write_outbox(settings.instance_path / OUTBOX, message)
    except (OSError, smtplib.SMTPException) as error:
        logger.error("mail %s not delivered: %s", message["Message-ID"], type(error).__name__)


def _message(settings: Settings, mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now())
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rsplit("@", 1)[-1])
    message.set_content(mail.body)
    return message


def _write_outbox(folder: Path, message: EmailMessage) -> None:
    folder.mkdir(mode=0o700, exist_ok=True)
    name = f"{now():%Y%m%dT%H%M%S}-{secrets.token_hex(4)}.eml"
    fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(bytes(message))


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
