"""Expiration events roi sees, through the API and the clinician's pages: `expiry_event_kind` on
`POST /consents`, `POST /clients/{id}/discharge` (with C1/C2), the release form's worded examples
and the "Record discharge" action."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from roi.accounts.models import Client
from roi.clock import now
from roi.consent.models import Consent, ConsentStatus, ExpiryEventKind
from tests.factories import make_client_user, stand_in_documents
from tests.helpers import bearer, csrf_token, login_as
from tests.web.test_clinician_consents import new_release
from tests.web.test_consent_api import setup

__all__ = ["setup"]


def create(client, setup, **changes):
    body = {
        "client_id": setup["client_id"],
        "template_id": "general-authorization",
        "recipient_provider_id": setup["recipient_id"],
        "categories": ["diagnosis"],
        "purposes": ["treatment"],
        "information_description": "Diagnosis and a treatment summary since January 2026.",
        **changes,
    }
    return client.post("/api/v1/consents", headers=bearer(setup["clinician"]), json=body)


def activate(client, setup, consent_id: int) -> None:
    """Send the release and sign it as the client, with a stand-in PDF of record."""
    sent = client.post(f"/api/v1/consents/{consent_id}/send", headers=bearer(setup["clinician"]))
    assert sent.status_code == 200, sent.get_json()
    with stand_in_documents():
        signed = client.post(
            f"/api/v1/consents/{consent_id}/signature",
            headers=bearer(setup["client"]),
            json={"signer_name": "Jordan Avery", "signer_relationship": "self", "agree": True},
        )
    assert signed.status_code == 200, signed.get_json()


def test_post_consents_takes_the_kind_of_expiry_event(client, setup):
    once = create(client, setup, expiry_event_kind="after_first_disclosure")
    assert once.status_code == 201, once.get_json()
    assert once.get_json()["expiry_event_kind"] == "after_first_disclosure"
    assert once.get_json()["expiry_event"] == (
        "once the information has been sent to Samuel Okafor one time"
    )
    written = create(client, setup, expiry_event="the end of the court case")
    assert written.get_json()["expiry_event_kind"] == "other"
    dated = create(client, setup, expires_on=(now().date() + timedelta(days=30)).isoformat())
    assert dated.get_json()["expiry_event_kind"] is None
    wrong = create(client, setup, expiry_event_kind="when_i_say_so")
    assert wrong.status_code == 422
    assert "expiry_event_kind" in wrong.get_json()["fields"]


def test_discharge_through_the_api_expires_releases_until_the_end_of_treatment(
    client, session, setup
):
    ending = create(client, setup, expiry_event_kind="end_of_treatment").get_json()["id"]
    dated = create(
        client, setup, expires_on=(now().date() + timedelta(days=30)).isoformat()
    ).get_json()["id"]
    activate(client, setup, ending)
    activate(client, setup, dated)
    path = f"/api/v1/clients/{setup['client_id']}/discharge"
    today = now().date().isoformat()
    # C1: a clinician of another practice; C2: the client; neither changes anything
    assert (
        client.post(path, headers=bearer(setup["psychiatrist"]), json={"on": today}).status_code
        == 404
    )
    assert client.post(path, headers=bearer(setup["client"]), json={"on": today}).status_code == 403
    session.rollback()
    assert session.get(Consent, ending).status is ConsentStatus.ACTIVE
    assert session.get(Client, setup["client_id"]).discharged_on is None
    assert client.post(path, headers=bearer(setup["clinician"]), json={}).status_code == 422
    late = client.post(
        path,
        headers=bearer(setup["clinician"]),
        json={"on": (now().date() + timedelta(days=1)).isoformat()},
    )
    assert late.status_code == 422
    assert "on" in late.get_json()["fields"]
    # the clinician of the client's practice records it
    done = client.post(path, headers=bearer(setup["clinician"]), json={"on": today})
    assert done.status_code == 200
    assert done.get_json() == {"expired_consent_ids": [ending]}
    got = client.get(f"/api/v1/consents/{ending}", headers=bearer(setup["clinician"]))
    assert got.get_json()["status"] == "expired"
    kept = client.get(f"/api/v1/consents/{dated}", headers=bearer(setup["clinician"]))
    assert kept.get_json()["status"] == "active"


def test_the_release_form_words_its_example_events_with_real_names(
    client, session, clinician, other_clinician
):
    login_as(client, clinician.email, clinician.password)
    record, _ = make_client_user(session, clinician)
    page = client.get(
        f"/clinician/clients/{record.id}/consents/new?template_id=psychotherapy-notes"
    ).get_data(as_text=True)
    assert "{discloser_organization}" not in page
    assert "{recipient_name}" not in page
    assert "the end of your treatment with Riverside Counseling" in page
    assert "After the first time it is shared" in page


def test_record_discharge_on_the_client_page(client, session, clinician, setup):
    created = create(client, setup, expiry_event_kind="end_of_treatment").get_json()["id"]
    activate(client, setup, created)
    login_as(client, clinician.email, clinician.password)
    page = client.get(f"/clinician/clients/{setup['client_id']}")
    head, body = page.get_data(as_text=True).split("</title>")
    assert "discharge" not in head
    assert "Record discharge" in body
    done = client.post(
        f"/clinician/clients/{setup['client_id']}/discharge",
        data={"csrf_token": csrf_token(page), "on": now().date().isoformat()},
        follow_redirects=True,
    )
    assert f"Releases ended with it: #{created}." in done.get_data(as_text=True)
    session.rollback()
    assert session.get(Consent, created).status is ConsentStatus.EXPIRED


def test_the_release_form_saves_the_kind_of_event(client, session, clinician, other_clinician):
    login_as(client, clinician.email, clinician.password)
    record, created = new_release(
        client, session, clinician, other_clinician, expiry_event_kind="after_first_disclosure"
    )
    assert created.status_code == 302
    session.rollback()
    consent = session.scalars(select(Consent).where(Consent.client_id == record.id)).one()
    assert consent.expiry_event_kind is ExpiryEventKind.AFTER_FIRST_DISCLOSURE
