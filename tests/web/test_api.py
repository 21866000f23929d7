"""The JSON API v1 exactly as CONTRACT.md writes it, with its refusals."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from roi import create_app
from roi.accounts.models import ApiToken, Client, Provider
from roi.extensions import db
from tests.helpers import api_token, bearer, totp_code

NEW_CLIENT = {
    "given_name": "Ana",
    "family_name": "Lima",
    "birth_date": "1988-02-29",
    "email": "ana@example.org",
}


def test_token_is_issued_for_right_credentials(client, clinician, session):
    otp = totp_code(client.application, clinician.email)
    response = client.post(
        "/api/v1/tokens",
        json={"email": clinician.email, "password": clinician.password, "otp": otp},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"token", "expires_at"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["expires_at"])
    assert len(body["token"]) >= 40
    # only a digest is stored
    session.rollback()
    stored = session.scalars(select(ApiToken.token_sha256)).all()
    assert body["token"] not in stored
    assert len(stored) == 1


def test_token_refusals(client, clinician):
    wrong = client.post("/api/v1/tokens", json={"email": clinician.email, "password": "nope nope"})
    assert wrong.status_code == 401
    assert wrong.get_json()["error"] == "invalid_credentials"
    unknown = client.post(
        "/api/v1/tokens", json={"email": "x@example.org", "password": "nope nope"}
    )
    assert unknown.get_json() == wrong.get_json()
    missing = client.post("/api/v1/tokens", json={"email": clinician.email})
    assert missing.status_code == 422
    assert set(missing.get_json()["fields"]) == {"password"}
    garbage = client.post("/api/v1/tokens", data="{not json", content_type="application/json")
    assert garbage.status_code == 400
    assert garbage.get_json() == {"error": "malformed", "message": "The body is not valid JSON."}


@pytest.mark.parametrize("body", ["[]", '["diagnosis"]', '"a note"', "5", "null", "true"])
def test_a_body_that_is_json_but_not_an_object_is_malformed(client, clinician, body):
    # Given a signed-in API caller
    headers = bearer(api_token(client, clinician.email, clinician.password))
    # When a body of JSON that is not an object reaches an operation that takes one
    for path in ("/api/v1/messages", "/api/v1/consents", "/api/v1/clients"):
        response = client.post(path, data=body, content_type="application/json", headers=headers)
        # Then it is refused as malformed, in words a person reads, naming no internal key
        assert response.status_code == 400, path
        assert response.get_json() == {
            "error": "malformed",
            "message": "The body must be a JSON object.",
        }


def test_calls_without_a_valid_token_are_401(client, clinician):
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/clients", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"] == "unauthenticated"


def test_session_cookie_does_not_authenticate_the_api(client, clinician):
    from tests.helpers import login_as

    login_as(client, clinician.email, clinician.password)
    assert client.get("/api/v1/clients").status_code == 401


def test_expired_token_is_refused(client, clinician):
    import time_machine

    from roi.clock import now

    token = api_token(client, clinician.email, clinician.password)
    with time_machine.travel(now().timestamp() + 13 * 3600, tick=False):
        assert client.get("/api/v1/clients", headers=bearer(token)).status_code == 401


def test_clinician_creates_and_reads_a_client(client, clinician):
    token = api_token(client, clinician.email, clinician.password)
    response = client.post("/api/v1/clients", headers=bearer(token), json=NEW_CLIENT)
    assert response.status_code == 201
    created = response.get_json()
    assert created == {**NEW_CLIENT, "id": created["id"], "organization": "Riverside Counseling"}
    fetched = client.get(f"/api/v1/clients/{created['id']}", headers=bearer(token))
    assert fetched.get_json() == created


def test_client_fields_are_checked(client, clinician, session):
    token = api_token(client, clinician.email, clinician.password)
    response = client.post(
        "/api/v1/clients",
        headers=bearer(token),
        json={"given_name": "", "birth_date": "31/12/1990", "email": "nope", "status": "x"},
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid"
    assert set(body["fields"]) == {"given_name", "family_name", "birth_date", "email", "status"}
    future = client.post(
        "/api/v1/clients", headers=bearer(token), json={**NEW_CLIENT, "birth_date": "2199-01-01"}
    )
    assert future.status_code == 422
    assert "future" in future.get_json()["fields"]["birth_date"]
    session.rollback()
    assert session.scalar(select(func.count(Client.id))) == 0


def test_directory_lists_and_adds_providers(client, clinician, admin, session):
    token = api_token(client, clinician.email, clinician.password)
    listed = client.get("/api/v1/providers", headers=bearer(token)).get_json()
    # the clinician's own entry was made with their account
    assert [p["user_id"] for p in listed] == [clinician.user.id]
    added = client.post(
        "/api/v1/providers",
        headers=bearer(token),
        json={
            "name": "Helen Brooks",
            "credentials": "MD",
            "organization": "Lakeside Family Medicine",
            "address": "1 Lake St",
            "email": "hb@lakeside.example",
        },
    )
    assert added.status_code == 201
    body = added.get_json()
    assert set(body) == {"id", "name", "credentials", "organization", "address", "email", "user_id"}
    assert body["user_id"] is None
    searched = client.get("/api/v1/providers?q=lakeside", headers=bearer(token)).get_json()
    assert [p["name"] for p in searched] == ["Helen Brooks"]
    admin_token = api_token(client, admin.email, admin.password)
    assert client.get("/api/v1/providers", headers=bearer(admin_token)).status_code == 200
    bad = client.post("/api/v1/providers", headers=bearer(token), json={"name": ""})
    assert bad.status_code == 422
    assert set(bad.get_json()["fields"]) == {"name", "organization"}
    session.rollback()
    assert session.scalar(select(func.count(Provider.id))) == 2


def test_client_users_and_compliance_cannot_use_the_directory(client, client_person, compliance):
    for person in (client_person, compliance):
        token = api_token(client, person.email, person.password)
        assert client.get("/api/v1/providers", headers=bearer(token)).status_code == 403


def test_openapi_document_and_routes_agree(app, client):
    # J2: every API route is documented and every documented path is a route
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert _documented(spec) == _routed(app)
    assert "bearerAuth" in spec["components"]["securitySchemes"]


def test_every_app_of_a_process_serves_the_same_document(app, client, app_overrides):
    # the document is built once per process (roi.web.api): a later app serves all of it
    later = create_app(app_overrides)
    try:
        served = later.test_client().get("/api/v1/openapi.json")
        assert served.data == client.get("/api/v1/openapi.json").data
        assert _documented(served.get_json()) == _routed(later)
        assert "/api/v1/consents/{consent_id}/fhir" in served.get_json()["paths"]
        # and the later app's API answers through its own Api (roi's error body)
        assert later.test_client().get("/api/v1/providers").get_json()["error"] == "unauthenticated"
    finally:
        with later.app_context():
            db.engine.dispose()


def _documented(spec):
    """(path, METHOD) of every operation in an OpenAPI document."""
    return {
        (path, method.upper())
        for path, ops in spec["paths"].items()
        for method in ops
        if method != "parameters"
    }


def _routed(app):
    """(path, METHOD) of every API route of `app`, paths written as OpenAPI writes them."""
    routed = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.endpoint.startswith("api-docs"):
            continue
        path = re.sub(r"<(?:int(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
        routed |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return routed


def test_unknown_api_route_is_a_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
