"""JSON API v1 (CONTRACT.md): bearer tokens, no cookies, no CSRF; OpenAPI from the schemas.

flask-smorest is the library: it validates with marshmallow schemas and builds the OpenAPI
document from those same schemas, on plain Flask blueprints, so the API needs no app subclass
(APIFlask) and no second set of models (spectree's pydantic) beside the WTForms of the pages.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apispec import BasePlugin
from flask import Flask
from flask_smorest import Api

from roi.extensions import csrf
from roi.web.api.schemas import ApiErrorSchema, documented_rules


class RoiApi(Api):
    """flask-smorest's Api with roi's error body (roi.web.errors) in place of its own."""

    ERROR_SCHEMA = ApiErrorSchema


class Refusals(BasePlugin):
    """Documents on every operation the refusals roi.web.errors can send there, so the OpenAPI
    document and the answers agree (SECURITY J1): every call can be malformed (400) or carry a
    field no column can hold (422, roi.web.inputs); a call with a token can be unauthenticated
    (401) or not allowed (403); a call with an id in its path can find nothing (404)."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        for operation in (operations or {}).values():
            statuses = [HTTPStatus.BAD_REQUEST, HTTPStatus.UNPROCESSABLE_ENTITY]
            if operation.get("security"):
                statuses += [HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN]
            if "{" in (path or ""):
                statuses.append(HTTPStatus.NOT_FOUND)
            responses = operation.setdefault("responses", {})
            for status in statuses:
                # smorest registers one component per status, with ERROR_SCHEMA as its body
                responses.setdefault(str(status.value), status.name)


def init_api(app: Flask) -> Api:
    """One Api (and OpenAPI document) per app: the spec is built from that app's routes."""
    from roi.web.api import (
        accounting_views,
        audit_views,
        disclosure_views,
        emergency_views,
        fhir_views,
        message_views,
        restriction_views,
        views,
    )
    from roi.web.api.consent_views import consents, templates

    api = RoiApi()
    api.init_app(
        app,
        spec_kwargs={
            "info": {"description": "roi: consent and release-of-information manager"},
            "servers": [{"url": "/"}],
            "extra_plugins": [Refusals()],
        },
    )
    api.ma_plugin.converter.add_attribute_function(documented_rules)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "POST /api/v1/tokens"}
    )
    for blueprint in (
        *views.blueprints,
        templates,
        consents,
        *message_views.blueprints,
        *emergency_views.blueprints,
        *restriction_views.blueprints,
        *audit_views.blueprints,
        *accounting_views.blueprints,
        *disclosure_views.blueprints,
        *fhir_views.blueprints,
    ):
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    return api
