"""Restrictions the client asked for (45 CFR 164.522(a), 42 CFR 2.26) through the API: asked for,
agreed or declined with a reason, binding over every consent, never over an emergency, ended by
the client at any time and by the practice only from then on with notice; and kept to the
client's own practice (SECURITY C1/C2/C3)."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.consent.models import Restriction, RestrictionMark
from tests.emergency.conftest import emergency
from tests.factories import make_client_user, make_user
from tests.helpers import api_token, bearer, delivered_mail


def ask(client, token, client_id, **changes):
    body = {
        "recipient_provider_id": None,
        "categories": ["diagnosis"],
        "description": "Please do not share my diagnosis with anyone.",
        **changes,
    }
    return client.post(
        f"/api/v1/clients/{client_id}/restrictions", json=body, headers=bearer(token)
    )


def decide(client, token, restriction_id, **body):
    return client.post(
        f"/api/v1/restrictions/{restriction_id}/decision", json=body, headers=bearer(token)
    )


def end(client, token, restriction_id, **body):
    return client.post(
        f"/api/v1/restrictions/{restriction_id}/termination", json=body, headers=bearer(token)
    )


def message(referral, **changes):
    return {
        "client_id": referral.client_id,
        "recipient_provider_id": referral.recipient_id,
        "categories": ["diagnosis"],
        "purpose": "treatment",
        "subject": "Update",
        "body": "Diagnosis and plan.",
        **changes,
    }


def send(client, token, body):
    return client.post("/api/v1/messages", json=body, headers=bearer(token))


def actions(session) -> list[str]:
    session.rollback()
    return [
        str(a)
        for a in session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.action.in_([a for a in Action if a.startswith("restriction.")]))
            .order_by(AuditEntry.seq)
        )
    ]


def test_an_agreed_restriction_wins_over_the_consent_until_the_client_ends_it(
    client, session, referral, tokens
):
    # Given an active consent that lets the therapist share the diagnosis with the psychiatrist
    referral.signed(session)
    assert send(client, tokens["therapist"], message(referral)).status_code == 201
    # When the client asks in the portal that the diagnosis not be shared, and staff agree
    asked = ask(client, tokens["client"], referral.client_id)
    assert asked.status_code == 201, asked.get_json()
    restriction = asked.get_json()
    assert restriction["status"] == "requested"
    assert restriction["requested_via"] == "portal"
    # (a request alone changes nothing)
    assert send(client, tokens["therapist"], message(referral)).status_code == 201
    agreed = decide(client, tokens["therapist"], restriction["id"], agree=True)
    assert agreed.status_code == 200
    assert agreed.get_json()["status"] == "agreed"
    # Then the consent no longer lets the diagnosis go out, and the gate says why
    refused = send(client, tokens["therapist"], message(referral))
    assert refused.status_code == 403
    assert [r["code"] for r in refused.get_json()["reasons"]] == ["restricted_by_agreement"]
    assert f"#{restriction['id']}" in refused.get_json()["reasons"][0]["message"]
    check = client.post(
        "/api/v1/disclosure-decisions",
        json={
            "client_id": referral.client_id,
            "recipient_provider_id": referral.recipient_id,
            "categories": ["diagnosis"],
            "purposes": ["treatment"],
        },
        headers=bearer(tokens["therapist"]),
    )
    assert check.get_json()["decision"] == "deny"
    # but what it does not cover still goes out under the consent
    other = message(referral, categories=["medications"])
    assert send(client, tokens["therapist"], other).status_code == 201
    # And an emergency still goes out (164.522(a)(1)(iii))
    urgent = send(client, tokens["therapist"], message(referral, emergency=emergency()))
    assert urgent.status_code == 201
    # When the client ends it, the consent permits again
    ended = end(client, tokens["client"], restriction["id"], reason="Changed my mind.")
    assert ended.get_json()["status"] == "terminated"
    assert ended.get_json()["terminated_by"] == "client"
    assert send(client, tokens["therapist"], message(referral)).status_code == 201
    assert actions(session) == [
        "restriction.requested",
        "restriction.agreed",
        "restriction.terminated",
    ]


def test_a_restriction_on_a_recipient_covers_everything_sent_to_them(
    client, session, referral, tokens
):
    referral.signed(session)
    asked = ask(
        client,
        tokens["therapist"],
        referral.client_id,
        categories=[],
        recipient_provider_id=referral.recipient_id,
        description="Client asked on the phone: nothing to Dr. Okafor.",
    ).get_json()
    assert asked["requested_via"] == "staff"
    decide(client, tokens["officer"], asked["id"], agree=True)
    for categories in (["diagnosis"], ["medications"]):
        body = message(referral, categories=categories)
        assert send(client, tokens["therapist"], body).status_code == 403


def test_with_no_release_at_all_the_refusal_still_names_the_restriction(
    client, session, referral, tokens
):
    # Given an agreed restriction and no release signed (the send reads no consent to lock)
    asked = ask(client, tokens["client"], referral.client_id).get_json()
    decide(client, tokens["therapist"], asked["id"], agree=True)
    # When the therapist sends what it covers
    refused = send(client, tokens["therapist"], message(referral))
    # Then the refusal says the client's restriction stops it, not only that no release exists
    assert refused.status_code == 403
    assert [r["code"] for r in refused.get_json()["reasons"]] == ["restricted_by_agreement"]


def test_a_client_without_a_restriction_mark_gets_it_right_from_their_next_send(
    client, session, referral, tokens
):
    # Given an agreed restriction, and no mark (as for a client the marks came after)
    referral.signed(session)
    asked = ask(client, tokens["client"], referral.client_id).get_json()
    decide(client, tokens["therapist"], asked["id"], agree=True)
    session.execute(delete(RestrictionMark))
    session.commit()
    # When the therapist sends what it covers, twice
    for _ in range(2):
        refused = send(client, tokens["therapist"], message(referral))
        # Then each send is refused: the first read the restrictions and made the mark, set
        assert refused.status_code == 403
        assert [r["code"] for r in refused.get_json()["reasons"]] == ["restricted_by_agreement"]
    session.rollback()
    assert session.get(RestrictionMark, referral.client_id).restricted is True


def test_a_decline_says_why_and_a_paid_out_of_pocket_request_must_be_agreed(
    client, session, referral, tokens
):
    first = ask(client, tokens["client"], referral.client_id).get_json()
    assert decide(client, tokens["therapist"], first["id"], agree=False).status_code == 422
    declined = decide(
        client, tokens["therapist"], first["id"], agree=False, reason="Needed for coordination."
    )
    assert declined.get_json()["status"] == "declined"
    assert declined.get_json()["decision_reason"] == "Needed for coordination."
    assert decide(client, tokens["therapist"], first["id"], agree=True).status_code == 409
    # the health-plan request for care paid out of pocket
    plan = ask(
        client,
        tokens["client"],
        referral.client_id,
        recipient_provider_id=referral.recipient_id,
        paid_out_of_pocket=True,
    ).get_json()
    refused = decide(client, tokens["officer"], plan["id"], agree=False, reason="No.")
    assert refused.status_code == 422
    assert "must be agreed" in refused.get_json()["fields"]["agree"]
    assert decide(client, tokens["officer"], plan["id"], agree=True).status_code == 200
    # a request with neither information nor recipient is refused, naming the field
    empty = ask(client, tokens["client"], referral.client_id, categories=[])
    assert empty.status_code == 422
    assert "categories" in empty.get_json()["fields"]


def test_a_restriction_on_a_health_plan_for_care_paid_out_of_pocket_is_the_clients_to_end(
    app, client, session, referral, tokens
):
    # Given the practice agreed, as it must, not to tell a health plan of care paid out of pocket
    plan = ask(
        client,
        tokens["client"],
        referral.client_id,
        recipient_provider_id=referral.recipient_id,
        paid_out_of_pocket=True,
    ).get_json()
    assert decide(client, tokens["officer"], plan["id"], agree=True).status_code == 200
    # When staff try to end it, then it stays in force, saying why (164.522(a)(2)(iii))
    for staff in ("therapist", "officer"):
        refused = end(client, tokens[staff], plan["id"], reason="Billing needs it.")
        assert refused.status_code == 409
        assert "only the client can end it" in refused.get_json()["message"]
    session.rollback()
    assert session.get(Restriction, plan["id"]).status.value == "agreed"
    assert "restriction.terminated" not in actions(session)
    referral.signed(session)
    assert send(client, tokens["therapist"], message(referral)).status_code == 403
    # And the client can: themself, or staff recording the client's own request (a letter, a
    # call) for a client who has no account
    ended = end(client, tokens["officer"], plan["id"], clients_request=True)
    assert ended.status_code == 200
    assert ended.get_json()["terminated_by"] == "client"


def test_the_practice_ends_only_an_agreed_one_and_tells_the_client_without_phi(
    app, client, session, referral, tokens
):
    requested = ask(client, tokens["client"], referral.client_id).get_json()
    # staff cannot end a request they have not agreed to (the client may withdraw it)
    assert end(client, tokens["therapist"], requested["id"]).status_code == 409
    decide(client, tokens["therapist"], requested["id"], agree=True)
    ended = end(client, tokens["officer"], requested["id"], reason="Cannot coordinate care.")
    assert ended.status_code == 200
    assert ended.get_json()["terminated_by"] == "practice"
    assert end(client, tokens["client"], requested["id"]).status_code == 409
    mails = [m for m in delivered_mail(app) if m["To"] == "jordan@client.example"]
    assert len(mails) == 1
    text = mails[0].get_content()
    assert "ended a restriction" in text
    for phi in ("diagnosis", "Okafor", "coordinate"):
        assert phi not in text
    # and the clinician is told, when a consent permits, that older information stays covered
    referral.signed(session)
    check = client.post(
        "/api/v1/disclosure-decisions",
        json={
            "client_id": referral.client_id,
            "recipient_provider_id": referral.recipient_id,
            "categories": ["diagnosis"],
            "purposes": ["treatment"],
        },
        headers=bearer(tokens["therapist"]),
    )
    assert check.get_json()["decision"] == "permit"


def test_restrictions_stay_with_the_clients_practice(client, session, referral, tokens):
    mine = ask(client, tokens["client"], referral.client_id).get_json()
    session.rollback()
    before = session.scalar(select(func.count()).select_from(Restriction))
    # C1: a clinician of another practice (the psychiatrist) and its officer: 404 everywhere
    elsewhere = make_user(session, Role.COMPLIANCE, org="Northgate Psychiatry")
    for token in (tokens["psychiatrist"], api_token(client, elsewhere.email, elsewhere.password)):
        headers = bearer(token)
        url = f"/api/v1/clients/{referral.client_id}/restrictions"
        assert client.get(url, headers=headers).status_code == 404
        assert ask(client, token, referral.client_id).status_code == 404
        assert decide(client, token, mine["id"], agree=True).status_code == 404
        assert end(client, token, mine["id"]).status_code == 404
    # C2: another client of the same practice
    _, other = make_client_user(session, referral.therapist)
    other_token = api_token(client, other.email, other.password)
    assert ask(client, other_token, referral.client_id).status_code == 404
    assert end(client, other_token, mine["id"]).status_code == 404
    listed = client.get(
        f"/api/v1/clients/{referral.client_id}/restrictions", headers=bearer(other_token)
    )
    assert listed.status_code == 404
    # C3: a client may not decide; an administrator may do nothing with restrictions
    assert decide(client, tokens["client"], mine["id"], agree=True).status_code == 403
    admin = make_user(session, Role.ADMIN)
    admin_token = api_token(client, admin.email, admin.password)
    assert ask(client, admin_token, referral.client_id).status_code == 403
    assert decide(client, admin_token, mine["id"], agree=True).status_code == 403
    # nothing changed
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Restriction)) == before
    assert session.get(Restriction, mine["id"]).status.value == "requested"
    # and the client sees their own
    own = client.get(
        f"/api/v1/clients/{referral.client_id}/restrictions", headers=bearer(tokens["client"])
    )
    assert [r["id"] for r in own.get_json()] == [mine["id"]]
    assert own.get_json()[0]["description"] == "Please do not share my diagnosis with anyone."
