"""The consent calls of API v1 exactly as CONTRACT.md writes them, with their refusals."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from roi.accounts.models import Provider
from roi.clock import now
from roi.consent.models import Consent
from tests.factories import make_client_user
from tests.helpers import api_token, bearer, delivered_mail

CONTRACT_FIELDS = {
    "id",
    "status",
    "client_id",
    "template_id",
    "discloser",
    "recipient_provider_id",
    "categories",
    "purposes",
    "direction",
    "expires_on",
    "expiry_event",
    "created_at",
    "sent_at",
    "signed_at",
    "revoked_at",
    "document_sha256",
}


@pytest.fixture
def setup(client, session, clinician, other_clinician):
    record, person = make_client_user(
        session, clinician, given_name="Jordan", family_name="Avery", email="j@client.example"
    )
    recipient = session.scalar(select(Provider).where(Provider.user_id == other_clinician.user.id))
    return {
        "clinician": api_token(client, clinician.email, clinician.password),
        "psychiatrist": api_token(client, other_clinician.email, other_clinician.password),
        "client": api_token(client, person.email, person.password),
        "client_id": record.id,
        "recipient_id": recipient.id,
    }


def body(setup, **changes):
    values = {
        "client_id": setup["client_id"],
        "template_id": "general-authorization",
        "recipient_provider_id": setup["recipient_id"],
        "categories": ["diagnosis", "medications"],
        "purposes": ["treatment"],
        "information_description": "Diagnosis, medications and a treatment summary.",
        "expires_on": (now().date() + timedelta(days=180)).isoformat(),
        "direction": "two_way",
    }
    values.update(changes)
    return values


def create(client, setup, **changes):
    response = client.post(
        "/api/v1/consents", headers=bearer(setup["clinician"]), json=body(setup, **changes)
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_form_templates_list_every_kind(client, setup):
    response = client.get("/api/v1/form-templates", headers=bearer(setup["client"]))
    assert response.status_code == 200
    kinds = {t["kind"] for t in response.get_json()}
    assert kinds == {"general", "psychotherapy_notes", "part2"}
    first = response.get_json()[0]
    assert set(first) >= {"id", "title", "version", "kind", "categories", "purposes"}
    assert set(first["categories"][0]) == {"code", "label"}


@pytest.mark.parametrize(
    "asked", [{"query_string": {"lang": "es"}}, {"headers": {"Accept-Language": "es-MX,es;q=0.9"}}]
)
def test_form_templates_speak_the_language_asked_for(client, setup, asked):
    headers = {**bearer(setup["client"]), **asked.get("headers", {})}
    spanish = client.get(
        "/api/v1/form-templates", headers=headers, query_string=asked.get("query_string")
    )
    english = client.get("/api/v1/form-templates", headers=bearer(setup["client"]))
    general = {t["id"]: t for t in spanish.get_json()}["general-authorization"]
    assert general["title"] == "Autorización para compartir su información de salud"
    assert (
        general["title"]
        != {t["id"]: t for t in english.get_json()}["general-authorization"]["title"]
    )
    # a language roi does not speak is refused, not answered in another
    refused = client.get(
        "/api/v1/form-templates", headers=bearer(setup["client"]), query_string={"lang": "fr"}
    )
    assert refused.status_code == 422
    assert "lang" in refused.get_json()["fields"]


def test_a_release_is_prepared_in_the_language_the_client_reads(client, setup):
    created = create(client, setup, language="es")
    assert created["language"] == "es"
    refused = client.post(
        "/api/v1/consents", headers=bearer(setup["clinician"]), json=body(setup, language="fr")
    )
    assert refused.status_code == 422
    assert "language" in refused.get_json()["fields"]


def test_the_whole_lifecycle_through_the_api(client, setup):
    created = create(client, setup)
    assert set(created) >= CONTRACT_FIELDS
    assert created["status"] == "draft"
    assert created["discloser"]["organization"] == "Riverside Counseling"
    consent_id = created["id"]
    sent = client.post(f"/api/v1/consents/{consent_id}/send", headers=bearer(setup["clinician"]))
    assert sent.status_code == 200
    assert sent.get_json()["status"] == "pending_signature"
    assert sent.get_json()["sent_at"].endswith("Z")
    signed = client.post(
        f"/api/v1/consents/{consent_id}/signature",
        headers=bearer(setup["client"]),
        json={"signer_name": "Jordan Avery", "signer_relationship": "self", "agree": True},
    )
    assert signed.status_code == 200, signed.get_json()
    signed_body = signed.get_json()
    assert signed_body["status"] == "active"
    assert signed_body["signed_at"]
    assert signed_body["language"] == "en"
    document = client.get(
        f"/api/v1/consents/{consent_id}/document.pdf", headers=bearer(setup["psychiatrist"])
    )
    assert document.status_code == 200
    assert document.headers["Content-Type"] == "application/pdf"
    assert hashlib.sha256(document.data).hexdigest() == signed_body["document_sha256"]
    listed = client.get(
        f"/api/v1/consents?client_id={setup['client_id']}&status=active",
        headers=bearer(setup["clinician"]),
    )
    assert [c["id"] for c in listed.get_json()] == [consent_id]
    revoked = client.post(
        f"/api/v1/consents/{consent_id}/revocation", headers=bearer(setup["client"]), json={}
    )
    assert revoked.status_code == 200
    assert revoked.get_json()["status"] == "revoked"
    assert revoked.get_json()["revoked_at"]
    twice = client.post(
        f"/api/v1/consents/{consent_id}/revocation", headers=bearer(setup["client"]), json={}
    )
    assert twice.status_code == 409
    assert twice.get_json()["error"] == "wrong_state"


def test_a_client_who_read_the_release_in_spanish_signs_it_in_spanish(client, setup):
    consent_id = create(client, setup)["id"]
    client.post(f"/api/v1/consents/{consent_id}/send", headers=bearer(setup["clinician"]))
    body = {"signer_name": "Jordan Avery", "signer_relationship": "self", "agree": True}
    unknown = client.post(
        f"/api/v1/consents/{consent_id}/signature",
        headers=bearer(setup["client"]),
        json={**body, "language": "fr"},
    )
    assert unknown.status_code == 422
    assert "language" in unknown.get_json()["fields"]
    signed = client.post(
        f"/api/v1/consents/{consent_id}/signature",
        headers=bearer(setup["client"]),
        json={**body, "language": "es"},
    )
    assert signed.status_code == 200, signed.get_json()
    assert signed.get_json()["language"] == "es"


def test_send_names_each_missing_element(client, setup):
    created = create(client, setup, categories=[], purposes=[], expires_on=None)
    response = client.post(
        f"/api/v1/consents/{created['id']}/send", headers=bearer(setup["clinician"])
    )
    assert response.status_code == 422
    payload = response.get_json()
    assert set(payload["fields"]) == {"categories", "purposes", "expires_on"}
    assert {m["rule"] for m in payload["missing"]} >= {
        "164.508(c)(1)(i)",
        "164.508(c)(1)(iv)",
        "164.508(c)(1)(v)",
    }


def test_wrong_states_are_409(client, setup):
    created = create(client, setup)
    sign = client.post(
        f"/api/v1/consents/{created['id']}/signature",
        headers=bearer(setup["client"]),
        json={"signer_name": "Jordan Avery", "signer_relationship": "self", "agree": True},
    )
    assert sign.status_code == 404  # a draft is not the client's to see, let alone sign
    pending = client.post(
        f"/api/v1/consents/{created['id']}/send", headers=bearer(setup["clinician"])
    )
    assert pending.status_code == 200
    revoke = client.post(
        f"/api/v1/consents/{created['id']}/revocation", headers=bearer(setup["client"]), json={}
    )
    assert revoke.status_code == 409  # not active yet
    expire = client.post(
        f"/api/v1/consents/{created['id']}/expiry-event",
        headers=bearer(setup["clinician"]),
        json={"occurred_on": now().date().isoformat()},
    )
    assert expire.status_code == 409


def test_create_refusals(client, setup, session):
    bad = client.post(
        "/api/v1/consents",
        headers=bearer(setup["clinician"]),
        json=body(setup, categories=["psychotherapy_notes"], template_id="general-authorization"),
    )
    assert bad.status_code == 422
    assert "own authorization" in bad.get_json()["fields"]["categories"]
    unknown = client.post(
        "/api/v1/consents", headers=bearer(setup["clinician"]), json=body(setup, template_id="x")
    )
    assert unknown.status_code == 422
    assert "template_id" in unknown.get_json()["fields"]
    # C4: fields the caller may not set are refused, not silently stored
    sneaky = client.post(
        "/api/v1/consents",
        headers=bearer(setup["clinician"]),
        json={**body(setup), "status": "active", "signed_at": "2026-01-01T00:00:00Z"},
    )
    assert sneaky.status_code == 422
    assert set(sneaky.get_json()["fields"]) == {"status", "signed_at"}
    session.rollback()
    assert session.scalars(select(Consent)).all() == []


def test_consent_of_another_practice_is_404(client, setup, session, other_clinician):
    created = create(client, setup)
    outsider, _ = make_client_user(session, other_clinician, given_name="Ruth")
    # the recipient clinician sees it only once signed (SECURITY C7); a draft is not theirs yet
    assert (
        client.get(
            f"/api/v1/consents/{created['id']}", headers=bearer(setup["psychiatrist"])
        ).status_code
        == 404
    )
    stranger = _stranger_token(client, session, other_clinician)
    for url in (
        f"/api/v1/consents/{created['id']}",
        f"/api/v1/consents/{created['id']}/document.pdf",
    ):
        assert client.get(url, headers=bearer(stranger)).status_code == 404
    # nobody may patch or delete a consent
    for method in ("patch", "put", "delete"):
        response = getattr(client, method)(
            f"/api/v1/consents/{created['id']}",
            headers=bearer(setup["clinician"]),
            json={"status": "active"},
        )
        assert response.status_code == 405
    assert outsider.id


def _stranger_token(client, session, clinician):
    _, person = make_client_user(session, clinician, given_name="Ines")
    return api_token(client, person.email, person.password)


def test_clients_see_the_consent_list_of_their_own_only(client, setup):
    draft = create(client, setup)
    assert client.get("/api/v1/consents", headers=bearer(setup["client"])).get_json() == []
    client.post(f"/api/v1/consents/{draft['id']}/send", headers=bearer(setup["clinician"]))
    mine = client.get("/api/v1/consents", headers=bearer(setup["client"])).get_json()
    assert len(mine) == 1
    assert all(c["client_id"] == setup["client_id"] for c in mine)
    assert (
        client.post(
            "/api/v1/consents", headers=bearer(setup["client"]), json=body(setup)
        ).status_code
        == 403
    )


def test_a_portal_client_without_an_address_on_record_is_mailed_at_their_account(
    app, client, session, clinician, other_clinician
):
    # Given a client with a portal account and no email on their client record
    record, person = make_client_user(session, clinician, given_name="Noor", email=None)
    recipient = session.scalar(select(Provider).where(Provider.user_id == other_clinician.user.id))
    token = api_token(client, clinician.email, clinician.password)
    made = client.post(
        "/api/v1/consents",
        headers=bearer(token),
        json=body({"client_id": record.id, "recipient_id": recipient.id}),
    ).get_json()
    # When the release is sent for signature
    sent = client.post(f"/api/v1/consents/{made['id']}/send", headers=bearer(token))
    assert sent.status_code == 200
    # Then their account's address is told a release waits, with a link to their portal
    (told,) = [m for m in delivered_mail(app) if m["To"] == person.email]
    assert "waiting for your signature" in str(told["Subject"])
    assert "/portal/" in told.get_body(preferencelist=("plain",)).get_content()
