"""The transport: the outbox folder by default (mode 0600, one file per mail), SMTP when configured
(a real local server)."""

from __future__ import annotations

import smtplib
import socket
from datetime import UTC, datetime
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from roi.config import Settings
from roi.mail import transport
from tests.conftest import ORIGINAL_SMTP_CONNECT

WRITTEN = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)


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


def composed(settings: Settings, body: str = "A release is waiting."):
    return transport.compose(
        settings,
        ident="0b9e3c1e-0000-4000-8000-000000000001",
        created_at=WRITTEN,
        to="client@example.org",
        subject="Hello",
        body=body,
    )


def test_mail_is_written_to_the_outbox_folder_with_mode_0600(tmp_path):
    settings = Settings.from_env({}, {"instance_path": tmp_path, "secret_key": "x"})
    transport.hand_over(settings, composed(settings), name="one")
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert [f.name for f in files] == ["one.eml"]
    assert files[0].stat().st_mode & 0o077 == 0
    parsed = message_from_bytes(files[0].read_bytes())
    assert parsed["To"] == "client@example.org"
    assert parsed["From"] == "roi@localhost"
    assert parsed["Message-ID"] == "<0b9e3c1e-0000-4000-8000-000000000001@localhost>"


def test_handing_the_same_mail_over_twice_leaves_one_file(tmp_path):
    # Given a mail already in the folder (a worker died before recording the delivery)
    settings = Settings.from_env({}, {"instance_path": tmp_path, "secret_key": "x"})
    transport.hand_over(settings, composed(settings), name="one")
    # When the next worker delivers it again
    transport.hand_over(settings, composed(settings, "changed"), name="one")
    # Then the folder still holds the first, whole, and no partial file is left behind
    files = list((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == ["one.eml"]
    assert b"A release is waiting." in files[0].read_bytes()


def test_mail_goes_over_smtp_when_configured(tmp_path, smtp_server):
    controller, handler = smtp_server
    settings = Settings.from_env(
        {
            "ROI_SMTP_URL": f"smtp://127.0.0.1:{controller.port}",
            "ROI_MAIL_FROM": "roi@clinic.example",
        },
        {"instance_path": tmp_path, "secret_key": "x"},
    )
    transport.hand_over(settings, composed(settings, "Your code is 123456."), name="one")
    # the server has handled the message by the time it answers the DATA command
    assert len(handler.received) == 1
    parsed = message_from_bytes(handler.received[0])
    assert parsed["From"] == "roi@clinic.example"
    assert parsed["Message-ID"] == "<0b9e3c1e-0000-4000-8000-000000000001@clinic.example>"
    assert "123456" in parsed.get_payload()
    assert not (tmp_path / "outbox").exists()


def test_an_unreachable_smtp_server_raises_a_delivery_error(tmp_path, real_smtp):
    settings = Settings.from_env(
        {"ROI_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"},
        {"instance_path": tmp_path, "secret_key": "x"},
    )
    with pytest.raises(transport.DELIVERY_ERRORS):
        transport.hand_over(settings, composed(settings), name="one")
