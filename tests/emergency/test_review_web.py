"""Compliance in the browser: the overview counts emergency disclosures waiting for review and
shows the rate alert; the queue page reviews each with a note (audited); another practice's
officer sees none of it (SECURITY C1)."""

from __future__ import annotations

from sqlalchemy import select

from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.messaging.models import EmergencyDisclosure
from tests.emergency.conftest import message_body
from tests.factories import make_user
from tests.helpers import bearer, csrf_token, login_as

QUEUE = "/compliance/emergency-disclosures"


def send(client, tokens, referral):
    response = client.post(
        "/api/v1/messages", json=message_body(referral), headers=bearer(tokens["therapist"])
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_overview_counts_the_queue_and_the_officer_reviews_with_a_note(
    client, session, referral, tokens, officer
):
    # Given two emergency disclosures
    send(client, tokens, referral)
    send(client, tokens, referral)
    login_as(client, officer.email, officer.password)
    overview = client.get("/compliance/").get_data(as_text=True)
    assert 'id="emergencies-waiting">2<' in overview
    # When the officer opens the queue and reviews one
    page = client.get(QUEUE)
    text = page.get_data(as_text=True)
    assert "Overdose" in text
    assert "Bona fide medical emergency (42 CFR 2.51)" in text
    session.rollback()
    first = session.scalars(select(EmergencyDisclosure).order_by(EmergencyDisclosure.id)).first()
    url = f"{QUEUE}/{first.id}/review"
    empty = client.post(url, data={"note": "", "csrf_token": csrf_token(page)})
    assert empty.status_code == 422
    done = client.post(url, data={"note": "Basis held.", "csrf_token": csrf_token(page)})
    assert done.status_code == 302
    # Then one waits, the reviewed one is listed with its note, and the review is audited
    assert 'id="emergencies-waiting">1<' in client.get("/compliance/").get_data(as_text=True)
    reviewed = client.get(f"{QUEUE}?reviewed=1").get_data(as_text=True)
    assert "Basis held." in reviewed
    session.rollback()
    assert session.scalar(
        select(AuditEntry.seq).where(AuditEntry.action == Action.DISCLOSURE_EMERGENCY_REVIEWED)
    )


def test_the_rate_alert_is_on_the_overview(client, referral, tokens, officer):
    for _ in range(3):
        send(client, tokens, referral)
    refused = client.post(
        "/api/v1/messages", json=message_body(referral), headers=bearer(tokens["therapist"])
    )
    assert refused.status_code == 429
    login_as(client, officer.email, officer.password)
    page = client.get("/compliance/").get_data(as_text=True)
    assert 'id="emergency-rate-alerts"' in page
    assert "Dana Whitfield" in page


def test_another_practices_officer_sees_and_reviews_nothing(client, session, referral, tokens):
    # C1: an officer of the psychiatrist's practice
    send(client, tokens, referral)
    elsewhere = make_user(session, Role.COMPLIANCE, org="Northgate Psychiatry")
    session.rollback()
    record_id = session.scalar(select(EmergencyDisclosure.id))
    login_as(client, elsewhere.email, elsewhere.password)
    page = client.get(QUEUE)
    assert 'id="no-emergencies"' in page.get_data(as_text=True)
    refused = client.post(
        f"{QUEUE}/{record_id}/review", data={"note": "x", "csrf_token": csrf_token(page)}
    )
    assert refused.status_code == 404
    from tests.helpers import api_token

    token = api_token(client, elsewhere.email, elsewhere.password)
    assert client.get("/api/v1/emergency-disclosures", headers=bearer(token)).get_json() == []
    answer = client.post(
        f"/api/v1/emergency-disclosures/{record_id}/review",
        json={"note": "x"},
        headers=bearer(token),
    )
    assert answer.status_code == 404
    # C3: a clinician and a client may not list or review
    for who in ("therapist", "client"):
        assert (
            client.get("/api/v1/emergency-disclosures", headers=bearer(tokens[who])).status_code
            == 403
        )
        assert (
            client.post(
                f"/api/v1/emergency-disclosures/{record_id}/review",
                json={"note": "x"},
                headers=bearer(tokens[who]),
            ).status_code
            == 403
        )
    session.rollback()
    assert session.get(EmergencyDisclosure, record_id).reviewed_at is None


def test_the_client_reads_the_notice_in_the_portal(client, referral, tokens):
    send(client, tokens, referral)
    login_as(client, referral.client_person.email, referral.client_person.password)
    page = client.get("/portal/").get_data(as_text=True)
    assert 'id="portal-notices"' in page
    assert "because of an emergency" in page
