"""JSON API v1 (CONTRACT.md): bearer tokens, no cookies, no CSRF; OpenAPI from the schemas.

flask-smorest is the library: it validates with marshmallow schemas and builds the OpenAPI
document from those same schemas, on plain Flask blueprints, so the API needs no app subclass
(APIFlask) and no second set of models (spectree's pydantic) beside the WTForms of the pages.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from roi.extensions import csrf


def init_api(app: Flask) -> Api:
    """One Api (and OpenAPI document) per app: the spec is built from that app's routes."""
    from roi.web.api import (
        accounting_views,
        audit_views,
        disclosure_views,
        fhir_views,
        message_views,
        views,
    )
    from roi.web.api.consent_views import consents, templates

    api = Api()
    api.init_app(
        app,
        spec_kwargs={
            "info": {"description": "roi: consent and release-of-information manager"},
            "servers": [{"url": "/"}],
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "POST /api/v1/tokens"}
    )
    for blueprint in (
        *views.blueprints,
        templates,
        consents,
        *message_views.blueprints,
        *audit_views.blueprints,
        *accounting_views.blueprints,
        *disclosure_views.blueprints,
        *fhir_views.blueprints,
    ):
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    return api
