"""Hostile input never reaches a 500 (SECURITY J3): ids beyond 64 bits, dates in year 2 or
99999, 2,000 nested JSON lists, lone surrogates, NUL, CR/LF, U+202E and zero-width characters,
in the API and the web forms. (J2, routes and document agree: tests/web/test_api.py.)"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from roi.accounts.models import Client
from tests.helpers import api_token, bearer, csrf_token, login_as, post_form

HUGE_IDS = (2**31, 2**63, 2**64, 10**30)
NEW_CLIENT = {"given_name": "Ana", "family_name": "Lima", "birth_date": "1988-02-29"}
HIDDEN = {
    "NUL": "An\x00a",
    "CR/LF": "Ana\r\nBcc: x@example.org",
    "LF at the end": "Ana\n",
    "right-to-left override": "Ana\u202eamiL",
    "zero-width space": "A\u200bna",
    "zero-width joiner": "An\u200da",
    "byte-order mark": "\ufeffAna",
    "bidi isolate": "\u2067Ana\u2069",
    "C1 control": "Ana\x85",
    "lone surrogate": "Ana\ud800",
}
NESTED = "[" * 2000 + "]" * 2000


def still_serving(client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200


def ask_the_gate(client, token: str, **changes: object):
    """POST /disclosure-decisions with a well-formed question, `changes` on top."""
    question = {
        "client_id": 1,
        "recipient_provider_id": 1,
        "categories": ["mental_health"],
        "purposes": ["treatment"],
    }
    return client.post(
        "/api/v1/disclosure-decisions", headers=bearer(token), json={**question, **changes}
    )


@pytest.fixture
def clinician_token(client, clinician) -> str:
    return api_token(client, clinician.email, clinician.password)


@pytest.mark.parametrize("huge", HUGE_IDS)
def test_ids_beyond_64_bits_are_404_in_the_api_and_on_pages(
    client, clinician, clinician_token, huge
):
    for path in (
        f"/api/v1/clients/{huge}",
        f"/api/v1/consents/{huge}/fhir",
        f"/api/v1/messages/1/attachments/{huge}",
        f"/api/v1/audit-events/{huge * 2**32}/fhir",
    ):
        response = client.get(path, headers=bearer(clinician_token))
        assert response.status_code == 404, path
        assert response.get_json()["error"] == "not_found"
    assert (
        client.post(f"/api/v1/consents/{huge}/send", headers=bearer(clinician_token)).status_code
        == 404
    )
    login_as(client, clinician.email, clinician.password)
    assert client.get(f"/clinician/clients/{huge}").status_code == 404
    still_serving(client)


@pytest.mark.parametrize("huge", [2**31, 2**63, -1, 10**30])
def test_ids_beyond_64_bits_in_a_body_or_query_are_422_naming_the_field(
    client, clinician_token, own_client, huge
):
    response = ask_the_gate(client, clinician_token, client_id=huge)
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"client_id"}
    listed = client.get(f"/api/v1/consents?client_id={huge}", headers=bearer(clinician_token))
    assert listed.status_code == 422
    assert set(listed.get_json()["fields"]) == {"client_id"}


@pytest.mark.parametrize("given", [1.9, 1.0, "1", True])
def test_an_id_in_a_body_that_is_not_a_whole_number_is_422_not_another_record(
    client, clinician_token, own_client, given
):
    # 1.9 must not become client 1, nor "1" pass here when POST /consents refuses it
    for path, body in (
        ("/api/v1/disclosure-decisions", {"client_id": given}),
        ("/api/v1/messages", {"client_id": given, "subject": "S", "body": "B"}),
    ):
        question = {
            "recipient_provider_id": 1,
            "categories": ["diagnosis"],
            "purposes": ["treatment"],
            "purpose": "treatment",
        }
        if path.endswith("messages"):
            del question["purposes"]
        else:
            del question["purpose"]
        answer = client.post(path, headers=bearer(clinician_token), json={**question, **body})
        assert answer.status_code == 422, (path, answer.get_json())
        assert "client_id" in answer.get_json()["fields"]
    # an id in a query string is text, and a whole number there still works
    listed = client.get(
        f"/api/v1/consents?client_id={own_client.id}", headers=bearer(clinician_token)
    )
    assert listed.status_code == 200
    fraction = client.get("/api/v1/consents?client_id=1.9", headers=bearer(clinician_token))
    assert fraction.status_code == 422


def test_a_misspelt_filter_of_the_emergency_queue_is_refused(client, compliance):
    token = api_token(client, compliance.email, compliance.password)
    answer = client.get("/api/v1/emergency-disclosures?reviewd=true", headers=bearer(token))
    assert answer.status_code == 422
    assert "reviewd" in answer.get_json()["fields"]


@pytest.mark.parametrize("day", ["0002-01-01", "99999-01-01", "1899-12-31", "2201-01-01"])
def test_dates_outside_1900_to_2200_are_422_naming_the_field(
    client, clinician_token, compliance, own_client, day
):
    created = client.post(
        "/api/v1/clients", headers=bearer(clinician_token), json={**NEW_CLIENT, "birth_date": day}
    )
    assert created.status_code == 422
    assert set(created.get_json()["fields"]) == {"birth_date"}
    token = api_token(client, compliance.email, compliance.password)
    request = client.post(
        f"/api/v1/clients/{own_client.id}/accounting-requests",
        headers=bearer(token),
        json={"received_on": day, "channel": "written"},
    )
    assert request.status_code == 422
    assert set(request.get_json()["fields"]) == {"received_on"}
    accounting = client.get(
        f"/api/v1/clients/{own_client.id}/accounting-of-disclosures?since={day}",
        headers=bearer(token),
    )
    assert accounting.status_code == 422
    assert set(accounting.get_json()["fields"]) == {"since"}
    log = client.get(f"/api/v1/audit-events?until={day}", headers=bearer(token))
    assert log.status_code == 422
    assert set(log.get_json()["fields"]) == {"until"}
    still_serving(client)


def test_json_nested_2000_deep_is_400_before_it_is_parsed(client, clinician_token):
    calls = (("/api/v1/tokens", {}), ("/api/v1/clients", bearer(clinician_token)))
    # closed, never closed, and objects inside lists
    for body in (NESTED, "[" * 2000, '{"a": [' * 1000):
        for path, headers in calls:
            response = client.post(
                path, data=body, headers=headers, content_type="application/json"
            )
            assert response.status_code == 400
            assert response.get_json()["error"] == "malformed"
            assert "nested" in response.get_json()["message"]
    # brackets inside a string are text, not nesting
    text = client.post(
        "/api/v1/clients",
        headers=bearer(clinician_token),
        json={**NEW_CLIENT, "family_name": "[" * 50},
    )
    assert text.status_code == 201
    still_serving(client)


@pytest.mark.parametrize("value", HIDDEN.values(), ids=HIDDEN.keys())
def test_hidden_characters_in_names_and_emails_are_422_naming_the_field(
    client, clinician_token, value
):
    for field in ("given_name", "family_name"):
        response = client.post(
            "/api/v1/clients", headers=bearer(clinician_token), json={**NEW_CLIENT, field: value}
        )
        assert response.status_code == 422, field
        assert set(response.get_json()["fields"]) == {field}
    provider = client.post(
        "/api/v1/providers",
        headers=bearer(clinician_token),
        json={"name": "Helen Brooks", "organization": value},
    )
    assert provider.status_code == 422
    assert set(provider.get_json()["fields"]) == {"organization"}
    email = client.post(
        "/api/v1/clients",
        headers=bearer(clinician_token),
        json={**NEW_CLIENT, "email": value.replace("Ana", "ana@example.org")},
    )
    assert email.status_code == 422
    assert set(email.get_json()["fields"]) == {"email"}
    still_serving(client)


@pytest.mark.parametrize("value", ["note\x00", "note\udfff"], ids=["NUL", "lone surrogate"])
def test_text_no_column_can_hold_is_422_naming_the_field_anywhere(
    client, clinician_token, own_client, value
):
    body = ask_the_gate(
        client, clinician_token, client_id=own_client.id, categories=["mental_health", value]
    )
    assert body.status_code == 422
    assert body.get_json()["fields"] == {"categories.1": body.get_json()["fields"]["categories.1"]}
    key = client.post(
        "/api/v1/clients", headers=bearer(clinician_token), json={**NEW_CLIENT, value: "x"}
    )
    assert key.status_code == 422
    query = client.get("/api/v1/providers?q=a%00b", headers=bearer(clinician_token))
    assert query.status_code == 422
    assert set(query.get_json()["fields"]) == {"q"}
    still_serving(client)


def test_names_are_stored_in_nfc(client, clinician_token, session):
    decomposed = "Zoe\u0308"  # e + combining diaeresis, as some keyboards send it
    response = client.post(
        "/api/v1/clients",
        headers=bearer(clinician_token),
        json={**NEW_CLIENT, "given_name": decomposed, "family_name": "Nun\u0303ez"},
    )
    assert response.status_code == 201
    assert response.get_json()["given_name"] == "Zo\u00eb"
    session.rollback()  # a fresh read, after the request committed
    stored = session.scalars(select(Client)).one()
    assert (stored.given_name, stored.family_name) == ("Zo\u00eb", "Nu\u00f1ez")


def _client_form(client, **changes: str):
    page = client.get("/clinician/clients/new")
    data = {**NEW_CLIENT, "email": "", "csrf_token": csrf_token(page), **changes}
    return client.post("/clinician/clients/new", data=data)


@pytest.mark.parametrize(
    "value", [v for k, v in HIDDEN.items() if k != "lone surrogate"], ids=list(HIDDEN)[:-1]
)
def test_the_client_form_refuses_hidden_characters_next_to_the_field(client, clinician, value):
    login_as(client, clinician.email, clinician.password)
    response = _client_form(client, given_name=value)
    assert response.status_code == 422
    # beside the field; or, for text no column holds (NUL), on the refusal page naming it
    assert "type it plainly" in _error_of(response, "given_name") or (
        "given_name: Contains a character that is not text" in response.text
    )
    still_serving(client)


@pytest.mark.parametrize("day", ["0002-01-01", "99999-01-01"])
def test_the_client_form_refuses_dates_outside_the_range(client, clinician, day):
    login_as(client, clinician.email, clinician.password)
    response = _client_form(client, birth_date=day)
    assert response.status_code == 422
    assert _error_of(response, "birth_date")


def test_the_admin_and_accounting_forms_refuse_them_too(app, client, admin, compliance, own_client):
    login_as(client, admin.email, admin.password)
    user = {
        "name": "Lee\u202ekraP",
        "email": "lee\u200b@example.org",
        "role": "client",
        "client_id": str(2**63),
        "password": "violet kettle harbor thunder",
    }
    response = post_form(client, "/admin/users/new", "/admin/users/new", user)
    assert response.status_code == 422
    assert all(_error_of(response, field) for field in ("name", "email", "client_id"))
    officer = app.test_client()
    login_as(officer, compliance.email, compliance.password)
    request = {"client_id": str(own_client.id), "received_on": "0002-01-01", "channel": "written"}
    new = "/compliance/accounting/requests/new"
    response = post_form(officer, new, new, request)
    assert response.status_code == 422
    assert "1900-01-01" in _error_of(response, "received_on")
    still_serving(client)


def test_the_client_form_stores_names_in_nfc_and_bounds_ids(client, clinician, session):
    login_as(client, clinician.email, clinician.password)
    assert _client_form(client, given_name="Zoe\u0308").status_code == 302
    session.rollback()
    assert session.scalars(select(Client)).one().given_name == "Zo\u00eb"
    # ids in the links that prefill a page are ignored when no record could have them
    for query in ("reply_to", "client_id", "recipient_provider_id"):
        assert client.get(f"/clinician/messages/new?{query}={2**64}").status_code == 200
    client_id = session.scalars(select(Client.id)).one()
    new_release = f"/clinician/clients/{client_id}/consents/new"
    linked = client.get(
        f"{new_release}?template_id=general-authorization&recipient_provider_id={2**64}"
    )
    assert linked.status_code == 200
    for reply_to in ("", str(2**64), "\u00b2"):  # "²" is a digit to str.isdigit, not to int
        page = client.get("/clinician/messages/new")
        response = client.post(
            "/clinician/messages/new",
            data={
                "csrf_token": csrf_token(page),
                "client_id": str(2**64),
                "reply_to": reply_to,
                "subject": "s",
                "body": "b",
            },
        )
        assert response.status_code == 422
    still_serving(client)


def test_a_nul_in_any_form_field_is_422_naming_it(client, clinician):
    login_as(client, clinician.email, clinician.password)
    page = client.get("/clinician/directory/new")
    response = client.post(
        "/clinician/directory/new",
        data={"csrf_token": csrf_token(page), "name": "Helen", "address": "1 Lake\x00 St"},
    )
    assert response.status_code == 422
    assert "address" in response.text
    still_serving(client)


def test_405_names_the_allowed_methods_on_pages_and_in_the_api(client):
    page = client.put("/login")
    assert page.status_code == 405
    assert set(page.headers["Allow"].split(", ")) >= {"GET", "POST"}
    api = client.delete("/api/v1/clients")
    assert api.status_code == 405
    assert set(api.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert api.get_json()["error"] == "method_not_allowed"


def _error_of(response, field: str) -> str:
    """The error the page shows beside `field` (templates/_macros/forms.html)."""
    found = re.search(rf'id="{field}-error">([^<]*)<', response.get_data(as_text=True))
    return found.group(1) if found else ""
