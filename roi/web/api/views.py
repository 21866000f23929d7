"""API v1 views: parse, call one service function, answer."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import Blueprint
from marshmallow import RAISE

from roi.accounts import mfa, service, sessions
from roi.accounts.models import Client, ClientRepresentative, Provider, RepresentativeKind, User
from roi.accounts.policy import Permission
from roi.clock import iso
from roi.consent import lifecycle, representation, share_requests
from roi.consent import queries as consent_queries
from roi.consent.models import ShareRequest
from roi.extensions import db
from roi.web.api.schemas import (
    ApiErrorSchema,
    ClientInSchema,
    ClientSchema,
    DischargeInSchema,
    DischargeSchema,
    OtpSchema,
    OwnCareSchema,
    ProviderInSchema,
    ProviderSchema,
    RecoveryCodesSchema,
    RepresentativeInSchema,
    RepresentativeSchema,
    SearchArgsSchema,
    ShareRequestInSchema,
    ShareRequestSchema,
    TokenRequestSchema,
    TokenSchema,
    TotpEnrolmentSchema,
    upload_of,
)
from roi.web.inputs import takes_scans
from roi.web.security import actor, client_ip, requires, settings

PREFIX = "/api/v1"
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]

tokens = Blueprint("tokens", __name__, url_prefix=f"{PREFIX}/tokens", description="Sign in")
clients = Blueprint("clients", __name__, url_prefix=f"{PREFIX}/clients", description="Clients")
providers = Blueprint(
    "providers", __name__, url_prefix=f"{PREFIX}/providers", description="Provider directory"
)
account = Blueprint(
    "account", __name__, url_prefix=f"{PREFIX}/account", description="Your own account"
)
share = Blueprint(
    "share_requests",
    __name__,
    url_prefix=f"{PREFIX}/share-requests",
    description="A client's requests to share their records",
)
blueprints = (tokens, clients, providers, account, share)


@tokens.route("", methods=["POST"])
@tokens.arguments(TokenRequestSchema())
@tokens.response(201, TokenSchema)
@tokens.alt_response(
    401,
    schema=ApiErrorSchema,
    description="Wrong email or password (`invalid_credentials`); a second factor is needed "
    "(`mfa_required`); the code is wrong or used (`mfa_failed`)",
)
@tokens.alt_response(
    429,
    schema=ApiErrorSchema,
    description="Too many failed attempts",
    headers={
        "Retry-After": {
            "description": "seconds to wait",
            "required": True,
            "schema": {"type": "integer"},
        }
    },
)
def create_token(body: dict[str, Any]) -> dict[str, str]:
    """Exchange an email, password and (with a second factor) `otp` for a bearer token."""
    token, expires_at = sessions.token_for(
        db.session(),
        email=body["email"],
        password=body["password"],
        otp=body.get("otp"),
        ip=client_ip(),
        request_id=g.request_id,
        settings=settings(),
    )
    return {"token": token, "expires_at": iso(expires_at)}


@account.route("/mfa/totp", methods=["POST"])
@requires(Permission.SIGNED_IN)
@account.response(200, TotpEnrolmentSchema)
@account.doc(security=BEARER)
def begin_totp() -> mfa.TotpEnrolment:
    """Start setting up an authenticator app: its secret, to confirm with a code."""
    user = db.session.get(User, actor().user_id)
    assert user is not None  # noqa: S101 - the token's owner
    return mfa.begin_totp(db.session(), actor(), user.email)


@account.route("/mfa/totp/confirm", methods=["POST"])
@requires(Permission.SIGNED_IN)
@account.arguments(OtpSchema())
@account.response(200, RecoveryCodesSchema)
@account.alt_response(422, schema=ApiErrorSchema, description="The code is not correct")
@account.doc(security=BEARER)
def confirm_totp(body: dict[str, str]) -> dict[str, list[str]]:
    """Confirm the authenticator app; from then on tokens need `otp`. Returns 10 recovery
    codes, each good once, shown this once."""
    return {"recovery_codes": mfa.confirm_totp(db.session(), actor(), body["otp"])}


@clients.route("", methods=["POST"])
@requires(Permission.CREATE_CLIENT)
@clients.arguments(ClientInSchema())
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
@clients.arguments(DischargeInSchema())
@clients.response(200, DischargeSchema)
@clients.alt_response(404, schema=ApiErrorSchema, description="Not a client of your practice")
@clients.alt_response(422, schema=ApiErrorSchema, description="Invalid fields")
@clients.doc(security=BEARER)
def record_discharge(body: dict[str, Any], client_id: int) -> dict[str, list[int]]:
    """Record the end of the client's treatment: every active release that lasts until then
    expires now."""
    expired = lifecycle.record_discharge(db.session(), actor(), client_id, body["on"])
    return {"expired_consent_ids": expired}


@clients.route("/<int:client_id>/own-care", methods=["PUT"])
@requires(Permission.PREPARE_CONSENT)
@clients.arguments(OwnCareSchema())
@clients.response(200, OwnCareSchema)
@clients.alt_response(404, schema=ApiErrorSchema, description="Not a client of your practice")
@clients.alt_response(
    422, schema=ApiErrorSchema, description="An adult, or state law lets no minor of this age"
)
@clients.doc(security=BEARER)
def set_own_care(body: dict[str, Any], client_id: int) -> dict[str, bool]:
    """Record whether a minor client consented to their own care under state law."""
    found = representation.set_own_care_consent(
        db.session(), actor(), client_id, body["own_care_consent"]
    )
    return {"own_care_consent": found.own_care_consent}


@clients.route("/<int:client_id>/representative", methods=["POST"])
@requires(Permission.PREPARE_CONSENT)
@takes_scans
@clients.arguments(RepresentativeInSchema())
@clients.response(201, RepresentativeSchema)
@clients.alt_response(404, schema=ApiErrorSchema, description="Not a client of your practice")
@clients.alt_response(422, schema=ApiErrorSchema, description="Invalid fields")
@clients.doc(security=BEARER)
def record_representative(body: dict[str, Any], client_id: int) -> ClientRepresentative:
    """Record the client's guardian or other personal representative with the document that gives
    them authority (sealed); it replaces the one on record."""
    new = representation.NewRepresentative(
        kind=RepresentativeKind(body["kind"]),
        name=body["name"],
        document=upload_of(body["document"]),
    )
    return representation.record_representative(db.session(), actor(), client_id, new)


# POST, not DELETE: the record is kept, ended (nothing in roi deletes; tests/test_retention.py)
@clients.route("/<int:client_id>/representative/end", methods=["POST"])
@requires(Permission.PREPARE_CONSENT)
@clients.response(204)
@clients.alt_response(404, schema=ApiErrorSchema, description="Not a client of your practice")
@clients.doc(security=BEARER)
def end_representative(client_id: int) -> None:
    """The client's personal representative no longer acts for them (kept on record)."""
    representation.end_representative(db.session(), actor(), client_id)


@providers.route("", methods=["GET"])
@requires(Permission.VIEW_DIRECTORY)
# a misspelt filter is refused, not silently ignored (the answer would be wider than asked)
@providers.arguments(SearchArgsSchema(), location="query", unknown=RAISE)
@providers.response(200, ProviderSchema(many=True))
@providers.doc(security=BEARER)
def list_providers(args: dict[str, Any]) -> list[Provider]:
    """The shared provider directory."""
    return service.providers(db.session(), actor(), args.get("q"))


@providers.route("", methods=["POST"])
@requires(Permission.ADD_PROVIDER)
@providers.arguments(ProviderInSchema())
@providers.response(201, ProviderSchema)
@providers.alt_response(422, schema=ApiErrorSchema, description="Invalid fields")
@providers.doc(security=BEARER)
def add_provider(body: dict[str, Any]) -> Provider:
    """Add an entry to the shared provider directory."""
    return service.add_provider(db.session(), actor(), service.NewProvider(**body))


@share.route("", methods=["POST"])
@requires(Permission.REQUEST_SHARING)
@share.arguments(ShareRequestInSchema())
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
