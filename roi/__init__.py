"""roi: consent and release-of-information manager for mental-health practices."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from roi.config import Settings
from roi.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent


def share_root() -> Path:
    """Where templates/, forms/, static/ and migrations/ are: beside the package in a checkout,
    inside it (roi/_share) in a wheel.

    Raises:
        ConfigError: neither place has a templates/ folder.
    """
    for root in (PACKAGE_DIR.parent, PACKAGE_DIR / "_share"):
        if (root / "templates").is_dir():
            return root
    raise ConfigError(f"templates/ not found beside {PACKAGE_DIR}: the installation is incomplete")


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app from the environment, with `overrides` (Settings fields) on top.

    Raises:
        ConfigError: configuration or the instance folder is unusable.
    """
    settings = Settings.from_env(os.environ, overrides)
    root = share_root()
    app = Flask(
        "roi",
        template_folder=str(root / "templates"),
        static_folder=str(root / "static"),
        instance_path=str(settings.instance_path),
    )
    _configure(app, settings)

    from roi import vault
    from roi.extensions import csrf, db, login_manager, migrate
    from roi.models import import_all

    import_all()
    db.init_app(app)
    with app.app_context():
        from roi.db import configure_engine

        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(root / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)

    provider = vault.provider_for(settings.instance_path, settings.keys)
    if settings.keys or getattr(provider, "path", Path()).exists():
        vault.use(provider.load())

    from roi.consent.library import FormLibrary

    app.extensions["roi.forms"] = FormLibrary.load(root / "forms")
    from roi.consent.signers import shipped_rules

    shipped_rules()  # a broken rules file stops start-up, as a broken form does

    from roi.web import register

    register(app)

    from roi.cli import roi_group

    app.cli.add_command(roi_group)
    if settings.proxy_hops:
        # Trust X-Forwarded-* only from the configured number of proxies (SECURITY A2).
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops
        )
    return app


def _configure(app: Flask, settings: Settings) -> None:
    secure = settings.cookie_secure
    app.config.update(
        ROI_SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        # The cookie carries a random session token and the CSRF secret, nothing else.
        SESSION_COOKIE_NAME="__Host-roi_session" if secure else "roi_session",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
        PERMANENT_SESSION_LIFETIME=settings.session_absolute,
        WTF_CSRF_TIME_LIMIT=3600,
        WTF_CSRF_SSL_STRICT=secure,
        # views that take a scan allow more (roi.web.inputs.takes_scans)
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        API_TITLE="roi",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


def _engine_options(url: str) -> dict[str, Any]:
    # hide_parameters keeps bound values (names, dates of birth) out of exception messages and logs.
    options: dict[str, Any] = {"hide_parameters": True}
    if url.startswith("postgresql"):
        # Connections are renewed after half an hour, so none outlives a server's or a proxy's
        # idle limit. No ping before each checkout (two extra round trips on every request): a
        # connection the server dropped fails its one request, and SQLAlchemy then renews the
        # whole pool.
        options["pool_recycle"] = 1800
        # What roi's locking relies on (roi.consent.gate, roi.db.unit_of_work), whatever the
        # server's default: each statement sees every transaction that committed before it.
        options["isolation_level"] = "READ COMMITTED"
    else:
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
    return options
