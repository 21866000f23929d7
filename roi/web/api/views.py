"""API v1 views: parse, call one service function, answer."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import Blueprint

from roi.accounts import service, sessions
from roi.accounts.models import Client, Provider
from roi.accounts.policy import Permission
from roi.clock import iso
from roi.consent import lifecycle, share_requests
from roi.consent import queries as consent_queries
from roi.consent.models import ShareRequest
from roi.extensions import db
from roi.web.api.schemas import (
    ApiErrorSchema,
    ClientInSchema,
    ClientSchema,
    DischargeInSchema,
    DischargeSchema,
    ProviderInSchema,
    ProviderSchema,
    SearchArgsSchema,
    ShareRequestInSchema,
    ShareRequestSchema,
    TokenRequestSchema,
    TokenSchema,
)
from roi.web.security import actor, client_ip, requires, settings

PREFIX = "/api/v1"
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]

tokens = Blueprint("tokens", __name__, url_prefix=f"{PREFIX}/tokens", description="Sign in")
clients = Blueprint("clients", __name__, url_prefix=f"{PREFIX}/clients", description="Clients")
providers = Blueprint(
    "providers", __name__, url_prefix=f"{PREFIX}/providers", description="Provider directory"
)
share = Blueprint(
    "share_requests",
    __name__,
    url_prefix=f"{PREFIX}/share-requests",
    description="A client's requests to share their records",
)
blueprints = (tokens, clients, providers, share)


@tokens.route("", methods=["POST"])
@tokens.arguments(TokenRequestSchema)
@tokens.response(201, TokenSchema)
@tokens.alt_response(401, schema=ApiErrorSchema, description="Wrong email or password")
@tokens.alt_response(429, schema=ApiErrorSchema, description="Too many failed attempts")
def create_token(body: dict[str, Any]) -> dict[str, str]:
    """Exchange an email and password for a bearer token."""
    user = sessions.authenticate(
        db.session(),
        email=body["email"],
        password=body["password"],
        ip=client_ip(),
        request_id=g.request_id,
        settings=settings(),
    )
    token, expires_at = sessions.issue_token(db.session(), user, settings())
    return {"token": token, "expires_at": iso(expires_at)}


@clients.route("", methods=["POST"])
@requires(Permission.CREATE_CLIENT)
@clients.arguments(ClientInSchema)
@clients.response(201, ClientSchema)
@clients.alt_response(422, schema=ApiErrorSchema, description="Invalid fields")
@clients.doc(security=BEARER)
def create_client(body: dict[str, Any]) -> Client:
    """Add a client to your organization (clinicians)."""
    return service.create_client(db.session(), actor(), service.NewClient(**body))


@clients.route("", methods=["GET"])
@requires(Permission.VIEW_CLIENTS)
@clients.response(200, ClientSchema(many=True))
@clients.doc(security=BEARER)
def list_clients() -> list[Client]:
    """The clients you may see (no name search here: names never go in a URL)."""
    return consent_queries.clients_for(db.session(), actor())


@clients.route("/<int:client_id>", methods=["GET"])
@requires(Permission.VIEW_CLIENTS)
@clients.response(200, ClientSchema)
@clients.alt_response(404, schema=ApiErrorSchema, description="Not found or not yours")
@clients.doc(security=BEARER)
def get_client(client_id: int) -> Client:
    """One client you may see."""
    return consent_queries.client_for(db.session(), actor(), client_id)


@clients.route("/<int:client_id>/discharge", methods=["POST"])
@requires(Permission.PREPARE_CONSENT)
@clients.arguments(DischargeInSchema)
@clients.response(200, DischargeSchema)
@clients.alt_response(404, schema=ApiErrorSchema, description="Not a client of your practice")
@clients.alt_response(422, schema=ApiErrorSchema, description="Invalid fields")
@clients.doc(security=BEARER)
def record_discharge(body: dict[str, Any], client_id: int) -> dict[str, list[int]]:
    """Record the end of the client's treatment: every active release that lasts until then
    expires now."""
    expired = lifecycle.record_discharge(db.session(), actor(), client_id, body["on"])
    return {"expired_consent_ids": expired}


@providers.route("", methods=["GET"])
@requires(Permission.VIEW_DIRECTORY)
@providers.arguments(SearchArgsSchema, location="query")
@providers.response(200, ProviderSchema(many=True))
@providers.doc(security=BEARER)
def list_providers(args: dict[str, Any]) -> list[Provider]:
    """The shared provider directory."""
    return service.providers(db.session(), actor(), args.get("q"))


@providers.route("", methods=["POST"])
@requires(Permission.ADD_PROVIDER)
@providers.arguments(ProviderInSchema)
@providers.response(201, ProviderSchema)
@providers.alt_response(422, schema=ApiErrorSchema, description="Invalid fields")
@providers.doc(security=BEARER)
def add_provider(body: dict[str, Any]) -> Provider:
    """Add an entry to the shared provider directory."""
    return service.add_provider(db.session(), actor(), service.NewProvider(**body))


@share.route("", methods=["POST"])
@requires(Permission.REQUEST_SHARING)
@share.arguments(ShareRequestInSchema)
@share.response(201, ShareRequestSchema)
@share.alt_response(422, schema=ApiErrorSchema, description="Invalid fields")
@share.doc(security=BEARER)
def request_sharing(body: dict[str, Any]) -> ShareRequest:
    """Ask your practice to share your records with a provider (clients)."""
    return share_requests.request_sharing(
        db.session(), actor(), share_requests.NewShareRequest(**body)
    )


@share.route("", methods=["GET"])
@requires(Permission.VIEW_CONSENTS)
@share.response(200, ShareRequestSchema(many=True))
@share.doc(security=BEARER)
def list_share_requests() -> list[ShareRequest]:
    """A clinician's practice's requests, or a client's own, newest first."""
    return share_requests.requests_for(db.session(), actor())
