"""The paper trail through API v1 and the clinician's pages: revocations received outside roi
(the staff body of `POST /consents/{id}/revocation`), with their refusals (C1, C2)."""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import timedelta

import pytest
import time_machine
from babel.dates import format_date
from sqlalchemy import select

from roi.audit import Action, AuditEntry
from roi.clock import now
from roi.consent.models import Consent, ConsentStatus
from roi.documents import wording
from tests.documents.conftest import pdf_text, squeeze
from tests.factories import make_client_user, stand_in_documents
from tests.helpers import api_token, bearer, login_as, logout, post_form, statements_run
from tests.web.test_consent_api import create, setup  # noqa: F401 - `setup` is a fixture

SCAN_PDF = b"%PDF-1.7\n" + b"1 0 obj << >> endobj\n" * 5


def attachment(content: bytes = SCAN_PDF, content_type: str = "application/pdf", name="scan.pdf"):
    return {
        "filename": name,
        "content_type": content_type,
        "content_base64": base64.b64encode(content).decode(),
    }


def active(client, setup):  # noqa: F811
    consent = create(client, setup)
    sent = client.post(f"/api/v1/consents/{consent['id']}/send", headers=bearer(setup["clinician"]))
    assert sent.status_code == 200, sent.get_json()
    with stand_in_documents():
        signed = client.post(
            f"/api/v1/consents/{consent['id']}/signature",
            headers=bearer(setup["client"]),
            json={"signer_name": "Jordan Avery", "signer_relationship": "self", "agree": True},
        )
    assert signed.status_code == 200, signed.get_json()
    return signed.get_json()


def letter(**changes):
    values = {
        "method": "letter",
        "received_on": now().date().isoformat(),
        "document": attachment(),
        "reason": "Changing providers",
    }
    values.update(changes)
    return values


def test_a_clinician_records_a_letter_of_revocation(client, session, setup, clinician):  # noqa: F811
    # one day throughout: the letter was received today
    with time_machine.travel(now(), tick=False):
        consent = active(client, setup)
        assert consent["signature_method"] == "portal"
        assert consent["revocation"] is None
        response = client.post(
            f"/api/v1/consents/{consent['id']}/revocation",
            headers=bearer(setup["clinician"]),
            json=letter(),
        )
        assert response.status_code == 200, response.get_json()
        revoked = response.get_json()
        assert revoked["status"] == "revoked"
        assert revoked["revoked_at"]
        assert revoked["revocation"] == {
            "method": "letter",
            "received_on": now().date().isoformat(),
            "recorded_by": clinician.user.id,
            "confirmed_on": None,
        }
        # and the recipient's next send is refused
        refused = client.post(
            "/api/v1/disclosure-decisions",
            headers=bearer(setup["clinician"]),
            json={
                "client_id": setup["client_id"],
                "recipient_provider_id": setup["recipient_id"],
                "categories": ["diagnosis"],
                "purposes": ["treatment"],
            },
        )
        assert refused.get_json()["decision"] == "deny"


def test_listing_releases_opens_no_document(client, session, setup, clinician):  # noqa: F811
    # Given a signed release revoked by a letter, whose scan is kept
    consent = active(client, setup)
    url = f"/api/v1/consents/{consent['id']}"
    headers = bearer(setup["clinician"])
    assert client.post(f"{url}/revocation", headers=headers, json=letter()).status_code == 200
    # When the clinician lists releases and opens this one
    with statements_run() as read:
        listed = client.get("/api/v1/consents", headers=headers)
        shown = client.get(url, headers=headers)
    assert (listed.status_code, shown.status_code) == (200, 200)
    assert shown.get_json()["revocation"]["method"] == "letter"
    # Then no statement read a document (scans and signed PDFs run to megabytes)
    documents = ("pdf_sealed", "shown_document_sealed", "document_sealed")
    assert [column for column in documents if any(column in text for text in read)] == []
    # and the signed PDF is still there when asked for
    pdf = client.get(f"{url}/document.pdf", headers=headers)
    assert hashlib.sha256(pdf.data).hexdigest() == consent["document_sha256"]


def test_compliance_records_a_phone_call(client, session, setup, compliance):  # noqa: F811
    consent = active(client, setup)
    token = api_token(client, compliance.email, compliance.password)
    response = client.post(
        f"/api/v1/consents/{consent['id']}/revocation",
        headers=bearer(token),
        json={"method": "phone", "received_on": now().date().isoformat()},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["revocation"]["method"] == "phone"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"method": None}, "method"),
        ({"received_on": None}, "received_on"),
        ({"method": "carrier_pigeon"}, "method"),
        ({"document": attachment(b"GIF89a....", "image/png", "scan.png")}, "document"),
        ({"document": attachment(b"I revoke", "text/plain", "note.txt")}, "document"),
        ({"received_on": (now().date() + timedelta(days=3)).isoformat()}, "received_on"),
    ],
)
def test_refusals_name_the_field(client, session, setup, body, field):  # noqa: F811
    consent = active(client, setup)
    values = {k: v for k, v in letter(**body).items() if v is not None}
    response = client.post(
        f"/api/v1/consents/{consent['id']}/revocation",
        headers=bearer(setup["clinician"]),
        json=values,
    )
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["fields"]
    session.rollback()
    assert session.get(Consent, consent["id"]).status is ConsentStatus.ACTIVE


def test_another_practice_cannot_record_one(client, session, setup):  # noqa: F811
    # C1: the recipient psychiatrist (another practice) sees the release but may not revoke it
    consent = active(client, setup)
    response = client.post(
        f"/api/v1/consents/{consent['id']}/revocation",
        headers=bearer(setup["psychiatrist"]),
        json=letter(),
    )
    assert response.status_code == 404
    session.rollback()
    assert session.get(Consent, consent["id"]).status is ConsentStatus.ACTIVE
    assert denied_probes(session, consent["id"]) == 1


def denied_probes(session, consent_id):
    return len(
        session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == Action.AUTHZ_DENIED, AuditEntry.consent_id == consent_id
            )
        ).all()
    )


def test_another_client_cannot_revoke_it(client, session, setup, clinician):  # noqa: F811
    # C2: client C2 revokes C1's release by id → 404, nothing changes, a probe on record
    consent = active(client, setup)
    _, stranger = make_client_user(session, clinician, given_name="Ana", email="ana@x.example")
    token = api_token(client, stranger.email, stranger.password)
    response = client.post(
        f"/api/v1/consents/{consent['id']}/revocation", headers=bearer(token), json=letter()
    )
    assert response.status_code == 404
    session.rollback()
    assert session.get(Consent, consent["id"]).status is ConsentStatus.ACTIVE
    assert denied_probes(session, consent["id"]) == 1


def test_the_consent_page_records_a_letter_with_its_scan(client, session, setup, clinician):  # noqa: F811
    consent = active(client, setup)
    assert login_as(client, clinician.email, clinician.password).status_code == 302
    page = f"/clinician/consents/{consent['id']}"
    assert "Record a revocation received outside roi" in client.get(page).get_data(as_text=True)
    received_on = now().date()
    response = post_form(
        client,
        page,
        f"{page}/revocation",
        {
            "method": "letter",
            "received_on": received_on.isoformat(),
            "reason": "",
            "confirmed": "y",
            "document": (io.BytesIO(SCAN_PDF), "letter.pdf", "application/pdf"),
        },
    )
    assert response.status_code == 302
    shown = client.get(page).get_data(as_text=True)
    assert "The revocation is recorded" in shown
    day = format_date(received_on, "long", locale="en")
    assert f"Revocation received by letter on {day}" in shown
    session.rollback()
    stored = session.get(Consent, consent["id"])
    assert stored.status is ConsentStatus.REVOKED
    assert stored.revocation.document_content_type == "application/pdf"
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.CONSENT_REVOKED)
    ).one()
    assert entry.actor_id == clinician.user.id
    # and the scan comes back exactly as uploaded, for the practice only
    scan = client.get(f"{page}/revocation-document")
    assert scan.status_code == 200
    assert scan.mimetype == "application/pdf"
    assert scan.data == SCAN_PDF
    # and the revocation receipt says how it arrived
    receipt = client.get(f"{page}/revocation-receipt.pdf")
    assert receipt.status_code == 200
    day = wording.long_date(received_on)
    assert squeeze(f"by letter received on {day}") in squeeze(pdf_text(receipt.data))


def test_a_revocation_by_email_keeps_the_email_as_text_a_letter_needs_a_scan(
    client,
    session,
    setup,  # noqa: F811
    clinician,
):
    # CONTRACT.md: a revocation's document is an attachment, which may be plain text
    email = b"From: Jordan Avery\nSubject: Please stop sharing\n\nI revoke my release.\n"
    text = attachment(email, "text/plain", "revocation.txt")
    # a letter's document is a scan: its text alone is refused
    consent = active(client, setup)
    url = f"/api/v1/consents/{consent['id']}/revocation"
    as_letter = client.post(url, headers=bearer(setup["clinician"]), json=letter(document=text))
    assert as_letter.status_code == 422
    assert "document" in as_letter.get_json()["fields"]
    # an email is kept as its own text, and comes back as such to the practice
    by_email = client.post(
        url, headers=bearer(setup["clinician"]), json=letter(method="email", document=text)
    )
    assert by_email.status_code == 200, by_email.get_json()
    assert login_as(client, clinician.email, clinician.password).status_code == 302
    kept = client.get(f"/clinician/consents/{consent['id']}/revocation-document")
    assert kept.status_code == 200
    assert kept.mimetype == "text/plain"
    assert kept.data == email
    assert kept.headers["Content-Disposition"].startswith("attachment;")


def paper_body(setup, **changes):  # noqa: F811
    from tests.web.test_consent_api import body

    values = body(
        setup,
        signed_on=now().date().isoformat(),
        signer_name="Jordan Avery",
        signer_relationship="self",
        scan=attachment(scanned_pdf(), name="signed.pdf"),
    )
    values.update(changes)
    return values


def scanned_pdf():
    from tests.consent.test_paper import scanned_pdf as make

    return make()


def test_the_api_records_a_paper_release(client, session, setup):  # noqa: F811
    response = client.post(
        "/api/v1/consents/paper", headers=bearer(setup["clinician"]), json=paper_body(setup)
    )
    assert response.status_code == 201, response.get_json()
    consent = response.get_json()
    assert consent["status"] == "active"
    assert consent["signature_method"] == "paper"
    document = client.get(
        f"/api/v1/consents/{consent['id']}/document.pdf", headers=bearer(setup["client"])
    )
    assert document.status_code == 200
    assert document.mimetype == "application/pdf"
    assert hashlib.sha256(document.data).hexdigest() == consent["document_sha256"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"purposes": []}, "purposes"),
        ({"information_description": ""}, "information_description"),
        ({"scan": attachment(b"GIF89a not a scan", "image/png", "scan.png")}, "scan"),
        ({"scan": attachment(b"signed", "text/plain", "scan.txt")}, "scan"),
        ({"signed_on": None}, "signed_on"),
    ],
)
def test_the_api_refuses_a_paper_release_naming_the_field(client, session, setup, changes, field):  # noqa: F811
    values = {k: v for k, v in paper_body(setup, **changes).items() if v is not None}
    response = client.post(
        "/api/v1/consents/paper", headers=bearer(setup["clinician"]), json=values
    )
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["fields"]
    session.rollback()
    assert session.scalars(select(Consent)).all() == []


def test_paper_releases_are_for_the_clients_own_practice(client, session, setup):  # noqa: F811
    # C1: another practice's clinician names our client → 404; a client → 403
    other = client.post(
        "/api/v1/consents/paper", headers=bearer(setup["psychiatrist"]), json=paper_body(setup)
    )
    assert other.status_code == 404
    own = client.post(
        "/api/v1/consents/paper", headers=bearer(setup["client"]), json=paper_body(setup)
    )
    assert own.status_code == 403
    session.rollback()
    assert session.scalars(select(Consent)).all() == []


def test_the_paper_form_records_a_release_and_prints_a_blank(
    client,
    session,
    setup,  # noqa: F811
    clinician,
    other_clinician,
):
    assert login_as(client, clinician.email, clinician.password).status_code == 302
    client_id = setup["client_id"]
    form_page = (
        f"/clinician/clients/{client_id}/consents/new?template_id=general-authorization&paper=1"
    )
    page = client.get(form_page)
    assert page.status_code == 200
    assert "Scan of the signed paper" in page.get_data(as_text=True)
    fields = {
        "template_id": "general-authorization",
        "recipient_provider_id": str(setup["recipient_id"]),
        "direction": "one_way",
        "categories": ["diagnosis"],
        "purposes": ["treatment"],
        "information_description": "Diagnosis and treatment summary since 2025.",
        "expires_on": (now().date() + timedelta(days=90)).isoformat(),
        "signer_relationship": "self",
        "signer_name": "Jordan Avery",
        "signed_on": now().date().isoformat(),
    }
    action = f"/clinician/clients/{client_id}/consents/paper"
    # a scan that is not what its name says is refused, naming the scan
    refused = post_form(
        client,
        form_page,
        action,
        {**fields, "scan": (io.BytesIO(b"MZ not a pdf"), "signed.pdf", "application/pdf")},
    )
    assert refused.status_code == 422
    assert "signed.pdf: the file is not the application/pdf" in refused.get_data(as_text=True)
    # a missing element is refused, naming it
    missing = post_form(
        client,
        form_page,
        action,
        {
            **fields,
            "purposes": [],
            "scan": (io.BytesIO(scanned_pdf()), "signed.pdf", "application/pdf"),
        },
    )
    assert missing.status_code == 422
    assert "Give each purpose of the disclosure" in missing.get_data(as_text=True)
    # the complete paper release is recorded and active
    recorded = post_form(
        client,
        form_page,
        action,
        {**fields, "scan": (io.BytesIO(scanned_pdf()), "signed.pdf", "application/pdf")},
    )
    assert recorded.status_code == 302
    detail = client.get(recorded.headers["Location"]).get_data(as_text=True)
    assert "on paper; recorded from its scan" in detail
    # a draft prints as a blank release for paper signing; another practice's is not found
    draft = create(client, setup)
    blank = client.get(f"/clinician/consents/{draft['id']}/blank.pdf")
    assert blank.status_code == 200
    assert blank.mimetype == "application/pdf"
    logout(client)
    assert login_as(client, other_clinician.email, other_clinician.password).status_code == 302
    assert client.get(f"/clinician/consents/{draft['id']}/blank.pdf").status_code == 404
    foreign = post_form(
        client,
        "/clinician/clients",
        action,
        {**fields, "scan": (io.BytesIO(scanned_pdf()), "signed.pdf", "application/pdf")},
    )
    assert foreign.status_code == 404


def test_overview_lists_disclosures_before_recording(client, session, setup, compliance):  # noqa: F811
    # Given a release used for a message today, and a letter of revocation received today
    consent = active(client, setup)
    message = client.post(
        "/api/v1/messages",
        headers=bearer(setup["clinician"]),
        json={
            "client_id": setup["client_id"],
            "recipient_provider_id": setup["recipient_id"],
            "categories": ["diagnosis"],
            "purpose": "treatment",
            "subject": "Referral",
            "body": "Details follow.",
        },
    )
    assert message.status_code == 201, message.get_json()
    recorded = client.post(
        f"/api/v1/consents/{consent['id']}/revocation",
        headers=bearer(setup["clinician"]),
        json=letter(document=None),
    )
    assert recorded.status_code == 200, recorded.get_json()
    # Then the compliance overview lists the message as made after the letter arrived
    assert login_as(client, compliance.email, compliance.password).status_code == 302
    page = client.get("/compliance/").get_data(as_text=True)
    assert "Disclosed after a revocation was received" in page
    assert f"message #{message.get_json()['id']}" in page
    # and the release's page, where compliance may also record revocations, is linked
    assert f'href="/clinician/consents/{consent["id"]}"' in page
    assert client.get(f"/clinician/consents/{consent['id']}").status_code == 200


def test_another_practice_cannot_record_one_on_the_page(client, session, setup, other_clinician):  # noqa: F811
    # C1: the recipient psychiatrist posts the form of the disclosing practice's release
    consent = active(client, setup)
    assert login_as(client, other_clinician.email, other_clinician.password).status_code == 302
    response = post_form(
        client,
        "/clinician/clients",
        f"/clinician/consents/{consent['id']}/revocation",
        {
            "method": "letter",
            "received_on": now().date().isoformat(),
            "reason": "",
            "confirmed": "y",
        },
    )
    assert response.status_code == 404
    document = client.get(f"/clinician/consents/{consent['id']}/revocation-document")
    assert document.status_code == 404
    session.rollback()
    assert session.get(Consent, consent["id"]).status is ConsentStatus.ACTIVE


def test_a_phone_revocation_is_confirmed_on_the_page(client, session, setup, clinician):  # noqa: F811
    # one day throughout: the page and the API say the day it was confirmed, which is today
    with time_machine.travel(now(), tick=False):
        consent = active(client, setup)
        called = client.post(
            f"/api/v1/consents/{consent['id']}/revocation",
            headers=bearer(setup["clinician"]),
            json={"method": "phone", "received_on": now().date().isoformat()},
        )
        assert called.status_code == 200, called.get_json()
        assert login_as(client, clinician.email, clinician.password).status_code == 302
        page = f"/clinician/consents/{consent['id']}"
        assert "Record the written confirmation" in client.get(page).get_data(as_text=True)
        response = post_form(
            client,
            page,
            f"{page}/revocation",
            {
                "method": "letter",
                "received_on": now().date().isoformat(),
                "reason": "",
                "document": (io.BytesIO(SCAN_PDF), "letter.pdf", "application/pdf"),
            },
        )
        assert response.status_code == 302
        shown = client.get(page).get_data(as_text=True)
        assert "The written confirmation is recorded." in shown
        assert f"Confirmed in writing on {format_date(now().date(), 'long', locale='en')}" in shown
        assert "Record the written confirmation" not in shown
        api = client.get(f"/api/v1/consents/{consent['id']}", headers=bearer(setup["clinician"]))
        assert api.get_json()["revocation"]["confirmed_on"] == now().date().isoformat()
