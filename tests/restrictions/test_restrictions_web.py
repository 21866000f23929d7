"""Restrictions in the browser (no JavaScript): the client asks in the portal, the clinician
agrees on the client's page, the compose page's check says the restriction stops the message
before it is sent, the client ends it; staff record a request on the client's behalf and must
give a reason to decline; another practice sees none of it."""

from __future__ import annotations

from sqlalchemy import select

from roi.actor import Role
from roi.consent.models import Restriction, RestrictionStatus
from tests.factories import make_client_user, make_user
from tests.helpers import csrf_token, login_as, logout
from tests.web.test_messages_web import check


def test_asked_in_the_portal_agreed_by_staff_shown_before_sending_ended_by_the_client(
    client, session, referral
):
    referral.signed(session)
    # Given the client asks in the portal not to share the diagnosis
    login_as(client, referral.client_person.email, referral.client_person.password)
    page = client.get("/portal/restrictions")
    assert page.status_code == 200
    asked = client.post(
        "/portal/restrictions",
        data={
            "categories": ["diagnosis"],
            "recipient_provider_id": "0",
            "description": "Keep my diagnosis private.",
            "csrf_token": csrf_token(page),
        },
    )
    assert asked.status_code == 302
    assert "Waiting for your practice" in client.get("/portal/restrictions").get_data(as_text=True)
    logout(client)
    # When the clinician agrees on the client's page
    login_as(client, referral.therapist.email, referral.therapist.password)
    detail = client.get(f"/clinician/clients/{referral.client_id}")
    assert "Keep my diagnosis private." in detail.get_data(as_text=True)
    session.rollback()
    restriction_id = session.scalar(select(Restriction.id))
    agreed = client.post(
        f"/clinician/restrictions/{restriction_id}/decision",
        data={"decision": "agree", "reason": "", "csrf_token": csrf_token(detail)},
    )
    assert agreed.status_code == 302
    # Then the compose page's check says so before anything is sent
    answer = check(client, referral).get_json()
    assert answer["decision"] == "deny"
    assert f"restriction #{restriction_id}" in answer["reasons"][0]["message"]
    assert answer["release_url"] is None
    assert "No release can cover this" in answer["release_hint"]
    logout(client)
    # And the client ends it whenever they like
    login_as(client, referral.client_person.email, referral.client_person.password)
    page = client.get("/portal/restrictions")
    assert "Agreed: in effect" in page.get_data(as_text=True)
    client.post(f"/portal/restrictions/{restriction_id}/end", data={"csrf_token": csrf_token(page)})
    session.rollback()
    assert session.get(Restriction, restriction_id).status is RestrictionStatus.TERMINATED
    logout(client)
    login_as(client, referral.therapist.email, referral.therapist.password)
    assert check(client, referral).get_json()["decision"] == "permit"


def test_staff_record_on_the_clients_behalf_and_a_decline_needs_a_reason(client, session, referral):
    login_as(client, referral.therapist.email, referral.therapist.password)
    detail = client.get(f"/clinician/clients/{referral.client_id}")
    recorded = client.post(
        f"/clinician/clients/{referral.client_id}/restrictions",
        data={
            "recipient_provider_id": str(referral.recipient_id),
            "description": "Asked by phone: nothing to Dr. Okafor.",
            "csrf_token": csrf_token(detail),
        },
    )
    assert recorded.status_code == 302
    session.rollback()
    restriction = session.scalar(select(Restriction))
    assert restriction.requested_via == "staff"
    page = client.get(f"/clinician/clients/{referral.client_id}")
    no_reason = client.post(
        f"/clinician/restrictions/{restriction.id}/decision",
        data={"decision": "decline", "reason": "", "csrf_token": csrf_token(page)},
        follow_redirects=True,
    )
    assert "Say why the practice declines." in no_reason.get_data(as_text=True)
    session.rollback()
    assert session.get(Restriction, restriction.id).status is RestrictionStatus.REQUESTED


def test_another_practice_sees_no_restriction_and_changes_none(client, session, referral):
    # C1: the psychiatrist elsewhere, named on an active release, sees the client's page but
    # not the restrictions, and the restriction routes answer 404
    referral.signed(session)
    login_as(client, referral.client_person.email, referral.client_person.password)
    page = client.get("/portal/restrictions")
    client.post(
        "/portal/restrictions",
        data={
            "categories": ["diagnosis"],
            "description": "Private.",
            "csrf_token": csrf_token(page),
        },
    )
    logout(client)
    session.rollback()
    restriction_id = session.scalar(select(Restriction.id))
    login_as(client, referral.psychiatrist.email, referral.psychiatrist.password)
    detail = client.get(f"/clinician/clients/{referral.client_id}")
    assert detail.status_code == 200
    assert "Restrictions the client asked for" not in detail.get_data(as_text=True)
    token = csrf_token(detail)
    for url, data in (
        (f"/clinician/restrictions/{restriction_id}/decision", {"decision": "agree"}),
        (f"/clinician/restrictions/{restriction_id}/termination", {}),
        (f"/clinician/clients/{referral.client_id}/restrictions", {"description": "x"}),
    ):
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 404
    session.rollback()
    assert session.get(Restriction, restriction_id).status is RestrictionStatus.REQUESTED


def test_compliance_sees_the_waiting_requests_and_decides(client, session, referral, officer):
    login_as(client, referral.client_person.email, referral.client_person.password)
    page = client.get("/portal/restrictions")
    client.post(
        "/portal/restrictions",
        data={"categories": ["hiv"], "description": "Private.", "csrf_token": csrf_token(page)},
    )
    logout(client)
    session.rollback()
    restriction_id = session.scalar(select(Restriction.id))
    login_as(client, officer.email, officer.password)
    assert 'id="restrictions-waiting">1<' in client.get("/compliance/").get_data(as_text=True)
    page = client.get("/compliance/restrictions")
    assert "Private." in page.get_data(as_text=True)
    client.post(
        f"/compliance/restrictions/{restriction_id}/decision",
        data={"decision": "agree", "csrf_token": csrf_token(page)},
    )
    session.rollback()
    assert session.get(Restriction, restriction_id).status is RestrictionStatus.AGREED
    assert 'id="restrictions-waiting">0<' in client.get("/compliance/").get_data(as_text=True)


def test_another_client_or_officer_changes_no_restriction_in_the_browser(client, session, referral):
    # C2: another client of the practice ends Jordan's restriction by id; C1: an officer of
    # another practice decides it; C3: a clinician sets the practice's emergency rate
    login_as(client, referral.client_person.email, referral.client_person.password)
    page = client.get("/portal/restrictions")
    client.post(
        "/portal/restrictions",
        data={"categories": ["hiv"], "description": "Private.", "csrf_token": csrf_token(page)},
    )
    logout(client)
    session.rollback()
    restriction_id = session.scalar(select(Restriction.id))
    _, other = make_client_user(session, referral.therapist)
    login_as(client, other.email, other.password)
    page = client.get("/portal/restrictions")
    assert "Private." not in page.get_data(as_text=True)
    ended = client.post(
        f"/portal/restrictions/{restriction_id}/end", data={"csrf_token": csrf_token(page)}
    )
    assert ended.status_code == 404
    logout(client)
    elsewhere = make_user(session, Role.COMPLIANCE, org="Northgate Psychiatry")
    login_as(client, elsewhere.email, elsewhere.password)
    page = client.get("/compliance/restrictions")
    assert 'id="no-restrictions"' in page.get_data(as_text=True)
    for action, data in (("decision", {"decision": "agree"}), ("termination", {})):
        client.post(
            f"/compliance/restrictions/{restriction_id}/{action}",
            data={**data, "csrf_token": csrf_token(page)},
        )
    logout(client)
    login_as(client, referral.therapist.email, referral.therapist.password)
    page = client.get("/clinician/messages/new")
    refused = client.post(
        "/admin/settings",
        data={"emergency_sends_per_day": "50", "csrf_token": csrf_token(page)},
    )
    assert refused.status_code == 403
    session.rollback()
    assert session.get(Restriction, restriction_id).status is RestrictionStatus.REQUESTED


def test_staff_end_one_only_the_client_may_end_only_at_the_clients_request(
    client, session, referral
):
    login_as(client, referral.therapist.email, referral.therapist.password)
    detail = client.get(f"/clinician/clients/{referral.client_id}")
    client.post(
        f"/clinician/clients/{referral.client_id}/restrictions",
        data={
            "recipient_provider_id": str(referral.recipient_id),
            "description": "Paid herself: nothing to the insurer.",
            "paid_out_of_pocket": "y",
            "csrf_token": csrf_token(detail),
        },
    )
    session.rollback()
    restriction = session.scalar(select(Restriction))
    assert restriction.paid_out_of_pocket
    page = client.get(f"/clinician/clients/{referral.client_id}")
    client.post(
        f"/clinician/restrictions/{restriction.id}/decision",
        data={"decision": "agree", "reason": "", "csrf_token": csrf_token(page)},
    )
    page = client.get(f"/clinician/clients/{referral.client_id}").get_data(as_text=True)
    assert "Only the client can end this restriction" in page
    # ending it as the practice is refused, saying why
    url = f"/clinician/restrictions/{restriction.id}/termination"
    ended = client.post(
        url, data={"reason": "", "csrf_token": csrf_token(detail)}, follow_redirects=True
    )
    assert "only the client can end it" in ended.get_data(as_text=True)
    session.rollback()
    assert session.get(Restriction, restriction.id).status is RestrictionStatus.AGREED
    # while the client's own request, recorded by staff, ends it
    ended = client.post(
        url,
        data={"reason": "", "clients_request": "y", "csrf_token": csrf_token(detail)},
        follow_redirects=True,
    )
    assert "ended at the client" in ended.get_data(as_text=True)
    session.rollback()
    found = session.get(Restriction, restriction.id)
    assert (found.status, found.terminated_by) == (RestrictionStatus.TERMINATED, "client")
