"""Settings for delivering the test database's outbox into the test instance folder."""

from __future__ import annotations

import pytest

from roi.config import Settings
from tests.mail.test_transport import real_smtp, smtp_server  # noqa: F401 - fixtures


@pytest.fixture
def settings(instance_path, database_url) -> Settings:
    return Settings.from_env(
        {},
        {
            "instance_path": instance_path,
            "database_url": database_url,
            "secret_key": "x",
            "base_url": "https://roi.example.test",
        },
    )
