"""The accounting pages (compliance and portal) and the API, as a person or a script uses them."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import timedelta

import pytest
from babel.dates import format_date
from sqlalchemy import select

from roi.audit import Action, AuditEntry
from roi.clock import now
from roi.compliance.models import AccountingRequest
from tests.accounting.conftest import (
    clock_at,
    disclose,
    pdf_text,
    permitted_entries,
    sign_part2,
    squeeze,
)
from tests.helpers import api_token, bearer, csrf_token, login_as, post_form


@pytest.fixture
def disclosed(session, referral):
    """Two disclosures about the referral's client: one general, one of SUD records."""
    with clock_at(now() - timedelta(days=5)):
        referral.signed(session)
        sign_part2(session, referral)
        general = disclose(session, referral, categories=("diagnosis",))
        sud = disclose(session, referral, categories=("sud_diagnosis",))
    return general, sud


# --- compliance pages -------------------------------------------------------------------------


def test_compliance_chooses_a_client_by_id_and_sees_the_accounting(
    client, referral, second_referral, officer, disclosed
):
    login_as(client, officer.email, officer.password)
    page = client.get("/compliance/accounting")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # the choice lists names, but sends only ids
    assert "Avery, Jordan" in html
    assert "Morrow, Casey" in html
    assert f'value="{referral.client_id}"' in html
    chosen = client.get(f"/compliance/accounting?client_id={referral.client_id}")
    assert chosen.status_code == 302
    assert chosen.headers["Location"].endswith(
        f"/compliance/accounting/clients/{referral.client_id}"
    )
    shown = client.get(chosen.headers["Location"])
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert "Samuel Okafor" in text
    assert "Northgate Psychiatry" in text
    assert "Diagnosis and treatment summary" in text
    assert "Substance use diagnosis (42 CFR Part 2 records)" in text
    assert 'data-label="Recipient"' in text  # rows stack on a phone
    assert "<script" not in text
    assert "style=" not in text
    assert f"/compliance/accounting/clients/{referral.client_id}/accounting.pdf" in text


def test_part2_toggle_lists_sud_disclosures_only(client, referral, officer, disclosed):
    login_as(client, officer.email, officer.password)
    text = client.get(f"/compliance/accounting/clients/{referral.client_id}?part2=y").get_data(
        as_text=True
    )
    assert "Part 2 version (42 CFR 2.25)" in text
    assert "Substance use diagnosis" in text
    assert "Diagnosis and treatment summary" not in text
    assert "part2=y" in text  # the downloads carry the toggle


def test_a_bad_range_is_explained_not_shown(client, referral, officer, disclosed):
    login_as(client, officer.email, officer.password)
    today = now().date()
    response = client.get(
        f"/compliance/accounting/clients/{referral.client_id}"
        f"?since={today.isoformat()}&until={(today - timedelta(days=3)).isoformat()}"
    )
    assert response.status_code == 422
    assert "The start date must be on or before the end date." in response.get_data(as_text=True)
    assert "Samuel Okafor" not in response.get_data(as_text=True)
    assert (
        client.get(f"/compliance/accounting/clients/{referral.client_id}?since=soon").status_code
        == 422
    )


def test_pdf_and_csv_downloads(client, session, referral, officer, disclosed):
    login_as(client, officer.email, officer.password)
    base = f"/compliance/accounting/clients/{referral.client_id}"
    pdf = client.get(f"{base}/accounting.pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"] == (
        f'attachment; filename="accounting-client-{referral.client_id}.pdf"'
    )
    assert "no-store" in pdf.headers["Cache-Control"]
    assert squeeze("Jordan Avery") in squeeze(pdf_text(pdf.data))
    got = client.get(f"{base}/accounting.csv?part2=y")
    assert got.status_code == 200
    assert got.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = got.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="accounting-client-{referral.client_id}-part2.csv"'
    assert "Avery" not in disposition
    assert "Jordan" not in disposition
    rows = list(csv.reader(io.StringIO(got.data.decode("utf-8-sig"), newline="")))
    assert len(rows) == 2
    assert rows[1][6] == "yes"
    session.rollback()
    exported = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.AUDIT_EXPORTED)
    ).all()
    assert [e.detail["format"] for e in exported] == ["pdf", "csv"]


def test_clinicians_are_refused_and_other_practices_find_nothing(
    client, referral, officer, foreign_officer, disclosed
):
    base = f"/compliance/accounting/clients/{referral.client_id}"
    login_as(client, referral.therapist.email, referral.therapist.password)
    for url in (base, f"{base}/accounting.pdf", f"{base}/accounting.csv", "/compliance/accounting"):
        assert client.get(url).status_code == 403, url
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/clinician/"))})
    login_as(client, foreign_officer.email, foreign_officer.password)
    for url in (base, f"{base}/accounting.pdf", f"{base}/accounting.csv"):
        assert client.get(url).status_code == 404, url
    listed = client.get("/compliance/accounting").get_data(as_text=True)
    assert "Avery" not in listed
    assert client.get(f"/compliance/accounting?client_id={referral.client_id}").status_code == 200


def test_requests_workflow_in_the_pages(client, session, referral, officer, disclosed):
    # on a standing clock: "due in 10 days" is counted from today, which must not turn over
    with clock_at(now()):
        login_as(client, officer.email, officer.password)
        form_url = f"/compliance/accounting/requests/new?client_id={referral.client_id}"
        prefilled = client.get(form_url).get_data(as_text=True)
        assert re.search(rf'<option selected value="{referral.client_id}">', prefilled)
        # record a request received 50 days ago, by phone
        received = now().date() - timedelta(days=50)
        asked = {
            "client_id": str(referral.client_id),
            "received_on": received.isoformat(),
            "channel": "phone",
            "note": "Called on Monday.",
        }
        new_url = "/compliance/accounting/requests/new"
        # the first press asks to confirm, naming the client and the due date; nothing is recorded
        check = post_form(client, form_url, new_url, asked)
        assert check.status_code == 200
        summary = check.get_data(as_text=True)
        assert "Record this accounting request?" in summary
        assert "Avery, Jordan" in summary
        assert "By phone" in summary
        session.rollback()
        assert session.scalars(select(AccountingRequest)).all() == []
        # "Change something" returns to the form as it was filled in
        change = post_form(client, form_url, new_url, {**asked, "step": "change"})
        assert change.status_code == 200
        assert "Called on Monday." in change.get_data(as_text=True)
        assert session.scalars(select(AccountingRequest)).all() == []
        made = post_form(client, form_url, new_url, {**asked, "step": "confirmed"})
        assert made.status_code == 302
        request_url = made.headers["Location"]
        request_id = int(request_url.rsplit("/", 1)[1])
        page = client.get(request_url).get_data(as_text=True)
        assert "due in 10 days" in page
        assert "Called on Monday." in page
        listed = client.get("/compliance/accounting/requests").get_data(as_text=True)
        assert "By phone" in listed
        assert "(phone)" not in listed
        assert "Free" in page
        # an extension without a reason is refused
        refused = post_form(client, request_url, f"{request_url}/extension", {"reason": ""})
        assert refused.status_code == 422
        assert "Write the reason for the delay" in refused.get_data(as_text=True)
        # with a reason it moves the due date by 30 days
        extended = post_form(
            client, request_url, f"{request_url}/extension", {"reason": "Archive retrieval."}
        )
        assert extended.status_code == 302
        page = client.get(request_url).get_data(as_text=True)
        assert "Archive retrieval." in page
        assert "due in 40 days" in page
        # the form is gone, and a second extension posted anyway is refused with the rule
        assert f'"{request_url}/extension"' not in page
        # and the letter to the client, with the reasons and the new date, is offered
        assert f"{request_url}/extension-letter.pdf" in page
        token = csrf_token(client.get(request_url))
        again = client.post(
            f"{request_url}/extension", data={"reason": "More", "csrf_token": token}
        )
        assert again.status_code == 409
        assert "already extended once" in again.get_data(as_text=True)
        # fulfil, then download the report; a second fulfilment is refused
        done = post_form(client, request_url, f"{request_url}/fulfilment", {})
        assert done.status_code == 302
        report = client.get(f"{request_url}/report.pdf")
        assert report.status_code == 200
        assert report.headers["Content-Disposition"] == (
            f'attachment; filename="accounting-request-{request_id}.pdf"'
        )
        session.rollback()
        stored = session.get(AccountingRequest, request_id)
        assert hashlib.sha256(report.data).hexdigest() == stored.report_sha256
        token = csrf_token(client.get(request_url))
        twice = client.post(f"{request_url}/fulfilment", data={"csrf_token": token})
        assert twice.status_code == 409
        assert "already fulfilled" in twice.get_data(as_text=True)
        listing = client.get("/compliance/accounting/requests").get_data(as_text=True)
        assert "Recently fulfilled" in listing
        assert f"#{request_id}" in listing


def test_overdue_requests_are_highlighted(client, session, referral, officer):
    # one day throughout: what the test expects is counted from today, which must not turn over
    with clock_at(now()):
        from roi.compliance import requests
        from roi.compliance.models import Channel

        late = requests.record(
            session,
            officer.actor,
            requests.NewRequest(
                referral.client_id, now().date() - timedelta(days=70), Channel.WRITTEN
            ),
        )
        login_as(client, officer.email, officer.password)
        html = client.get("/compliance/accounting/requests").get_data(as_text=True)
        row = re.search(r'<tr class="accounting-overdue">.*?</tr>', html, re.S)
        assert row is not None
        assert f"#{late.id}" in row.group(0)
        assert "overdue by 10 days" in row.group(0)
        # and its page no longer offers an extension (the 60 days are over)
        page = client.get(f"/compliance/accounting/requests/{late.id}").get_data(as_text=True)
        assert "No longer possible: an extension must be given within the first 60 days" in page
        assert f"/compliance/accounting/requests/{late.id}/extension" not in page


def test_recording_a_request_without_csrf_is_refused(client, session, referral, officer):
    login_as(client, officer.email, officer.password)
    response = client.post(
        "/compliance/accounting/requests/new",
        data={"client_id": str(referral.client_id), "received_on": now().date().isoformat()},
    )
    assert response.status_code == 400
    session.rollback()
    assert session.scalars(select(AccountingRequest)).all() == []


# --- the portal -------------------------------------------------------------------------------


def test_client_sees_who_received_their_information_and_downloads_it(
    client, referral, second_referral, disclosed
):
    person = referral.client_person
    login_as(client, person.email, person.password)
    page = client.get("/portal/accounting")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Who received my information" in text
    assert "Samuel Okafor" in text
    assert "Diagnosis and treatment summary" in text
    assert "Ask for a full accounting" in text
    pdf = client.get("/portal/accounting.pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert squeeze("Jordan Avery") in squeeze(pdf_text(pdf.data))
    # compliance pages are not theirs
    assert client.get(f"/compliance/accounting/clients/{referral.client_id}").status_code == 403


def test_another_client_sees_none_of_it(client, referral, second_referral, disclosed):
    person = second_referral.client_person
    login_as(client, person.email, person.password)
    text = client.get("/portal/accounting").get_data(as_text=True)
    assert "Samuel Okafor" not in text
    assert "Nothing was shared about you this way in this period." in text


def test_client_asks_for_a_full_accounting_and_gets_the_report(
    client, app, session, library, referral, second_referral, officer, disclosed
):
    from roi.compliance import requests

    person = referral.client_person
    login_as(client, person.email, person.password)
    asked = post_form(
        client, "/portal/accounting", "/portal/accounting/requests", {"scope": "all", "note": ""}
    )
    assert asked.status_code == 302
    session.rollback()
    (found,) = session.scalars(select(AccountingRequest)).all()
    assert found.client_id == referral.client_id
    assert found.channel.value == "portal"
    page = client.get("/portal/accounting").get_data(as_text=True)
    assert "due by" in page
    assert "You can ask again once your current request is answered." in page
    token = csrf_token(client.get("/portal/accounting"))
    twice = client.post("/portal/accounting/requests", data={"scope": "all", "csrf_token": token})
    assert twice.status_code == 409
    # the days in words, as the rest of the page writes them
    asked_on, due_by = (
        format_date(day, "long", locale="en") for day in (found.received_on, found.due)
    )
    assert (
        f"You already asked for an accounting on {asked_on}; it is due by {due_by}."
        in twice.get_data(as_text=True)
    )
    # once compliance fulfils it, the client downloads it; another client cannot
    requests.fulfil(session, officer.actor, library, found.id)
    report = client.get(f"/portal/accounting/requests/{found.id}/report.pdf")
    assert report.status_code == 200
    assert report.data.startswith(b"%PDF-")
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/portal/"))})
    other = second_referral.client_person
    login_as(client, other.email, other.password)
    assert client.get(f"/portal/accounting/requests/{found.id}/report.pdf").status_code == 404


# --- the API ----------------------------------------------------------------------------------


def api_as(client, person) -> dict[str, str]:
    return bearer(api_token(client, person.email, person.password))


def test_api_accounting_of_disclosures_as_contract_md_writes_it(
    client, session, referral, officer, disclosed
):
    general, sud = disclosed
    url = f"/api/v1/clients/{referral.client_id}/accounting-of-disclosures"
    response = client.get(url, headers=api_as(client, officer))
    assert response.status_code == 200
    body = response.get_json()
    assert [row["message_id"] for row in body] == [general.id, sud.id]
    first = body[0]
    assert {"at", "recipient", "description", "purpose", "consent_id", "message_id"} <= set(first)
    assert {"name", "address"} <= set(first["recipient"])
    assert first["recipient"]["name"] == "Samuel Okafor"
    assert first["description"] == "Diagnosis and treatment summary"
    assert first["purpose"] == "Your treatment and continuity of care"
    assert first["at"].endswith("Z")
    assert first["consent_id"] == general.consent_id


def test_api_g6_export_equals_permit_entries_in_the_range(client, session, referral, officer):
    with clock_at(now() - timedelta(days=100)):
        referral.signed(session)
    for days in (90, 60, 30, 5):
        with clock_at(now() - timedelta(days=days)):
            disclose(session, referral)
    since, until = (now() - timedelta(days=70)).date(), (now() - timedelta(days=20)).date()
    response = client.get(
        f"/api/v1/clients/{referral.client_id}/accounting-of-disclosures"
        f"?since={since.isoformat()}&until={until.isoformat()}",
        headers=api_as(client, officer),
    )
    expected = permitted_entries(session, referral.client_id, since, until)
    assert [(r["message_id"], r["consent_id"]) for r in response.get_json()] == [
        (e.message_id, e.consent_id) for e in expected
    ]
    assert len(expected) == 2


def test_api_access_rules(client, referral, second_referral, officer, foreign_officer, disclosed):
    url = f"/api/v1/clients/{referral.client_id}/accounting-of-disclosures"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=api_as(client, referral.therapist)).status_code == 403
    assert client.get(url, headers=api_as(client, foreign_officer)).status_code == 404
    own = client.get(url, headers=api_as(client, referral.client_person))
    assert own.status_code == 200
    assert len(own.get_json()) == 2
    other = client.get(url, headers=api_as(client, second_referral.client_person))
    assert other.status_code == 404
    assert other.get_json()["error"] == "not_found"
    missing = "/api/v1/clients/999999/accounting-of-disclosures"
    assert client.get(missing, headers=api_as(client, officer)).status_code == 404
    part2 = client.get(f"{url}?part2=true", headers=api_as(client, officer)).get_json()
    assert [row["part2"] for row in part2] == [True]
    assert client.get(f"{url}?colour=red", headers=api_as(client, officer)).status_code == 422


def test_api_requests_record_extend_fulfil_and_download(
    client, referral, officer, foreign_officer, disclosed
):
    headers = api_as(client, officer)
    base = f"/api/v1/clients/{referral.client_id}/accounting-requests"
    received = now().date() - timedelta(days=2)
    made = client.post(
        base, headers=headers, json={"received_on": received.isoformat(), "channel": "written"}
    )
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["due_on"] == (received + timedelta(days=60)).isoformat()
    assert body["free"] is True
    assert body["status"] == "open"
    url = f"/api/v1/accounting-requests/{body['id']}"
    # unknown fields and missing reasons are refused
    assert client.post(base, headers=headers, json={"received_on": "x"}).status_code == 422
    assert client.post(f"{url}/extension", headers=headers, json={}).status_code == 422
    no_reason = client.post(f"{url}/extension", headers=headers, json={"reason": " "})
    assert no_reason.status_code == 422
    assert "reason" in no_reason.get_json()["fields"]
    extended = client.post(f"{url}/extension", headers=headers, json={"reason": "Archive."})
    assert extended.status_code == 200
    assert extended.get_json()["due"] == (received + timedelta(days=90)).isoformat()
    again = client.post(f"{url}/extension", headers=headers, json={"reason": "More."})
    assert again.status_code == 409
    assert "already extended once" in again.get_json()["message"]
    # other practices see nothing
    foreign = api_as(client, foreign_officer)
    assert client.get(url, headers=foreign).status_code == 404
    assert client.post(f"{url}/fulfilment", headers=foreign).status_code == 404
    assert client.get(base, headers=foreign).status_code == 404
    # fulfil once; the report's SHA-256 is the one recorded
    done = client.post(f"{url}/fulfilment", headers=headers)
    assert done.status_code == 200
    assert done.get_json()["report_entries"] == 2
    report = client.get(f"{url}/report.pdf", headers=headers)
    assert report.status_code == 200
    assert hashlib.sha256(report.data).hexdigest() == done.get_json()["report_sha256"]
    assert client.post(f"{url}/fulfilment", headers=headers).status_code == 409
    listed = client.get(base, headers=headers).get_json()
    assert [r["id"] for r in listed] == [body["id"]]
    assert listed[0]["status"] == "fulfilled"
    opened = client.get("/api/v1/accounting-requests?status=fulfilled", headers=headers)
    assert [r["id"] for r in opened.get_json()] == [body["id"]]
    # the client reads their own request (without staff's note)
    mine = api_as(client, referral.client_person)
    assert client.get(url, headers=mine).get_json()["note"] is None
    # and asks for a new one, received today online; the day and channel are not theirs to set
    staffs = client.post(
        base, headers=mine, json={"received_on": received.isoformat(), "channel": "phone"}
    )
    assert staffs.status_code == 422
    assert set(staffs.get_json()["fields"]) == {"received_on", "channel"}
    asked = client.post(base, headers=mine, json={"part2": False})
    assert asked.status_code == 201, asked.get_json()
    assert asked.get_json()["received_on"] == now().date().isoformat()  # the practice keeps UTC
    assert asked.get_json()["channel"] == "portal"
    assert client.post(base, headers=mine, json={}).status_code == 409  # one open at a time
    # not for anyone else's record
    others = f"/api/v1/clients/{referral.client_id + 1000}/accounting-requests"
    assert client.post(others, headers=mine, json={}).status_code == 404
    # staff give the day and the channel
    missing = client.post(base, headers=headers, json={})
    assert set(missing.get_json()["fields"]) == {"received_on", "channel"}
    # clinicians have no part in it
    assert client.get(base, headers=api_as(client, referral.therapist)).status_code == 403


def test_api_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/clients/{client_id}/accounting-of-disclosures",
        "/api/v1/clients/{client_id}/accounting-requests",
        "/api/v1/accounting-requests",
        "/api/v1/accounting-requests/{request_id}",
        "/api/v1/accounting-requests/{request_id}/extension",
        "/api/v1/accounting-requests/{request_id}/fulfilment",
        "/api/v1/accounting-requests/{request_id}/report.pdf",
    ):
        assert path in paths, path
