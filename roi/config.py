"""Settings: built once from the environment and the instance folder, frozen, secrets masked.

No secret has a default. A secret that is not given is generated once into the instance folder
with mode 0600. Anything wrong stops start-up with a `ConfigError` whose message is one line.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from roi.errors import ConfigError

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


@dataclass(frozen=True)
class Argon2Parameters:
    """argon2id cost; the defaults are RFC 9106's low-memory profile (above OWASP's minimum)."""

    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 4


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    secret_key: str = field(repr=False)
    #: the key ring as JSON, from ROI_KEYS (a secret manager); None means the instance file
    keys: str | None = field(default=None, repr=False)
    cookie_secure: bool = True
    session_idle: timedelta = timedelta(minutes=30)
    session_absolute: timedelta = timedelta(hours=12)
    token_lifetime: timedelta = timedelta(hours=12)
    argon2: Argon2Parameters = Argon2Parameters()
    #: failed sign-ins allowed per account, and per IP address, within `throttle_window`
    throttle_account_limit: int = 10
    throttle_ip_limit: int = 50
    throttle_window: timedelta = timedelta(minutes=15)
    #: how many proxies in front of the app set X-Forwarded-For; 0 trusts none (SECURITY A2)
    proxy_hops: int = 0
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str = "roi@localhost"
    #: how long an emailed signing link stays valid
    invitation_lifetime: timedelta = timedelta(days=7)
    #: the public address every emailed link starts with (never a request's Host header)
    base_url: str = "http://127.0.0.1:8000"

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={self._shown(f.name)!r}" if f.repr else f"{f.name}=***"
            for f in dataclasses.fields(self)
        )
        return f"Settings({shown})"

    def _shown(self, name: str) -> object:
        if name == "database_url":
            return make_url(self.database_url).render_as_string(hide_password=True)
        return getattr(self, name)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None
    ) -> Settings:
        """Read ROI_INSTANCE_PATH, DATABASE_URL, SECRET_KEY, ROI_KEYS and friends.

        Raises:
            ConfigError: the instance folder cannot be written, or DATABASE_URL is not a URL.
        """
        overrides = dict(overrides or {})
        instance = Path(
            overrides.pop("instance_path", None) or environ.get("ROI_INSTANCE_PATH") or "instance"
        ).resolve()
        _ensure_writable(instance)
        database_url = overrides.pop("database_url", None) or environ.get("DATABASE_URL")
        database_url = _check_database_url(database_url or f"sqlite:///{instance / 'roi.db'}")
        secret_key = (
            overrides.pop("secret_key", None)
            or environ.get("SECRET_KEY")
            or _instance_secret(instance / SECRET_KEY_FILE)
        )
        values: dict[str, Any] = {
            "instance_path": instance,
            "database_url": database_url,
            "secret_key": secret_key,
            "keys": environ.get("ROI_KEYS") or None,
            "cookie_secure": environ.get("ROI_COOKIE_SECURE", "1") not in {"0", "false", "no"},
            "proxy_hops": _int(environ, "ROI_PROXY_HOPS", 0),
            "smtp_url": environ.get("ROI_SMTP_URL") or None,
            "mail_from": environ.get("ROI_MAIL_FROM") or "roi@localhost",
            "base_url": _check_base_url(environ.get("ROI_BASE_URL") or "http://127.0.0.1:8000"),
        }
        values.update(overrides)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return cls(**values)


def _ensure_writable(instance: Path) -> None:
    try:
        instance.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the instance folder {instance}: {exc.strerror}") from None
    if not os.access(instance, os.W_OK | os.X_OK):
        raise ConfigError(f"the instance folder {instance} is not writable")


def _check_database_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("DATABASE_URL is not a valid database URL") from None
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigError("DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL")
    if parsed.get_backend_name() == "postgresql" and parsed.drivername != "postgresql+psycopg":
        # psycopg 3 is the one PostgreSQL driver roi installs (SQLAlchemy 2.0 defaults to psycopg2).
        parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed.render_as_string(hide_password=False)
    return url


def _check_base_url(url: str) -> str:
    """ROI_BASE_URL without a trailing slash; only a scheme, a host and perhaps a path prefix."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(
            "ROI_BASE_URL must be an http:// or https:// address, e.g. https://roi.example.org"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError("ROI_BASE_URL must not carry a query, a fragment or credentials")
    return url.strip().rstrip("/")


def _instance_secret(path: Path) -> str:
    """Read the secret at `path`, creating it once with mode 0600 when it does not exist."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number") from None
