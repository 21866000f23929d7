"""Configuration: explicit, secret-safe, and one clear line when something is wrong."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from roi import create_app
from roi.config import Settings
from roi.errors import ConfigError


def test_defaults_put_everything_in_the_instance_folder(tmp_path):
    settings = Settings.from_env({"ROI_INSTANCE_PATH": str(tmp_path)})
    assert settings.instance_path == tmp_path.resolve()
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'roi.db'}"
    assert settings.cookie_secure is True


def test_secret_key_is_generated_once_with_mode_0600(tmp_path):
    first = Settings.from_env({"ROI_INSTANCE_PATH": str(tmp_path)})
    second = Settings.from_env({"ROI_INSTANCE_PATH": str(tmp_path)})
    path = tmp_path / "secret_key"
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) >= 48
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_secret_key_from_the_environment_wins(tmp_path):
    settings = Settings.from_env({"ROI_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "from-env"})
    assert settings.secret_key == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_repr_masks_secrets(tmp_path):
    settings = Settings.from_env(
        {
            "ROI_INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "sekrit-value-123",
            "ROI_KEYS": '{"k": "key-material-xyz"}',
            "DATABASE_URL": "postgresql+psycopg://roi:db-password-789@db/roi",
        }
    )
    shown = repr(settings)
    for secret in ("sekrit-value-123", "key-material-xyz", "db-password-789"):
        assert secret not in shown
    assert "secret_key=***" in shown


def test_postgres_urls_use_psycopg3(tmp_path):
    settings = Settings.from_env(
        {"ROI_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "postgresql://u:p@h/db"}
    )
    assert settings.database_url.startswith("postgresql+psycopg://")


@pytest.mark.parametrize("url", ["not a url", "mysql://u@h/db", "://"])
def test_bad_database_url_is_one_clear_error(tmp_path, url):
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"ROI_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": url})
    assert "DATABASE_URL" in refused.value.message
    assert "\n" not in refused.value.message


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_instance_folder_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"ROI_INSTANCE_PATH": str(locked)})
    assert "not writable" in refused.value.message


def test_instance_folder_under_a_file_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"ROI_INSTANCE_PATH": str(blocker / "instance")})
    assert "instance folder" in refused.value.message


def test_start_up_failure_is_one_line_not_a_traceback(tmp_path):
    env = {**os.environ, "ROI_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "mysql://x@y/z"}
    result = subprocess.run(
        [sys.executable, "-m", "roi.cli", "init"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parent.parent,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_setting_override_is_refused(tmp_path):
    with pytest.raises(ConfigError):
        create_app({"instance_path": tmp_path, "no_such_setting": 1})


def test_app_factory_builds_with_overrides(app):
    assert app.config["ROI_SETTINGS"].argon2.memory_cost == 1024
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-roi_session"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
