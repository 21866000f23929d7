"""Suspensions of the accounting (45 CFR 164.528(a)(2), `POST /accounting-suspensions`): an
agency's entries leave the accountings produced while its statement holds, and come back after."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle

from roi.clock import now
from roi.compliance import accounting, disclosures, requests, suspensions
from roi.compliance.models import Channel
from roi.errors import Forbidden, Invalid
from tests.accounting.conftest import clock_at, disclose, disclosure_entries, outside
from tests.consent.conftest import CALIFORNIA, in_california
from tests.helpers import api_token, bearer, csrf_token, login_as

BOARD = "State Licensing Board"


def suspend(session, officer, **changes):
    values = {
        "agency": BOARD,
        "until": now().date() + timedelta(days=90),
        "written": True,
    }
    values.update(changes)
    return suspensions.suspend(session, officer.actor, suspensions.NewSuspension(**values))


@pytest.fixture
def mixed(session, referral, officer):
    """A consented disclosure to the psychiatrist, and a report to the board made outside roi."""
    referral.signed(session)
    message = disclose(session, referral)
    report = disclosures.record(
        session,
        officer.actor,
        outside(referral, recipient_name="state  licensing board", basis="health_oversight"),
    )
    return message, report


def kinds(found):
    return sorted(str(r.kind) for r in found.rows)


def test_a_suspended_agency_is_left_out_until_the_date_then_listed(
    session, library, referral, officer, mixed
):
    # Given the board's written statement, until 90 days from now
    suspend(session, officer)
    # When the accounting is made now
    found = accounting.accounting(session, officer.actor, library, referral.client_id)
    # Then the board's entry (matched by name, whatever the case and spacing) is left out
    assert kinds(found) == ["consented"]
    assert found.withheld == 1
    # And the log still holds it
    assert len(disclosure_entries(session, referral.client_id)) == 2
    # And an accounting produced after the date lists it again
    with clock_at(now() + timedelta(days=91)):
        later = accounting.accounting(session, officer.actor, library, referral.client_id)
    assert kinds(later) == ["consented", "outside"]
    assert later.withheld == 0


def test_a_suspension_holds_through_its_last_day_where_the_practice_is(
    client, session, library, referral, officer, mixed
):
    # Given a practice in California and the board's statement until a day there
    in_california(session, referral)
    last_day = now().date() + timedelta(days=3)
    evening = datetime.combine(last_day, time(20), tzinfo=CALIFORNIA)  # the next day in UTC
    with clock_at(evening - timedelta(days=1)):
        suspend(session, officer, until=last_day)
    with clock_at(evening):
        # When the accounting is made at 8 p.m. on that day there
        found = accounting.accounting(session, officer.actor, library, referral.client_id)
        # Then the board's entry is still left out, and the API and the page say it is in force
        assert kinds(found) == ["consented"]
        token = api_token(client, officer.email, officer.password)
        listed = client.get("/api/v1/accounting-suspensions", headers=bearer(token)).get_json()
        assert [s["active"] for s in listed] == [True]
        login_as(client, officer.email, officer.password)
        page = client.get("/compliance/accounting/suspensions").get_data(as_text=True)
        assert "in force" in page
        assert "(ended)" not in page
    # And from midnight there it is listed again
    with clock_at(evening + timedelta(hours=4)):
        later = accounting.accounting(session, officer.actor, library, referral.client_id)
    assert kinds(later) == ["consented", "outside"]


def test_a_suspension_withholds_only_health_oversight_and_law_enforcement_disclosures(
    session, library, referral, officer, mixed
):
    # Given, to one directory entry, the client's authorized disclosure, a report for law
    # enforcement and one under a court order
    for basis in ("law_enforcement", "judicial"):
        disclosures.record(
            session,
            officer.actor,
            outside(referral, recipient_provider_id=referral.recipient_id, basis=basis),
        )
    # When that entry's agency suspends the accounting (164.528(a)(2))
    suspend(
        session,
        officer,
        agency="Northgate Psychiatry",
        recipient_provider_id=referral.recipient_id,
    )
    found = accounting.accounting(session, officer.actor, library, referral.client_id)
    # Then only the law-enforcement report is withheld: the rule suspends disclosures under
    # 164.512(d) and (f), not what the client authorized nor a court's order
    assert sorted(row.basis for row in found.rows) == [
        "authorization",
        "health_oversight",  # the board's, another agency
        "judicial",
    ]
    assert found.withheld == 1


def test_a_report_fulfilled_during_a_suspension_leaves_the_entry_out(
    session, library, referral, officer, mixed
):
    suspend(session, officer)
    made = requests.record(
        session,
        officer.actor,
        requests.NewRequest(
            client_id=referral.client_id, received_on=now().date(), channel=Channel.WRITTEN
        ),
    )
    done = requests.fulfil(session, officer.actor, library, made.id)
    assert done.report_entries == 1


def test_another_practice_suspension_changes_nothing_here(
    session, library, referral, officer, foreign_officer, mixed
):
    suspend(session, foreign_officer)
    found = accounting.accounting(session, officer.actor, library, referral.client_id)
    assert kinds(found) == ["consented", "outside"]


def test_oral_statements_hold_30_days_at_most_and_are_documented(session, officer):
    today = now().date()
    with pytest.raises(Invalid) as too_long:
        suspend(session, officer, written=False, until=today + timedelta(days=31), statement="x")
    assert "until" in too_long.value.fields
    with pytest.raises(Invalid) as undocumented:
        suspend(session, officer, written=False, until=today + timedelta(days=30))
    assert "statement" in undocumented.value.fields
    with pytest.raises(Invalid) as past:
        suspend(session, officer, until=today - timedelta(days=1))
    assert "until" in past.value.fields
    said = "Agent R. Diaz, by phone: an open investigation; please hold for 30 days."
    found = suspend(
        session, officer, written=False, until=today + timedelta(days=30), statement=said
    )
    assert suspensions.statement_of(found) == said
    assert found.statement_sealed is not None
    assert said.encode() not in found.statement_sealed


def test_only_compliance_suspends(session, referral):
    for person in (referral.therapist, referral.client_person):
        with pytest.raises(Forbidden):
            suspend(session, person)


def test_api_and_page(client, session, referral, officer):
    url = "/api/v1/accounting-suspensions"
    body = {"agency": BOARD, "until": (now().date() + timedelta(days=10)).isoformat()}
    officer_token = api_token(client, officer.email, officer.password)
    made = client.post(url, json={**body, "written": True}, headers=bearer(officer_token))
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["active"] is True
    # oral beyond 30 days: 422 naming the field
    refused = client.post(
        url,
        json={
            **body,
            "until": (now().date() + timedelta(days=45)).isoformat(),
            "written": False,
            "statement": "by phone",
        },
        headers=bearer(officer_token),
    )
    assert refused.status_code == 422
    assert "until" in refused.get_json()["fields"]
    huge = client.post(
        url,
        json={**body, "written": True, "recipient_provider_id": 2**40},
        headers=bearer(officer_token),
    )
    assert huge.status_code == 422
    assert "recipient_provider_id" in huge.get_json()["fields"]
    # clinician and client: 403
    for person in (referral.therapist, referral.client_person):
        token = api_token(client, person.email, person.password)
        assert (
            client.post(url, json={**body, "written": True}, headers=bearer(token)).status_code
            == 403
        )
        assert client.get(url, headers=bearer(token)).status_code == 403
    assert [s["agency"] for s in client.get(url, headers=bearer(officer_token)).get_json()] == [
        BOARD
    ]
    # the page lists it and records another
    login_as(client, officer.email, officer.password)
    assert "left out under an agency" not in client.get(
        f"/compliance/accounting/clients/{referral.client_id}"
    ).get_data(as_text=True)
    page = client.get("/compliance/accounting/suspensions")
    assert BOARD in page.get_data(as_text=True)
    added = client.post(
        "/compliance/accounting/suspensions",
        data={
            "csrf_token": csrf_token(page),
            "agency": "County Sheriff",
            "until": (now().date() + timedelta(days=20)).isoformat(),
            "written": "oral",
            "statement": "Sgt. Ames, by phone, 20 days",
        },
    )
    assert added.status_code == 302
    assert "County Sheriff" in client.get("/compliance/accounting/suspensions").get_data(
        as_text=True
    )


def test_compliance_is_told_how_many_are_left_out_and_the_client_is_not(
    client, session, referral, officer, mixed
):
    suspend(session, officer)
    login_as(client, officer.email, officer.password)
    staff_page = client.get(f"/compliance/accounting/clients/{referral.client_id}")
    assert "1 left out under an agency" in staff_page.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(staff_page)})
    login_as(client, referral.client_person.email, referral.client_person.password)
    html = client.get("/portal/accounting").get_data(as_text=True)
    assert "left out" not in html
    assert "suspen" not in html.lower()
    assert "Licensing Board" not in html


def test_the_clients_fhir_bundle_leaves_out_what_the_accounting_withholds(
    client, session, library, referral, officer, mixed
):
    # Given the board's suspension, which withholds its entry from the accounting
    suspend(session, officer)
    assert accounting.accounting(session, officer.actor, library, referral.client_id).withheld == 1
    # When the client exports their record as FHIR
    token = api_token(client, referral.client_person.email, referral.client_person.password)
    answer = client.get(f"/api/v1/clients/{referral.client_id}/fhir", headers=bearer(token))
    # Then the board's report is not in it either (164.528(a)(2): the client is not told), and
    # the disclosure the accounting lists is
    assert answer.status_code == 200
    assert "health_oversight" not in answer.get_data(as_text=True)
    bundle = Bundle.model_validate_json(answer.data)
    events = [e for e in bundle.entry or [] if e.resource.get_resource_type() == "AuditEvent"]
    assert len(events) == 1
