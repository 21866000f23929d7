"""JSON API v1 (CONTRACT.md): bearer tokens, no cookies, no CSRF; OpenAPI from the schemas.

flask-smorest is the library: it validates with marshmallow schemas and builds the OpenAPI
document from those same schemas, on plain Flask blueprints, so the API needs no app subclass
(APIFlask) and no second set of models (spectree's pydantic) beside the WTForms of the pages.
Views give `arguments()` a schema instance, not its class: webargs builds a class anew on every
request (a deep copy of its fields), about 2 % of a send's time in Python; the schemas keep
no state between loads, so one instance serves every request.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from flask_smorest import Api
from flask_smorest.spec import openapi_cli

from roi.extensions import csrf
from roi.web.api.schemas import ApiErrorSchema, documented_rules

#: the app settings flask-smorest builds the document from (besides roi's code)
DOCUMENT_SETTINGS = ("API_TITLE", "API_VERSION", "OPENAPI_VERSION", "API_SPEC_OPTIONS")


@dataclass(frozen=True)
class Document:
    """A finished OpenAPI document and the plugins that built it, never changed again."""

    spec: APISpec
    flask_plugin: BasePlugin
    ma_plugin: MarshmallowPlugin


#: one finished document per DOCUMENT_SETTINGS values, for every later app of this process; it
#: cannot go stale, as Flask refuses new routes on a blueprint once it has been registered
_documents: dict[str, Document] = {}


class RoiApi(Api):
    """flask-smorest's Api with roi's error body (roi.web.errors) in place of its own.

    Given a `document` an earlier app of this process finished, it serves that one instead of
    building its own: building it (apispec converting every schema) was most of create_app's
    time, and the CLI and the tests build many apps in one process. Everything else stays per
    app: the doc blueprint, the error handlers, flask-smorest's bookkeeping in app.extensions.
    """

    ERROR_SCHEMA = ApiErrorSchema

    def __init__(self, document: Document | None = None) -> None:
        super().__init__()
        self.document = document

    def _init_spec(self, **spec_kwargs: Any) -> None:
        if self.document is not None:
            self.spec = self.document.spec
            self.flask_plugin = self.document.flask_plugin
            self.ma_plugin = self.document.ma_plugin
            # the one per-app step of smorest's _init_spec: `flask openapi print`
            self._app.cli.add_command(openapi_cli)
            return
        super()._init_spec(**spec_kwargs)
        converter = self.ma_plugin.converter
        assert converter is not None  # noqa: S101 - set when the APISpec took the plugin
        converter.add_attribute_function(documented_rules)
        self.spec.components.security_scheme(
            "bearerAuth",
            {"type": "http", "scheme": "bearer", "description": "POST /api/v1/tokens"},
        )

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        """Register `blp` in the app and, unless the document is finished, in the document."""
        if self.document is None:
            super().register_blueprint(blp, parameters=parameters, **options)
            return
        # smorest's per-app half: current_api finds this Api by the blueprint's name
        self._app.extensions["flask-smorest"]["blp_name_to_api"][options.get("name", blp.name)] = (
            self
        )
        self._app.register_blueprint(blp, **options)


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
    """One Api per app; the OpenAPI document is built by the first app of the process only."""
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

    settings = repr([app.config.get(name) for name in DOCUMENT_SETTINGS])
    api = RoiApi(_documents.get(settings))
    api.init_app(
        app,
        spec_kwargs={
            "info": {"description": "roi: consent and release-of-information manager"},
            "servers": [{"url": "/"}],
            "extra_plugins": [Refusals()],
        },
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
    if api.document is None:
        # Kept only once whole. No lock: two apps built at once each build their own document
        # and one of them is kept; a document is never changed after it is kept.
        _documents.setdefault(settings, Document(api.spec, api.flask_plugin, api.ma_plugin))
    return api
