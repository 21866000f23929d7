"""The client record's signer facts through the API: whether a minor consented to their own care,
and their guardian or other personal representative with the authority document (sealed); only
the client's own practice records them (C1), never the client (C3)."""

from __future__ import annotations

import base64
import io

from sqlalchemy import select

from roi import vault
from roi.accounts.models import Client, ClientRepresentative
from roi.documents import attachments
from roi.web.inputs import SCAN_REQUEST_LIMIT
from tests.helpers import bearer
from tests.web.test_consent_api import setup
from tests.web.test_signers_web import make_minor

__all__ = ["setup"]
ORDER = b"%PDF-1.7\n% letters of guardianship no. 2024-GD-118\n"


def document(content: bytes = ORDER, content_type: str = "application/pdf") -> dict[str, str]:
    return {
        "filename": "guardianship.pdf",
        "content_type": content_type,
        "content_base64": base64.b64encode(content).decode(),
    }


def test_a_guardian_is_recorded_with_the_sealed_order_and_ended(client, session, setup):
    url = f"/api/v1/clients/{setup['client_id']}/representative"
    body = {"kind": "guardian", "name": "Maria Avery", "document": document()}
    created = client.post(url, json=body, headers=bearer(setup["clinician"]))
    assert created.status_code == 201, created.get_json()
    answer = created.get_json()
    assert (answer["kind"], answer["name"]) == ("guardian", "Maria Avery")
    session.rollback()
    row = session.get(ClientRepresentative, answer["id"])
    assert ORDER not in row.document_sealed
    place = vault.Place("client_representatives", "document_sealed", row.uuid)
    assert vault.open_sealed(row.document_sealed, place) == ORDER
    assert client.post(f"{url}/end", headers=bearer(setup["clinician"])).status_code == 204
    session.rollback()
    assert session.get(ClientRepresentative, answer["id"]).ended_at is not None


def test_a_document_that_is_not_what_it_says_is_refused_naming_the_field(client, session, setup):
    url = f"/api/v1/clients/{setup['client_id']}/representative"
    body = {
        "kind": "guardian",
        "name": "Maria Avery",
        "document": document(b"MZ\x90\x00 a program"),
    }
    refused = client.post(url, json=body, headers=bearer(setup["clinician"]))
    assert refused.status_code == 422
    assert "document" in refused.get_json()["fields"]
    session.rollback()
    assert session.scalars(select(ClientRepresentative)).all() == []


def test_a_scan_of_many_pages_goes_in_up_to_the_one_scan_limit(client, session, setup):
    # Given a court order or power of attorney of many pages, scanned to the limit of every scan
    url = f"/api/v1/clients/{setup['client_id']}/representative"
    headers = bearer(setup["clinician"])
    largest = ORDER + b"0" * (attachments.MAX_SCAN_BYTES - len(ORDER))
    body = {"kind": "other", "name": "Maria Avery", "document": document(largest)}
    # When it is sent through the API in base64, then it is recorded and opens whole
    created = client.post(url, json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    session.rollback()
    row = session.get(ClientRepresentative, created.get_json()["id"])
    place = vault.Place("client_representatives", "document_sealed", row.uuid)
    assert vault.open_sealed(row.document_sealed, place) == largest
    # And one byte more is refused, naming the file and the limit, and nothing is recorded
    assert client.post(f"{url}/end", headers=headers).status_code == 204
    body["document"] = document(largest + b"0")
    refused = client.post(url, json=body, headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["fields"] == {
        "document": "guardianship.pdf: each file must be under 15 MB."
    }
    session.rollback()
    assert len(session.scalars(select(ClientRepresentative)).all()) == 1


def test_only_a_view_that_takes_scans_reads_a_body_that_large(client, app, setup):
    # Given a body larger than the app's limit, and one larger than a scan's
    between = b'{"name": "' + b"a" * app.config["MAX_CONTENT_LENGTH"] + b'"}'
    too_large = b'{"name": "' + b"a" * SCAN_REQUEST_LIMIT + b'"}'
    headers = bearer(setup["clinician"])

    def post(url: str, body: bytes):
        return client.post(url, data=body, content_type="application/json", headers=headers)

    # When the first goes where no scan is taken (asking for a token: no one is signed in yet)
    refused = post("/api/v1/tokens", between)
    # Then it is refused with a clear answer, unread
    assert refused.status_code == 413
    assert refused.get_json()["error"] == "too_large"
    assert refused.get_json()["message"] == "The upload is too large."
    # When it goes where a scan is taken, it is read (and refused for what it says, not its size)
    representative = f"/api/v1/clients/{setup['client_id']}/representative"
    assert post(representative, between).status_code == 422
    # and a body larger than any scan needs is refused there too
    assert post(representative, too_large).status_code == 413


class Body(io.BytesIO):
    """A request body that remembers how far the app had read it when it was closed."""

    read_to = 0

    def close(self) -> None:
        self.read_to = self.tell()
        super().close()


def test_a_request_no_one_may_make_is_refused_before_its_body_is_read(client, setup):
    # Given a scan-sized body (the views that take scans read up to 21 MB) and no sign-in
    size = 5 * 1024 * 1024
    payload = b'{"name": "' + b"a" * size + b'"}'
    representative = f"/api/v1/clients/{setup['client_id']}/representative"

    def post(url: str, content_type: str, headers: dict[str, str] | None = None):
        body = Body(payload)
        answer = client.post(
            url,
            input_stream=body,
            content_length=len(payload),
            content_type=content_type,
            headers=headers or {},
        )
        return answer, body

    # When it goes to the API's and the browser's views that take a scan, to a send, or nowhere
    cases = (
        (representative, "application/json", 401),
        ("/api/v1/messages", "application/json", 401),
        (
            f"/clinician/clients/{setup['client_id']}/consents/paper",
            "multipart/form-data; boundary=x",
            302,
        ),
        # and where there is no page at all
        ("/clinician/no-such-page", "multipart/form-data; boundary=x", 404),
        ("/api/v1/no-such-resource", "application/json", 404),
    )
    for url, content_type, status in cases:
        refused, body = post(url, content_type)
        # Then each is refused, and not a byte of the body was read
        assert refused.status_code == status, url
        assert body.read_to == 0, url
    # (while the same body from someone signed in is read, and refused for what it says)
    read, body = post(representative, "application/json", bearer(setup["clinician"]))
    assert read.status_code == 422
    assert body.read_to == len(payload)


def test_own_care_follows_state_law_and_is_the_practices_to_record(client, session, setup):
    url = f"/api/v1/clients/{setup['client_id']}/own-care"
    # an adult signs for themself already
    adult = client.put(url, json={"own_care_consent": True}, headers=bearer(setup["clinician"]))
    assert adult.status_code == 422
    assert "adult" in adult.get_json()["fields"]["own_care_consent"]
    # the practice has no state: the conservative default lets no minor consent alone, and says so
    make_minor(session, setup["client_id"], 16)
    minor = client.put(url, json={"own_care_consent": True}, headers=bearer(setup["clinician"]))
    assert minor.status_code == 422
    assert "does not let a minor" in minor.get_json()["fields"]["own_care_consent"]
    recorded = client.put(url, json={"own_care_consent": False}, headers=bearer(setup["clinician"]))
    assert recorded.status_code == 200
    assert recorded.get_json() == {"own_care_consent": False}


def test_another_practice_gets_404_and_the_client_403(client, session, setup):
    client_id = setup["client_id"]
    body = {"kind": "other", "name": "Lee Avery", "document": document()}
    for token, status in ((setup["psychiatrist"], 404), (setup["client"], 403)):
        response = client.post(
            f"/api/v1/clients/{client_id}/representative", json=body, headers=bearer(token)
        )
        assert response.status_code == status
        own = client.put(
            f"/api/v1/clients/{client_id}/own-care",
            json={"own_care_consent": False},
            headers=bearer(token),
        )
        assert own.status_code == status
        ended = client.post(
            f"/api/v1/clients/{client_id}/representative/end", headers=bearer(token)
        )
        assert ended.status_code == status
    session.rollback()
    assert session.scalars(select(ClientRepresentative)).all() == []
    assert session.get(Client, client_id).own_care_consent is False


def test_the_views_that_read_large_bodies_are_the_scans_and_all_need_sign_in(app):
    # the surface that reads a body beyond the app's limit: each view that takes a scan, no other
    marked = {
        endpoint
        for endpoint, view in app.view_functions.items()
        if getattr(view, "roi_takes_scans", False)
    }
    assert marked == {
        "clinician.consent_paper_create",
        "clinician.consent_record_revocation",
        "clinician.client_representative",
        "clinician.outside_disclosure_new",
        "compliance.outside_disclosure_new",
        "consents.record_paper_consent",
        "consents.revoke_consent",
        "clients.record_representative",
        "outside_disclosures.record_disclosure",
    }
    assert all(getattr(app.view_functions[e], "roi_permission", None) for e in marked)
