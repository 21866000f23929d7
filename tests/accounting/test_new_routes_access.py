"""SECURITY C1/C2/C3 for every route issue 13 items 4-7 added: another practice's ids are "not
found", a client on a staff call and staff on a call not theirs are refused, another client's
request is "not found"; nothing changes, and each refusal is audited as `authz.denied`."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.compliance import disclosures, requests
from roi.compliance.models import (
    AccountingRequest,
    AccountingSettings,
    AccountingSuspension,
    Channel,
    OutsideDisclosure,
)
from roi.messaging.service import NewAttachment
from tests.accounting.conftest import outside
from tests.factories import make_client_user, make_user
from tests.helpers import api_token, bearer, csrf_token, login_as

WATCHED = (AccountingRequest, AccountingSettings, AccountingSuspension, OutsideDisclosure)
DISCLOSURE = {
    "disclosed_on": "2026-01-05",
    "recipient": {"name": "Sheriff", "address": "1 Court Sq"},
    "description": "Records",
    "purpose": "Warrant",
    "basis": "law_enforcement",
}


def state(session) -> tuple[object, ...]:
    """Every row of the tables these routes write, as plain values."""
    session.rollback()
    rows = []
    for model in WATCHED:
        for row in session.scalars(select(model)):
            rows.append(tuple(sorted((k, repr(v)) for k, v in vars(row).items() if k[0] != "_")))
    return tuple(sorted(rows))


def denials(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).where(AuditEntry.action == Action.AUTHZ_DENIED))


@pytest.fixture
def world(session, referral, officer):
    """A recorded outside disclosure with its request document, and a repeat accounting
    request with a fee, for the referral's client."""
    found = disclosures.record(
        session,
        officer.actor,
        outside(referral, request_document=NewAttachment("r.txt", "text/plain", b"request")),
    )
    requests.set_repeat_fee(session, officer.actor, 2500)
    new = requests.NewRequest(
        client_id=referral.client_id, received_on=found.disclosed_on, channel=Channel.PHONE
    )
    requests.record(session, officer.actor, new)
    repeat = requests.record(session, officer.actor, new)
    requests.extend(session, officer.actor, repeat.id, "Archive retrieval")
    return found, repeat


def test_api_routes_refuse_other_practices_other_clients_and_wrong_roles(
    client, session, referral, officer, foreign_officer, world
):
    found, repeat = world
    _, stranger = make_client_user(session, referral.therapist, given_name="Kim")
    foreign_clinician = make_user(session, Role.CLINICIAN, org="Northgate Psychiatry")
    tokens = {
        "foreign_officer": api_token(client, foreign_officer.email, foreign_officer.password),
        "foreign_clinician": api_token(client, foreign_clinician.email, foreign_clinician.password),
        "client": api_token(client, referral.client_person.email, referral.client_person.password),
        "stranger": api_token(client, stranger.email, stranger.password),
        "therapist": api_token(client, referral.therapist.email, referral.therapist.password),
    }
    c, r, d = referral.client_id, repeat.id, found.id
    calls = [
        # C1: another practice's staff, with this practice's ids: not found
        ("foreign_officer", "POST", f"/api/v1/clients/{c}/disclosures", DISCLOSURE, 404),
        ("foreign_officer", "GET", f"/api/v1/clients/{c}/disclosures", None, 404),
        ("foreign_clinician", "POST", f"/api/v1/clients/{c}/disclosures", DISCLOSURE, 404),
        (
            "foreign_clinician",
            "GET",
            f"/api/v1/outside-disclosures/{d}/request-document",
            None,
            404,
        ),
        ("foreign_officer", "GET", f"/api/v1/outside-disclosures/{d}/request-document", None, 404),
        ("foreign_officer", "POST", f"/api/v1/accounting-requests/{r}/fee-acceptance", {}, 404),
        ("foreign_officer", "POST", f"/api/v1/accounting-requests/{r}/withdrawal", {}, 404),
        ("foreign_officer", "POST", f"/api/v1/accounting-requests/{r}/change", {}, 404),
        ("foreign_officer", "GET", f"/api/v1/accounting-requests/{r}/fee-letter.pdf", None, 404),
        (
            "foreign_officer",
            "GET",
            f"/api/v1/accounting-requests/{r}/extension-letter.pdf",
            None,
            404,
        ),
        # C2: another client, with this client's request id: not found
        ("stranger", "POST", f"/api/v1/accounting-requests/{r}/fee-acceptance", {}, 404),
        ("stranger", "POST", f"/api/v1/accounting-requests/{r}/withdrawal", {}, 404),
        ("stranger", "POST", f"/api/v1/accounting-requests/{r}/change", {"part2": True}, 404),
        ("stranger", "GET", f"/api/v1/accounting-requests/{r}/fee-letter.pdf", None, 404),
        ("stranger", "GET", f"/api/v1/accounting-requests/{r}/extension-letter.pdf", None, 404),
        # C3: the client on staff calls, the clinician on compliance's
        ("client", "POST", f"/api/v1/clients/{c}/disclosures", DISCLOSURE, 403),
        ("client", "GET", f"/api/v1/clients/{c}/disclosures", None, 403),
        ("client", "GET", f"/api/v1/outside-disclosures/{d}/request-document", None, 403),
        ("client", "POST", "/api/v1/accounting-suspensions", {}, 403),
        ("client", "GET", "/api/v1/accounting-suspensions", None, 403),
        ("client", "PUT", "/api/v1/accounting-settings", {"repeat_fee_cents": 0}, 403),
        ("therapist", "POST", "/api/v1/accounting-suspensions", {}, 403),
        ("therapist", "PUT", "/api/v1/accounting-settings", {"repeat_fee_cents": 0}, 403),
        ("therapist", "GET", "/api/v1/accounting-settings", None, 403),
        ("therapist", "POST", f"/api/v1/accounting-requests/{r}/fee-acceptance", {}, 403),
        ("therapist", "POST", f"/api/v1/accounting-requests/{r}/withdrawal", {}, 403),
        ("therapist", "GET", f"/api/v1/accounting-requests/{r}/fee-letter.pdf", None, 403),
    ]
    before, denied = state(session), denials(session)
    for who, method, url, body, expected in calls:
        response = client.open(url, method=method, json=body, headers=bearer(tokens[who]))
        assert response.status_code == expected, (who, method, url, response.status_code)
    assert state(session) == before
    assert denials(session) - denied == len(calls)


def test_pages_refuse_other_practices_other_clients_and_wrong_roles(
    app, session, referral, officer, foreign_officer, world
):
    found, repeat = world
    _, stranger = make_client_user(session, referral.therapist, given_name="Kim")
    foreign_clinician = make_user(session, Role.CLINICIAN, org="Northgate Psychiatry")
    c, r = referral.client_id, repeat.id
    # (who, pages they GET with the status expected, forms they POST: each refused)
    tries = [
        # C1: another practice's staff, with this practice's ids
        (foreign_clinician, [(f"/clinician/clients/{c}/disclosures/new", 404)], []),
        (
            foreign_officer,
            [
                (f"/compliance/accounting/clients/{c}/disclosures/new", 404),
                (f"/compliance/accounting/requests/{r}/fee-letter.pdf", 404),
                (f"/compliance/accounting/requests/{r}/extension-letter.pdf", 404),
            ],
            [
                f"/compliance/accounting/requests/{r}/fee-acceptance",
                f"/compliance/accounting/requests/{r}/withdrawal",
            ],
        ),
        # C2: another client, with this client's request id
        (
            stranger,
            [
                (f"/portal/accounting/requests/{r}/fee-letter.pdf", 404),
                (f"/portal/accounting/requests/{r}/extension-letter.pdf", 404),
            ],
            [
                f"/portal/accounting/requests/{r}/fee-acceptance",
                f"/portal/accounting/requests/{r}/withdrawal",
                f"/portal/accounting/requests/{r}/change",
            ],
        ),
        # C3: the client on staff pages, the clinician on compliance's and the portal's
        (
            referral.client_person,
            [
                (f"/clinician/clients/{c}/disclosures/new", 403),
                (f"/compliance/accounting/clients/{c}/disclosures/new", 403),
                ("/compliance/accounting/suspensions", 403),
            ],
            ["/compliance/accounting/settings", "/compliance/accounting/suspensions"],
        ),
        (
            referral.therapist,
            [
                ("/compliance/accounting/suspensions", 403),
                (f"/compliance/accounting/requests/{r}/fee-letter.pdf", 403),
                (f"/portal/accounting/requests/{r}/fee-letter.pdf", 403),
            ],
            ["/compliance/accounting/settings", f"/portal/accounting/requests/{r}/withdrawal"],
        ),
    ]
    before = state(session)
    for person, gets, posts in tries:
        browser = app.test_client()
        login_as(browser, person.email, person.password)
        token = csrf_token(browser.get("/", follow_redirects=True))
        for url, expected in gets:
            assert browser.get(url).status_code == expected, (person.email, url)
        for url in posts:
            response = browser.post(url, data={"csrf_token": token, "scope": "part2", "fee": "1"})
            assert response.status_code in (403, 404), (person.email, url, response.status_code)
    assert state(session) == before
