"""Mail goes to the outbox by default and over SMTP when configured (a real local server)."""

from __future__ import annotations

import smtplib
import socket
import time
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from roi.config import Settings
from roi.mail import Mail, send
from tests.conftest import ORIGINAL_SMTP_CONNECT


class Collect(Message):
    def __init__(self) -> None:
        super().__init__()
        self.received: list[bytes] = []

    def handle_message(self, message) -> None:
        self.received.append(message.as_bytes())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def real_smtp(monkeypatch):
    """These tests open SMTP on purpose, to 127.0.0.1 only: lift the autouse guard."""
    monkeypatch.setattr(smtplib.SMTP, "connect", ORIGINAL_SMTP_CONNECT)


@pytest.fixture
def smtp_server(real_smtp):
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def test_mail_is_written_to_the_outbox_with_mode_0600(tmp_path):
    settings = Settings.from_env({}, {"instance_path": tmp_path, "secret_key": "x"})
    send(settings, Mail("client@example.org", "Hello", "A release is waiting."))
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    assert files[0].stat().st_mode & 0o077 == 0
    parsed = message_from_bytes(files[0].read_bytes())
    assert parsed["To"] == "client@example.org"
    assert parsed["From"] == "roi@localhost"


def test_mail_goes_over_smtp_when_configured(tmp_path, smtp_server):
    controller, handler = smtp_server
    settings = Settings.from_env(
        {
            "ROI_SMTP_URL": f"smtp://127.0.0.1:{controller.port}",
            "ROI_MAIL_FROM": "roi@clinic.example",
        },
        {"instance_path": tmp_path, "secret_key": "x"},
    )
    send(settings, Mail("client@example.org", "Your code", "Your code is 123456."))
    deadline = time.monotonic() + 5
    while not handler.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(handler.received) == 1
    parsed = message_from_bytes(handler.received[0])
    assert parsed["From"] == "roi@clinic.example"
    assert "123456" in parsed.get_payload()
    assert not (tmp_path / "outbox").exists()


def test_an_unreachable_smtp_server_does_not_raise(tmp_path, caplog, real_smtp):
    settings = Settings.from_env(
        {"ROI_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"},
        {"instance_path": tmp_path, "secret_key": "x"},
    )
    send(settings, Mail("client@example.org", "Hello", "Body"))
    assert "not delivered" in caplog.text
    assert "client@example.org" not in caplog.text
