"""A client asks to share their records (issue 12 item 7): the request reaches the clinician,
who turns it into a release; only such a release may give the purpose "at the request of the
individual" (164.508(c)(1)(iv)). C1/C2 on the new routes."""

from __future__ import annotations

import re

from sqlalchemy import select

from roi.audit import AuditEntry
from roi.consent.models import Consent, ShareRequest, ShareRequestStatus
from tests.factories import make_client_user
from tests.helpers import api_token, bearer, csrf_token, login_as, logout
from tests.web.test_consent_api import body, setup

__all__ = ["setup"]


def test_a_clients_request_becomes_a_release_with_the_purpose_only_it_may_give(
    client, session, clinician, other_clinician, client_person
):
    # Given the client, in the portal, finds the psychiatrist in the directory and asks
    login_as(client, client_person.email, client_person.password)
    # (searching is a POST: whom a client looks for stays out of URLs and logs, D4)
    assert "Samuel Okafor" not in client.get("/portal/share?q=Okafor").get_data(as_text=True)
    page = client.post(
        "/portal/share",
        data={"q": "Okafor", "find": "1", "csrf_token": csrf_token(client.get("/portal/share"))},
    )
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Samuel Okafor" in text
    provider_id = int(re.search(r'name="provider_id" value="(\d+)"', text).group(1))
    done = client.post(
        "/portal/share",
        data={
            "csrf_token": csrf_token(page),
            "provider_id": str(provider_id),
            "note": "For my new psychiatrist.",
        },
        follow_redirects=True,
    )
    assert "Your request is sent to your practice" in done.get_data(as_text=True)
    logout(client)
    session.rollback()
    request = session.scalars(select(ShareRequest)).one()
    assert request.note_sealed is not None
    assert b"psychiatrist" not in request.note_sealed
    assert session.scalars(
        select(AuditEntry.action).where(AuditEntry.action == "share.requested")
    ).all() == ["share.requested"]
    # When the clinician sees it on their dashboard and prepares the release
    login_as(client, clinician.email, clinician.password)
    dashboard = client.get("/clinician/").get_data(as_text=True)
    assert "Clients asking to share their records" in dashboard
    assert f"/clinician/share-requests/{request.id}" in dashboard
    detail = client.get(f"/clinician/share-requests/{request.id}").get_data(as_text=True)
    assert "For my new psychiatrist." in detail
    form_url = (
        f"/clinician/clients/{request.client_id}/consents/new?template_id=general-authorization"
        f"&share_request_id={request.id}"
    )
    form_page = client.get(form_url)
    html = form_page.get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="at_request_of_individual"', html)
    created = client.post(
        f"/clinician/clients/{request.client_id}/consents",
        data={
            "csrf_token": csrf_token(form_page),
            "template_id": "general-authorization",
            "share_request_id": str(request.id),
            "recipient_provider_id": str(provider_id),
            "direction": "one_way",
            "categories": ["diagnosis"],
            "purposes": ["at_request_of_individual"],
            "information_description": "Diagnosis and a treatment summary since 2025.",
            "expires_on": "",
            "expiry_event_kind": "after_first_disclosure",
            "expiry_event": "",
            "signer_relationship": "self",
        },
    )
    # Then it is a draft with that purpose, answering the request
    assert created.status_code == 302
    session.rollback()
    consent = session.scalars(select(Consent)).one()
    assert consent.purposes == ["at_request_of_individual"]
    assert consent.share_request_id == request.id
    session.refresh(request)
    assert request.status is ShareRequestStatus.PREPARED
    # And an ordinary release neither offers the purpose nor takes it
    plain = client.get(
        f"/clinician/clients/{request.client_id}/consents/new?template_id=general-authorization"
    )
    assert 'value="at_request_of_individual"' not in plain.get_data(as_text=True)


def test_the_api_refuses_the_purpose_on_a_release_no_client_asked_for(client, session, setup):
    refused = client.post(
        "/api/v1/consents",
        headers=bearer(setup["clinician"]),
        json=body(setup, purposes=["at_request_of_individual"]),
    )
    assert refused.status_code == 422
    assert "164.508(c)(1)(iv)" in refused.get_json()["fields"]["purposes"]
    # the client asks through the API; the clinician answers with a release
    asked = client.post(
        "/api/v1/share-requests",
        headers=bearer(setup["client"]),
        json={"provider_name": "Dr. Ines Park", "provider_address": "2 Elm St, Salem OR"},
    )
    assert asked.status_code == 201, asked.get_json()
    request_id = asked.get_json()["id"]
    listed = client.get("/api/v1/share-requests", headers=bearer(setup["clinician"]))
    assert [r["id"] for r in listed.get_json()] == [request_id]
    answered = client.post(
        "/api/v1/consents",
        headers=bearer(setup["clinician"]),
        json=body(setup, purposes=["at_request_of_individual"], share_request_id=request_id),
    )
    assert answered.status_code == 201, answered.get_json()
    assert answered.get_json()["share_request_id"] == request_id
    # a request answers one release only
    again = client.post(
        "/api/v1/consents",
        headers=bearer(setup["clinician"]),
        json=body(setup, purposes=["at_request_of_individual"], share_request_id=request_id),
    )
    assert again.status_code == 422
    assert "share_request_id" in again.get_json()["fields"]


def test_requests_are_seen_only_by_the_client_and_their_practice(
    client, session, setup, clinician, other_clinician
):
    asked = client.post(
        "/api/v1/share-requests",
        headers=bearer(setup["client"]),
        json={"provider_name": "Dr. Ines Park", "provider_address": "2 Elm St"},
    )
    request_id = asked.get_json()["id"]
    # C1: a clinician of another practice
    other = setup["psychiatrist"]
    assert client.get("/api/v1/share-requests", headers=bearer(other)).get_json() == []
    login_as(client, other_clinician.email, other_clinician.password)
    assert client.get(f"/clinician/share-requests/{request_id}").status_code == 404
    logout(client)
    # C2: another client of the same practice sees nothing of it, and a clinician cannot ask
    _, second = make_client_user(session, clinician, given_name="Robin", family_name="Marsh")
    token = api_token(client, second.email, second.password)
    assert client.get("/api/v1/share-requests", headers=bearer(token)).get_json() == []
    clinician_asks = client.post(
        "/api/v1/share-requests",
        headers=bearer(setup["clinician"]),
        json={"provider_name": "X", "provider_address": "Y"},
    )
    assert clinician_asks.status_code == 403
    # another practice cannot answer it with a release of its own
    foreign = client.post(
        "/api/v1/consents",
        headers=bearer(other),
        json=body(setup, purposes=["at_request_of_individual"], share_request_id=request_id),
    )
    assert foreign.status_code in (404, 422)
    session.rollback()
    assert session.scalars(select(Consent)).all() == []
