"""Disclosures made outside roi (CONTRACT.md `POST /clients/{id}/disclosures`) and the
accounting that lists them with emergency disclosures, separately from authorized ones
(45 CFR 164.528(a)(1), SECURITY G6)."""

from __future__ import annotations

import base64
from datetime import date, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select, text

from roi import audit
from roi.actor import Role
from roi.audit import Action, Outcome
from roi.clock import now
from roi.compliance import accounting, disclosures
from roi.compliance.accounting import Kind
from roi.compliance.models import OutsideDisclosure
from roi.db import unit_of_work
from roi.documents import attachments
from roi.errors import Forbidden, Invalid, NotFound
from roi.messaging.service import NewAttachment
from tests.accounting.conftest import (
    SECRET_DESCRIPTION,
    clock_at,
    disclose,
    disclosure_entries,
    outside,
    pdf_text,
    sign_part2,
    squeeze,
)
from tests.factories import make_user
from tests.helpers import api_token, bearer, csrf_token, login_as

SUBPOENA = b"%PDF-1.4\n% subpoena duces tecum for Jordan Avery\n%%EOF\n"


def emergency_entry(session, referral, *, basis="medical_emergency", message_id=None):
    """A `disclosure.emergency` entry exactly as the emergency path writes it (CONTRACT.md)."""
    with unit_of_work(session):
        return audit.record(
            session,
            referral.therapist.actor,
            Action.DISCLOSURE_EMERGENCY,
            outcome=Outcome.PERMIT,
            client_id=referral.client_id,
            recipient_provider_id=referral.recipient_id,
            message_id=message_id,
            categories=("diagnosis", "medications"),
            purpose="treatment",
            detail={"basis": basis, "emergency_disclosure_id": 41},
        ).seq


# --- recording ---------------------------------------------------------------------------------


def test_staff_record_a_subpoena_response_sealed_and_audited(session, referral, officer):
    # When the therapist records a disclosure made by mail, with the subpoena attached
    found = disclosures.record(
        session,
        referral.therapist.actor,
        outside(
            referral,
            request_document=NewAttachment("subpoena.pdf", "application/pdf", SUBPOENA),
        ),
    )
    # Then it is audited as disclosure.recorded with its basis and id, and nothing else
    (entry,) = [e for e in disclosure_entries(session, referral.client_id)]
    assert entry.action == Action.DISCLOSURE_RECORDED
    assert entry.detail == {"basis": "judicial", "outside_disclosure_id": found.id}
    assert entry.actor_id == referral.therapist.user.id
    # And its words and the document are sealed: the raw row holds none of them
    raw = session.execute(
        text("SELECT * FROM outside_disclosures WHERE id = :id"), {"id": found.id}
    ).one()
    assert b"Marker-7f3a" not in b"".join(v for v in raw if isinstance(v, bytes))
    assert b"subpoena duces" not in b"".join(v for v in raw if isinstance(v, bytes))
    assert disclosures.opened(found).description == SECRET_DESCRIPTION
    # And compliance can fetch the request back (audited)
    kept, content = disclosures.request_document(session, officer.actor, found.id)
    assert content == SUBPOENA
    assert kept.request_content_type == "application/pdf"


def test_a_scanned_request_of_many_pages_is_held_to_the_limit_of_every_scan(session, referral):
    # Given a subpoena with its exhibits, scanned to the limit of every scan
    largest = SUBPOENA + b"0" * (attachments.MAX_SCAN_BYTES - len(SUBPOENA))
    request = NewAttachment("subpoena.pdf", "application/pdf", largest)
    # When the disclosure is recorded with it, then it is kept and comes back whole
    found = disclosures.record(
        session, referral.therapist.actor, outside(referral, request_document=request)
    )
    assert disclosures.request_document(session, referral.therapist.actor, found.id)[1] == largest
    # And one byte more is refused, naming the file and the limit
    over = NewAttachment("subpoena.pdf", "application/pdf", largest + b"0")
    with pytest.raises(Invalid) as refused:
        disclosures.record(
            session, referral.therapist.actor, outside(referral, request_document=over)
        )
    assert refused.value.fields == {
        "request_document": "subpoena.pdf: each file must be under 15 MB."
    }


def test_compliance_records_with_a_directory_recipient(session, referral, officer):
    found = disclosures.record(
        session,
        officer.actor,
        outside(
            referral,
            recipient_name=None,
            recipient_address=None,
            recipient_provider_id=referral.recipient_id,
            basis="health_oversight",
        ),
    )
    assert found.recipient_provider_id == referral.recipient_id
    assert disclosures.opened(found).recipient_name is None


def test_refusals_name_the_field_and_scope_the_client(session, referral, officer):
    other_clinician = make_user(session, Role.CLINICIAN, org="Northgate Psychiatry")
    # another practice's clinician, even the recipient of a release: not found
    with pytest.raises(NotFound):
        disclosures.record(session, other_clinician.actor, outside(referral))
    with pytest.raises(NotFound):
        disclosures.record(session, referral.psychiatrist.actor, outside(referral))
    # the client themself: forbidden
    with pytest.raises(Forbidden):
        disclosures.record(session, referral.client_person.actor, outside(referral))
    # a basis not in the list, a future day, no recipient, a file that is not what it says
    cases = {
        "basis": outside(referral, basis="curiosity"),
        "disclosed_on": outside(referral, disclosed_on=now().date() + timedelta(days=1)),
        "recipient": outside(referral, recipient_name="  "),
        "description": outside(referral, description=""),
        "request_document": outside(
            referral,
            request_document=NewAttachment("order.pdf", "application/pdf", b"MZ\x90\x00exe"),
        ),
    }
    for field, new in cases.items():
        with pytest.raises(Invalid) as refused:
            disclosures.record(session, referral.therapist.actor, new)
        assert field in refused.value.fields, field
    # a day in year 2, or seven years ago: no accounting could ever list it
    for day in (date(2, 1, 1), now().date() - timedelta(days=7 * 366)):
        with pytest.raises(Invalid) as refused:
            disclosures.record(session, officer.actor, outside(referral, disclosed_on=day))
        assert "disclosed_on" in refused.value.fields
    assert session.scalars(select(OutsideDisclosure)).all() == []
    assert disclosure_entries(session, referral.client_id) == []


# --- the accounting ----------------------------------------------------------------------------


def test_accounting_lists_emergency_and_outside_required_and_authorized_beyond(
    session, library, referral, officer
):
    # Given a consented disclosure, an emergency one, a subpoena response and an authorized
    # disclosure made by fax
    referral.signed(session)
    consented = disclose(session, referral)
    emergency_seq = emergency_entry(session, referral)
    subpoena = disclosures.record(session, officer.actor, outside(referral))
    faxed = disclosures.record(
        session,
        referral.therapist.actor,
        outside(referral, basis="authorization", recipient_name="Dr. Lee (by fax)"),
    )
    # When compliance reads the accounting
    found = accounting.accounting(session, officer.actor, library, referral.client_id)
    # Then what HIPAA requires comes first: the outside (older day) then the emergency
    required = [e.row for e in found.required]
    assert [(r.kind, r.basis) for r in required] == [
        (Kind.OUTSIDE, "judicial"),
        (Kind.EMERGENCY, "medical_emergency"),
    ]
    assert all(r.required_by_hipaa for r in required)
    assert required[0].record_id == subpoena.id
    assert required[0].at.date() == subpoena.disclosed_on
    assert required[0].recipient.name == "Clerk of the Family Court"
    assert required[0].description == SECRET_DESCRIPTION
    assert required[1].seq == emergency_seq
    assert required[1].recipient.provider_id == referral.recipient_id
    # And the authorized ones are beyond what HIPAA requires
    beyond = [e.row for e in found.beyond]
    assert [r.record_id or r.message_id for r in beyond] == [faxed.id, consented.id]
    assert not any(r.required_by_hipaa for r in beyond)
    # And the PDF says so, in two sections
    pdf = squeeze(pdf_text(accounting.to_pdf(found)))
    assert squeeze("Disclosures HIPAA requires in this accounting") in pdf
    assert squeeze("Beyond what HIPAA requires") in pdf
    assert squeeze("Judicial or administrative proceeding (45 CFR 164.512(e))") in pdf
    assert squeeze("Medical emergency (42 CFR 2.51)") in pdf


def test_g6_the_accounting_equals_the_permit_emergency_and_recorded_entries(
    session, library, referral, second_referral, officer
):
    # one day throughout: what the test expects is counted from today, which must not turn over
    with clock_at(now()):
        # Given every kind of disclosure for two clients over months, with denials around them
        with clock_at(now() - timedelta(days=120)):
            referral.signed(session)
            second_referral.signed(session)
        for days in (100, 60, 20):
            with clock_at(now() - timedelta(days=days)):
                disclose(session, referral)
                disclose(session, second_referral)
                emergency_entry(session, referral, basis="serious_threat")
                disclosures.record(
                    session,
                    officer.actor,
                    outside(referral, disclosed_on=now().date() - timedelta(days=1)),
                )
                disclosures.record(session, officer.actor, outside(second_referral))
        # When compliance asks for the first client's accounting
        found = accounting.accounting(session, officer.actor, library, referral.client_id)
        # Then its rows are exactly the client's permit + emergency + recorded entries
        expected = disclosure_entries(session, referral.client_id)
        assert len(expected) == 9
        assert sorted(r.seq for r in found.rows) == [e.seq for e in expected]
        assert {r.kind for r in found.rows} == set(Kind)
        # And a range by the day the information went out keeps a recorded disclosure on its day
        day = now().date() - timedelta(days=61)
        only = accounting.accounting(
            session, officer.actor, library, referral.client_id, since=day, until=day
        )
        assert [r.kind for r in only.rows] == [Kind.OUTSIDE]


def test_part2_accounting_keeps_listing_consented_disclosures_only(
    session, library, referral, officer
):
    sign_part2(session, referral)
    sud = disclose(session, referral, categories=("sud_diagnosis",))
    disclosures.record(session, officer.actor, outside(referral))
    found = accounting.accounting(session, officer.actor, library, referral.client_id, part2=True)
    assert [e.row.message_id for e in found.required] == [sud.id]
    assert found.beyond == ()


def test_substance_use_records_faxed_under_a_part2_consent_are_in_the_part2_accounting(
    client, session, library, referral, officer
):
    # Given a Part 2 consent, one disclosure through roi and one faxed, recorded with its flag
    sign_part2(session, referral)
    sud = disclose(session, referral, categories=("sud_diagnosis",))
    token = api_token(client, referral.therapist.email, referral.therapist.password)
    faxed = {
        "disclosed_on": (now().date() - timedelta(days=1)).isoformat(),
        "recipient": {"name": "Harbor Recovery Program", "address": "9 Pier Rd"},
        "description": "Substance use treatment summary",
        "purpose": "Continuing treatment",
        "basis": "authorization",
        "substance_use_records": True,
    }
    url = f"/api/v1/clients/{referral.client_id}/disclosures"
    made = client.post(url, json=faxed, headers=bearer(token))
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["substance_use_records"] is True
    # and ones that do not belong there: no substance-use records, or not under a consent
    plain = client.post(
        url, json={**faxed, "substance_use_records": False}, headers=bearer(token)
    ).get_json()
    court = client.post(url, json={**faxed, "basis": "judicial"}, headers=bearer(token)).get_json()
    # When the Part 2 accounting is made
    session.rollback()  # see what the API committed
    found = accounting.accounting(session, officer.actor, library, referral.client_id, part2=True)
    # Then it lists the faxed one beside the one sent through roi (42 CFR 2.25), and no other
    assert [(e.row.message_id, e.row.record_id) for e in found.required] == [
        (None, made.get_json()["id"]),  # yesterday
        (sud.id, None),
    ]
    listed = {e.row.record_id for e in found.required}
    assert plain["id"] not in listed
    assert court["id"] not in listed
    # And the browser's form records the flag too
    login_as(client, referral.therapist.email, referral.therapist.password)
    form_url = f"/clinician/clients/{referral.client_id}/disclosures/new"
    page = client.get(form_url)
    assert "It carried substance-use-disorder records (42 CFR Part 2)" in page.get_data(
        as_text=True
    )
    recorded = client.post(
        form_url,
        data={
            "disclosed_on": faxed["disclosed_on"],
            "recipient_name": "Harbor Recovery Program",
            "description": "Discharge summary",
            "purpose": "Continuing treatment",
            "basis": "authorization",
            "substance_use_records": "y",
            "csrf_token": csrf_token(page),
        },
    )
    assert recorded.status_code == 302
    session.rollback()
    newest = session.scalars(
        select(OutsideDisclosure).order_by(OutsideDisclosure.id.desc())
    ).first()
    assert newest.substance_use_records is True


def test_repeated_disclosures_to_one_recipient_for_one_purpose_are_summarized(
    session, library, referral, officer
):
    # one day throughout: what the test expects is counted from today, which must not turn over
    with clock_at(now()):
        # Given four reports to one agency for one purpose, and one to another recipient
        for days in (40, 30, 20, 10):
            disclosures.record(
                session,
                officer.actor,
                outside(
                    referral,
                    disclosed_on=now().date() - timedelta(days=days),
                    recipient_name="State Licensing Board",
                    purpose="Audit of records",
                    basis="health_oversight",
                ),
            )
        disclosures.record(session, officer.actor, outside(referral))
        # When the accounting is summarized
        found = accounting.accounting(
            session, officer.actor, library, referral.client_id, summarized=True
        )
        # Then the four are one entry: the first in full, how many, how often, the last one's date
        board, court = found.required
        assert board.row.recipient.name == "State Licensing Board"
        assert board.row.at.date() == now().date() - timedelta(days=40)
        assert board.count == 4
        assert board.last_at.date() == now().date() - timedelta(days=10)
        assert board.frequency == "about every 10 days"
        assert court.count == 1
        pdf = squeeze(pdf_text(accounting.to_pdf(found)))
        assert squeeze("4 disclosures") in pdf
        assert squeeze("about every 10 days") in pdf
        # And unsummarized, all five are listed
        plain = accounting.accounting(session, officer.actor, library, referral.client_id)
        assert len(plain.required) == 5


# --- through the API and the pages --------------------------------------------------------------


def test_api_records_a_disclosure_and_the_accounting_lists_it(client, session, referral, officer):
    token = api_token(client, referral.therapist.email, referral.therapist.password)
    body = {
        "disclosed_on": (now().date() - timedelta(days=2)).isoformat(),
        "recipient": {"name": "County Child Protective Services", "address": "1 Court Sq"},
        "description": "Report of suspected neglect",
        "purpose": "Mandatory report",
        "basis": "abuse_neglect",
        "request_document": {
            "filename": "intake.txt",
            "content_type": "text/plain",
            "content_base64": base64.b64encode(b"CPS intake reference 42").decode(),
        },
    }
    url = f"/api/v1/clients/{referral.client_id}/disclosures"
    made = client.post(url, json=body, headers=bearer(token))
    assert made.status_code == 201, made.get_json()
    got = made.get_json()
    assert got["basis"] == "abuse_neglect"
    assert got["recipient"]["name"] == "County Child Protective Services"
    assert got["request_document"]["content_type"] == "text/plain"
    # the request document comes back as recorded
    doc = client.get(
        f"/api/v1/outside-disclosures/{got['id']}/request-document", headers=bearer(token)
    )
    assert doc.data == b"CPS intake reference 42"
    # and the client's accounting, for compliance and the client, lists it as required
    for person in (officer, referral.client_person):
        reader = api_token(client, person.email, person.password)
        listed = client.get(
            f"/api/v1/clients/{referral.client_id}/accounting-of-disclosures",
            headers=bearer(reader),
        ).get_json()
        assert [(e["kind"], e["basis"], e["required_by_hipaa"]) for e in listed] == [
            ("outside", "abuse_neglect", True)
        ]
        assert listed[0]["recipient"]["name"] == "County Child Protective Services"
        assert listed[0]["at"].startswith(body["disclosed_on"])


def test_api_refusals(client, session, referral, officer, foreign_officer):
    url = f"/api/v1/clients/{referral.client_id}/disclosures"
    good = {
        "disclosed_on": now().date().isoformat(),
        "recipient": {"name": "Sheriff", "address": ""},
        "description": "Records",
        "purpose": "Warrant",
        "basis": "law_enforcement",
    }

    def post(person, body):
        token = api_token(client, person.email, person.password)
        return client.post(url, json=body, headers=bearer(token))

    # C1: another practice (its officer, its clinician named on nothing here): 404
    assert post(foreign_officer, good).status_code == 404
    assert post(referral.psychiatrist, good).status_code == 404
    # C3: the client on a staff call: 403
    assert post(referral.client_person, good).status_code == 403
    listed = client.get(
        url,
        headers=bearer(
            api_token(client, referral.client_person.email, referral.client_person.password)
        ),
    )
    assert listed.status_code == 403
    # a bad basis: 422 naming the field
    refused = post(officer, {**good, "basis": "because"})
    assert refused.status_code == 422
    assert "basis" in refused.get_json()["fields"]
    # a directory id beyond any row id names nothing (422, not a database error)
    huge = post(officer, {**good, "recipient": {"provider_id": 2**40}})
    assert huge.status_code == 422
    assert "recipient" in huge.get_json()["fields"]
    assert disclosure_entries(session, referral.client_id) == []
    # an unknown id: 404, the right officer: 201
    assert (
        client.post(
            "/api/v1/clients/999999/disclosures",
            json=good,
            headers=bearer(api_token(client, officer.email, officer.password)),
        ).status_code
        == 404
    )
    assert post(officer, good).status_code == 201


def test_clinician_records_from_the_client_page(client, session, referral):
    login_as(client, referral.therapist.email, referral.therapist.password)
    page_url = f"/clinician/clients/{referral.client_id}"
    page = client.get(page_url)
    assert "Record a disclosure made outside roi" in page.get_data(as_text=True)
    form_url = f"/clinician/clients/{referral.client_id}/disclosures/new"
    form = client.get(form_url)
    assert form.status_code == 200
    data = {
        "csrf_token": csrf_token(form),
        "disclosed_on": (now().date() - timedelta(days=1)).isoformat(),
        "recipient_provider_id": "",
        "recipient_name": "Clerk of the Family Court",
        "recipient_address": "100 Main St",
        "description": "Treatment summary",
        "purpose": "Court order",
        "basis": "judicial",
    }
    bad = client.post(form_url, data={**data, "basis": "nonsense"})
    assert bad.status_code == 422
    assert "Choose one of" in bad.get_data(as_text=True)
    done = client.post(form_url, data=data)
    assert done.status_code == 302
    assert done.headers["Location"].endswith(page_url)
    listed = client.get(page_url).get_data(as_text=True)
    assert "Judicial or administrative proceeding" in listed
    # another practice's client: 404 for the form
    other = make_user(session, Role.CLINICIAN, org="Northgate Psychiatry")
    client.post("/logout", data={"csrf_token": csrf_token(client.get(page_url))})
    login_as(client, other.email, other.password)
    assert client.get(form_url).status_code == 404
    assert client.post(form_url, data=data).status_code in (400, 404)


def test_compliance_records_from_the_accounting_page_and_sees_both_sections(
    client, session, referral, officer
):
    referral.signed(session)
    disclose(session, referral)
    login_as(client, officer.email, officer.password)
    page_url = f"/compliance/accounting/clients/{referral.client_id}"
    form_url = f"/compliance/accounting/clients/{referral.client_id}/disclosures/new"
    form = client.get(form_url)
    assert form.status_code == 200
    done = client.post(
        form_url,
        data={
            "csrf_token": csrf_token(form),
            "disclosed_on": now().date().isoformat(),
            "recipient_name": "State Health Department",
            "description": "Communicable disease report",
            "purpose": "Public health reporting",
            "basis": "public_health",
        },
    )
    assert done.status_code == 302
    html = client.get(page_url).get_data(as_text=True)
    required_at = html.index("Disclosures HIPAA requires in the accounting")
    beyond_at = html.index("Beyond what HIPAA requires")
    assert required_at < html.index("State Health Department") < beyond_at
    assert html.index("Samuel Okafor", beyond_at) > beyond_at


def test_portal_no_longer_promises_what_the_list_omits(client, session, referral, officer):
    disclosures.record(session, officer.actor, outside(referral))
    login_as(client, referral.client_person.email, referral.client_person.password)
    html = client.get("/portal/accounting").get_data(as_text=True)
    assert "Every time your practice shared information about you through roi" not in html
    assert "Shared without your written permission" in html
    assert "Clerk of the Family Court" in html


def test_fhir_bundle_carries_emergency_and_outside_disclosures_and_validates(
    client, session, referral, officer
):
    referral.signed(session)
    disclose(session, referral)
    emergency_entry(session, referral)
    disclosures.record(session, officer.actor, outside(referral))
    token = api_token(client, officer.email, officer.password)
    response = client.get(f"/api/v1/clients/{referral.client_id}/fhir", headers=bearer(token))
    bundle = Bundle.model_validate_json(response.data)
    events = [e.resource for e in bundle.entry if e.resource.get_resource_type() == "AuditEvent"]
    seqs = sorted(int(e.id) for e in events)
    assert seqs == [e.seq for e in disclosure_entries(session, referral.client_id)]
    bases = {
        e.subtype[0].code: next(
            x.valueCode for x in e.extension if x.url == "urn:roi:fhir:disclosure-basis"
        )
        for e in events
    }
    assert bases == {
        "disclosure.permitted": "authorization",
        "disclosure.emergency": "medical_emergency",
        "disclosure.recorded": "judicial",
    }
