"""The right signer in the browser and the API: the practice's state (admin settings), the client
record (own care, personal representative with their sealed authority document), the consent's
`required_signer`, and a wrong signer refused in the portal and through the API (C1/C2 on the new
routes)."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from roi import vault
from roi.accounts.models import Client, ClientRepresentative, Organization, RepresentativeKind
from roi.consent import representation
from roi.consent.library import FormLibrary
from roi.consent.models import Consent, ConsentStatus
from roi.documents import attachments
from tests.consent.conftest import FORMS
from tests.factories import make_provider, stand_in_documents
from tests.helpers import bearer, csrf_token, login_as
from tests.web.test_consent_api import create, setup
from tests.web.test_portal import detail_url, sent_consent, sign_data

__all__ = ["setup"]
PDF = b"%PDF-1.7\n% letters of guardianship no. 2024-GD-118\n"


def make_minor(session, client_id: int, age: int) -> None:
    session.rollback()  # a fresh snapshot: the app wrote since
    client = session.get(Client, client_id)
    today = client.created_at.date()
    client.birth_date = today.replace(year=today.year - age, day=1)
    session.commit()


def test_an_admin_sets_the_practices_state_a_clinician_cannot(client, session, admin, clinician):
    login_as(client, clinician.email, clinician.password)
    assert client.get("/admin/settings").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/clinician/"))})
    login_as(client, admin.email, admin.password)
    page = client.get("/admin/settings")
    assert "Washington" in page.get_data(as_text=True)
    saved = client.post(
        "/admin/settings",
        data={
            "csrf_token": csrf_token(page),
            "state": "WA",
            "mfa_required": "y",
            "emergency_sends_per_day": "3",
        },
    )
    assert saved.status_code == 302
    session.rollback()
    practice = session.get(Organization, admin.actor.organization_id)
    assert practice.state == "WA"
    assert practice.mfa_required_for_staff is True


def test_consent_json_names_the_required_signer_and_the_api_refuses_the_wrong_one(
    client, session, setup
):
    make_minor(session, setup["client_id"], 12)
    consent = create(client, setup)
    assert consent["required_signer"] == "representative"
    assert "164.502(g)(3)" in consent["required_signer_reason"]
    sent = client.post(f"/api/v1/consents/{consent['id']}/send", headers=bearer(setup["clinician"]))
    assert sent.status_code == 200
    path = f"/api/v1/consents/{consent['id']}/signature"
    wrong = client.post(
        path,
        headers=bearer(setup["client"]),
        json={"signer_name": "Jordan Avery", "signer_relationship": "self", "agree": True},
    )
    assert wrong.status_code == 422
    assert "164.502(g)(3)" in wrong.get_json()["fields"]["signer_relationship"]
    with stand_in_documents():
        right = client.post(
            path,
            headers=bearer(setup["client"]),
            json={
                "signer_name": "Maria Avery",
                "signer_relationship": "parent",
                "representative_authority": "Mother of Jordan, who is 12",
                "agree": True,
            },
        )
    assert right.status_code == 200, right.get_json()
    assert right.get_json()["required_signer"] == "representative"


def test_the_portal_refuses_the_wrong_signer_with_the_rule(
    client, session, clinician, other_clinician, client_person
):
    make_minor(session, client_person.actor.client_id, 12)

    library = FormLibrary.load(FORMS)
    recipient = make_provider(session, clinician)
    consent = sent_consent(session, clinician, library, recipient, client_person.actor.client_id)
    login_as(client, client_person.email, client_person.password)
    page = client.get(detail_url(consent.id))
    assert 'data-required-signer="representative"' in page.get_data(as_text=True)
    refused = client.post(
        f"{detail_url(consent.id)}/sign",
        data={**sign_data(), "csrf_token": csrf_token(page)},
    )
    assert refused.status_code == 422
    assert "The client cannot sign this release alone" in refused.get_data(as_text=True)
    session.rollback()
    assert session.get(Consent, consent.id).status is ConsentStatus.PENDING_SIGNATURE


def test_the_signing_form_offers_only_the_ways_of_signing_the_rule_allows(
    client, session, clinician, client_person
):
    library = FormLibrary.load(FORMS)
    recipient = make_provider(session, clinician)
    client_id = client_person.actor.client_id
    login_as(client, client_person.email, client_person.password)
    # Given an adult client: they alone sign, and the form offers nothing else, quoting no law
    adult = sent_consent(session, clinician, library, recipient, client_id)
    page = client.get(detail_url(adult.id)).get_data(as_text=True)
    assert re.findall(r'name="relationship"[^>]*value="(\w+)"', page) == ["self"]
    assert re.search(r'<input[^>]*checked[^>]*value="self"|value="self"[^>]*checked', page)
    assert "Who signs: the client, and only the client." in page
    assert "45 CFR" not in page
    assert "Describe your authority" not in page
    # Given an adult under guardianship: only their guardian signs, and only that is offered
    representation.record_representative(
        session,
        clinician.actor,
        client_id,
        representation.NewRepresentative(
            RepresentativeKind.GUARDIAN,
            "Maria Avery",
            attachments.Upload("order.pdf", "application/pdf", PDF),
        ),
    )
    guarded = sent_consent(session, clinician, library, recipient, client_id)
    page = client.get(detail_url(guarded.id)).get_data(as_text=True)
    assert re.findall(r'name="relationship"[^>]*value="(\w+)"', page) == ["guardian"]
    assert re.search(r'<input[^>]*checked[^>]*value="guardian"', page)
    representation.end_representative(session, clinician.actor, client_id)
    # Given a minor of 12: a parent, guardian or representative signs, told why
    make_minor(session, client_id, 12)
    minor = sent_consent(session, clinician, library, recipient, client_id)
    page = client.get(detail_url(minor.id)).get_data(as_text=True)
    assert re.findall(r'name="relationship"[^>]*value="(\w+)"', page) == [
        "parent",
        "guardian",
        "personal_representative",
    ]
    assert "164.502(g)" in page
    assert '<details class="representative" open>' in page
    # And when the form comes back to be corrected, the parent's choice is still ticked
    refused = client.post(
        f"{detail_url(minor.id)}/sign",
        data={
            **sign_data(relationship="parent"),
            "representative_authority": "x",
            "csrf_token": csrf_token(client.get(detail_url(minor.id))),
        },
    )
    assert refused.status_code == 422
    assert re.search(r'<input[^>]*checked[^>]*value="parent"', refused.get_data(as_text=True)), (
        "the parent's choice was dropped"
    )


def test_the_clinician_records_a_guardian_with_the_sealed_document(
    client, session, clinician, other_clinician, own_client, client_person
):
    url = f"/clinician/clients/{own_client.id}"
    # C1: a clinician of another practice; C2/C3: a client; neither records anything
    login_as(client, other_clinician.email, other_clinician.password)
    page = client.get("/clinician/")
    form = {
        "csrf_token": csrf_token(page),
        "kind": "guardian",
        "name": "Maria Chen",
        "document": (io.BytesIO(PDF), "order.pdf", "application/pdf"),
    }
    assert client.post(f"{url}/representative", data=form).status_code == 404
    assert (
        client.post(f"{url}/own-care", data={"csrf_token": form["csrf_token"]}).status_code == 404
    )
    client.post("/logout", data={"csrf_token": form["csrf_token"]})
    login_as(client, client_person.email, client_person.password)
    token = csrf_token(client.get("/portal/"))
    assert client.post(f"{url}/representative", data={"csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    session.rollback()
    assert session.scalars(select(ClientRepresentative)).all() == []
    # the client's own clinician records the guardian
    login_as(client, clinician.email, clinician.password)
    page = client.get(url)
    assert 'data-required-signer="client"' in page.get_data(as_text=True)
    # the form says how large the scan may be: the limit of every scan roi takes
    assert "PDF, PNG or JPEG, under 15 MB." in page.get_data(as_text=True)
    done = client.post(
        f"{url}/representative",
        data={
            **form,
            "csrf_token": csrf_token(page),
            "document": (io.BytesIO(PDF), "order.pdf", "application/pdf"),
        },
        follow_redirects=True,
    )
    text = done.get_data(as_text=True)
    assert "The personal representative is recorded" in text
    assert "Maria Chen" in text
    assert 'data-required-signer="representative"' in text
    session.rollback()
    row = session.scalars(select(ClientRepresentative)).one()
    assert PDF not in row.document_sealed
    place = vault.Place("client_representatives", "document_sealed", row.uuid)
    assert vault.open_sealed(row.document_sealed, place) == PDF


def test_c1_another_practice_changes_nothing_on_a_client_by_id(
    client, session, clinician, other_clinician, own_client
):
    # C1: every new client route, by another practice's clinician: not found, nothing changes
    login_as(client, other_clinician.email, other_clinician.password)
    token = csrf_token(client.get("/clinician/"))
    base = f"/clinician/clients/{own_client.id}"
    for path, data in (
        (f"{base}/discharge", {"on": own_client.created_at.date().isoformat()}),
        (f"{base}/own-care", {"own_care_consent": "y"}),
        (f"{base}/representative/end", {}),
    ):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 404, path
    # and the portal request page is for clients only
    assert client.get("/portal/share").status_code == 403
    session.rollback()
    record = session.get(Client, own_client.id)
    assert record.discharged_on is None
    assert record.own_care_consent is False


def test_a_long_scanned_order_goes_in_through_the_browser(client, session, clinician, own_client):
    # Given a long order scanned to the limit of every scan (15 MB; a third of that was refused)
    order = PDF + b"0" * (attachments.MAX_SCAN_BYTES - len(PDF))
    login_as(client, clinician.email, clinician.password)
    url = f"/clinician/clients/{own_client.id}"
    page = client.get(url)
    # When the clinician records the guardian with it
    done = client.post(
        f"{url}/representative",
        data={
            "csrf_token": csrf_token(page),
            "kind": "guardian",
            "name": "Maria Chen",
            "document": (io.BytesIO(order), "order.pdf", "application/pdf"),
        },
    )
    # Then it is recorded, the document whole
    assert done.status_code == 302
    session.rollback()
    row = session.scalars(select(ClientRepresentative)).one()
    place = vault.Place("client_representatives", "document_sealed", row.uuid)
    assert vault.open_sealed(row.document_sealed, place) == order
