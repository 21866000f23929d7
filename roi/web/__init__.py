"""Flask only: one blueprint per audience, the access check, the error handlers."""

from __future__ import annotations

from flask import Flask

from roi.web import errors, forms, inputs, language, security
from roi.web.security import PUBLIC_ENDPOINTS

__all__ = ["PUBLIC_ENDPOINTS", "register"]


def register(app: Flask) -> None:
    """Attach every blueprint, the deny-by-default check, headers and error handlers."""
    from roi.web.admin import bp as admin_bp
    from roi.web.api import init_api
    from roi.web.auth import bp as auth_bp
    from roi.web.clinician import bp as clinician_bp
    from roi.web.compliance import bp as compliance_bp
    from roi.web.device import bp as device_bp
    from roi.web.health import bp as health_bp
    from roi.web.portal import bp as portal_bp
    from roi.web.signing import bp as signing_bp

    inputs.install(app)
    language.install(app)
    blueprints = (
        auth_bp,
        clinician_bp,
        portal_bp,
        signing_bp,
        device_bp,
        compliance_bp,
        admin_bp,
        health_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    init_api(app)
    security.install(app)
    errors.install(app)
    app.context_processor(_template_globals)
    app.add_template_global(forms.error_summary, "error_summary")
    app.add_template_global(forms.form_errors_id, "form_errors_id")


def _template_globals() -> dict[str, object]:
    from roi.web.navigation import ROLE_NAMES, navigation_for

    return {"navigation_for": navigation_for, "role_names": ROLE_NAMES}
