"""SECURITY K1 and K2: an emergency disclosure without a consent is complete, recorded, sealed,
reviewed and told to the client; and it is no back door."""

from __future__ import annotations

from sqlalchemy import func, select

from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.consent.models import Notification
from roi.messaging.models import EmergencyDisclosure, Message
from tests.emergency.conftest import emergency, message_body
from tests.factories import make_client_user, make_user
from tests.helpers import api_token, bearer, delivered_mail


def count(session, model) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def entries(session, action: Action) -> list[AuditEntry]:
    session.rollback()
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        )
    )


def send(client, token, body):
    return client.post("/api/v1/messages", json=body, headers=bearer(token))


def test_each_basis_sends_without_a_consent_and_records_what_2_51_requires(
    client, session, referral, tokens
):
    for basis in ("medical_emergency", "serious_threat"):
        # When the therapist sends under the basis with no consent at all
        response = send(
            client, tokens["therapist"], message_body(referral, emergency=emergency(basis=basis))
        )
        # Then it goes out, with no consent and the emergency it went under
        assert response.status_code == 201, response.get_json()
        sent = response.get_json()
        assert sent["consent_id"] is None
        assert sent["emergency"]["basis"] == basis
        assert sent["emergency"]["nature"] == emergency()["nature"]
        assert sent["emergency"]["recipient_personnel"] == emergency()["recipient_personnel"]
        assert "Emergency disclosure" in sent["scope_summary"]
        # And the audit entry carries what the accounting needs, ids and codes only
        (entry,) = [
            e for e in entries(session, Action.DISCLOSURE_EMERGENCY) if e.message_id == sent["id"]
        ]
        assert entry.client_id == referral.client_id
        assert entry.recipient_provider_id == referral.recipient_id
        assert entry.categories == ["medications"]
        assert entry.purpose == "treatment"
        assert entry.detail == {"basis": basis, "emergency_disclosure_id": sent["emergency"]["id"]}
        assert entry.actor_id == referral.therapist.user.id
    # And each has its record, its free text sealed
    session.rollback()
    records = session.scalars(select(EmergencyDisclosure)).all()
    assert len(records) == 2
    for record in records:
        assert b"Overdose" not in record.nature_sealed
        assert b"Okafor" not in record.recipient_personnel_sealed
        assert record.sender_user_id == referral.therapist.user.id
        assert record.reviewed_at is None


def test_each_missing_element_is_named_and_nothing_is_sent(client, session, referral, tokens):
    # When the emergency states no basis, no nature and no receiving personnel
    response = send(
        client,
        tokens["therapist"],
        message_body(referral, emergency={"basis": "", "nature": " ", "recipient_personnel": ""}),
    )
    # Then a 422 names each one, and nothing went out or was recorded
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert {"emergency.basis", "emergency.nature", "emergency.recipient_personnel"} <= set(fields)
    # one at a time as well
    for missing in ("basis", "nature", "recipient_personnel"):
        body = message_body(referral, emergency=emergency(**{missing: ""}))
        answer = send(client, tokens["therapist"], body)
        assert answer.status_code == 422
        assert set(answer.get_json()["fields"]) == {f"emergency.{missing}"}
    unknown = send(
        client, tokens["therapist"], message_body(referral, emergency=emergency(basis="hunch"))
    )
    assert set(unknown.get_json()["fields"]) == {"emergency.basis"}
    assert count(session, Message) == 0
    assert count(session, EmergencyDisclosure) == 0
    assert entries(session, Action.DISCLOSURE_EMERGENCY) == []


def test_the_recipient_sees_the_banner_and_the_part2_notice_with_substance_use_records(
    client, session, referral, tokens
):
    body = message_body(referral, categories=["sud_treatment"])
    sent = send(client, tokens["therapist"], body).get_json()
    opened = client.get(f"/api/v1/messages/{sent['id']}", headers=bearer(tokens["psychiatrist"]))
    message = opened.get_json()
    assert message["emergency"]["basis"] == "medical_emergency"
    assert "42 CFR 2.51" in message["scope_summary"]
    assert "42 CFR" in message["part2_notice"]
    assert "prohibit" in message["part2_notice"]
    # and no notice when the message carries no substance-use records
    plain = send(client, tokens["therapist"], message_body(referral)).get_json()
    assert plain["part2_notice"] is None


def test_each_basis_opens_only_what_its_law_allows(client, session, referral, tokens):
    def sent(basis: str, categories: list[str]):
        body = message_body(referral, categories=categories, emergency=emergency(basis=basis))
        return send(client, tokens["therapist"], body)

    # psychotherapy notes go only to prevent a serious threat (164.508(a)(2)(ii)), substance-use
    # records only in a medical emergency (42 CFR 2.51: Part 2 has no serious-threat exception)
    refusals = {
        ("medical_emergency", "psychotherapy_notes"): "emergency_psychotherapy_notes",
        ("serious_threat", "sud_treatment"): "emergency_part2_not_medical",
    }
    for (basis, category), code in refusals.items():
        refused = sent(basis, ["medications", category])
        assert refused.status_code == 403, refused.get_json()
        reasons = refused.get_json()["reasons"]
        assert [r["code"] for r in reasons] == [f"{code}:{category}"]
        assert "only" in reasons[0]["message"]
    # none of them went out, and each refusal is in the log with its reason
    assert count(session, Message) == 0
    denied = entries(session, Action.DISCLOSURE_DENIED)
    assert sorted(e.reasons[0] for e in denied) == sorted(
        f"{code}:{category}" for (_, category), code in refusals.items()
    )
    # while each goes under its own basis, and substance-use records carry the Part 2 notice
    assert sent("serious_threat", ["psychotherapy_notes"]).status_code == 201
    with_sud = sent("medical_emergency", ["medications", "sud_treatment"])
    assert with_sud.status_code == 201
    assert "42 CFR" in with_sud.get_json()["part2_notice"]
    # and no basis lets both go at once, so no notice can be left behind by the notes' form
    both = sent("serious_threat", ["psychotherapy_notes", "sud_treatment"])
    assert both.status_code == 403


def test_the_client_is_told_by_portal_notice_and_a_mail_without_health_information(
    app, client, session, referral, tokens
):
    sent = send(client, tokens["therapist"], message_body(referral)).get_json()
    assert sent["emergency"]["client_told"] is True
    session.rollback()
    notices = session.scalars(
        select(Notification).where(Notification.user_id == referral.client_person.user.id)
    ).all()
    assert any("emergency" in n.text for n in notices)
    mails = [m for m in delivered_mail(app) if m["To"] == "jordan@client.example"]
    assert len(mails) == 1
    text = mails[0].get_content()
    assert "emergency" in text
    assert "/portal/" in text
    for phi in ("Overdose", "Sertraline", "Okafor", "medications", "Jordan"):
        assert phi not in text


def test_a_clinician_may_record_why_the_client_is_not_told(app, client, session, referral, tokens):
    reason = "Telling the client now would put the reporting relative at risk."
    body = message_body(referral, emergency=emergency(client_not_told_reason=reason))
    sent = send(client, tokens["therapist"], body).get_json()
    assert sent["emergency"]["client_told"] is False
    assert not [m for m in delivered_mail(app) if m["To"] == "jordan@client.example"]
    queue = client.get("/api/v1/emergency-disclosures", headers=bearer(tokens["officer"]))
    assert queue.get_json()[0]["client_not_told_reason"] == reason


def test_listed_for_compliance_until_reviewed_with_a_note(client, session, referral, tokens):
    # Given two emergency disclosures
    first = send(client, tokens["therapist"], message_body(referral)).get_json()
    second = send(client, tokens["therapist"], message_body(referral)).get_json()
    officer = bearer(tokens["officer"])
    waiting = client.get("/api/v1/emergency-disclosures?reviewed=false", headers=officer)
    assert [e["message_id"] for e in waiting.get_json()] == [second["id"], first["id"]]
    entry = waiting.get_json()[1]
    assert entry["basis"] == "medical_emergency"
    assert entry["nature"] == emergency()["nature"]
    assert entry["sender"] == "Dana Whitfield"
    assert entry["recipient"] == "Samuel Okafor"
    assert entry["client_id"] == referral.client_id
    assert entry["reviewed_at"] is None
    # When compliance reviews the first without a note, then with one
    url = f"/api/v1/emergency-disclosures/{entry['id']}/review"
    assert client.post(url, json={"note": "  "}, headers=officer).status_code == 422
    reviewed = client.post(url, json={"note": "Justified: ED admission."}, headers=officer)
    assert reviewed.status_code == 200
    assert reviewed.get_json()["review_note"] == "Justified: ED admission."
    assert reviewed.get_json()["reviewed_at"]
    # Then it leaves the queue, is among the reviewed, and cannot be reviewed twice
    waiting = client.get("/api/v1/emergency-disclosures?reviewed=false", headers=officer)
    assert [e["message_id"] for e in waiting.get_json()] == [second["id"]]
    done = client.get("/api/v1/emergency-disclosures?reviewed=true", headers=officer)
    assert [e["message_id"] for e in done.get_json()] == [first["id"]]
    assert client.post(url, json={"note": "again"}, headers=officer).status_code == 409
    # And the review is audited
    (audited,) = entries(session, Action.DISCLOSURE_EMERGENCY_REVIEWED)
    assert audited.detail == {"emergency_disclosure_id": entry["id"]}
    assert audited.message_id == first["id"]


def test_no_relation_is_404_client_and_compliance_403_and_another_practice_403(
    client, session, referral, tokens
):
    # K2: a clinician of a third practice with no tie to the client
    stranger = make_user(session, Role.CLINICIAN, org="Harbor Behavioral Health")
    token = api_token(client, stranger.email, stranger.password)
    assert send(client, token, message_body(referral)).status_code == 404
    # a client and a compliance officer may not send at all
    assert send(client, tokens["client"], message_body(referral)).status_code == 403
    assert send(client, tokens["officer"], message_body(referral)).status_code == 403
    # a clinician elsewhere who is named on the client's signed release, but is not their practice
    referral.signed(session)
    back = message_body(referral, recipient_provider_id=_therapist_provider(session, referral))
    refused = send(client, tokens["psychiatrist"], back)
    assert refused.status_code == 403
    assert [r["code"] for r in refused.get_json()["reasons"]] == ["emergency_not_own_client"]
    assert count(session, Message) == 0
    (denied,) = entries(session, Action.DISCLOSURE_DENIED)
    assert denied.detail == {"basis": "medical_emergency"}


def test_above_the_practice_rate_is_429_and_compliance_is_alerted(
    client, session, referral, tokens
):
    # Given the practice's rate of 3 a day, reached
    for _ in range(3):
        assert send(client, tokens["therapist"], message_body(referral)).status_code == 201
    # When the clinician sends a fourth
    refused = send(client, tokens["therapist"], message_body(referral))
    # Then it is refused with a time to retry, and nothing went out
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 24 * 3600
    assert count(session, Message) == 3
    # And compliance is alerted: an audit entry, and the overview says so
    (alert,) = entries(session, Action.DISCLOSURE_EMERGENCY_RATE_EXCEEDED)
    assert alert.actor_id == referral.therapist.user.id
    assert alert.detail == {"limit": 3, "sent": 3}
    # ordinary consented sends are not counted or limited
    other_client, _ = make_client_user(session, referral.therapist)
    body = message_body(referral, client_id=other_client.id, emergency=None)
    assert send(client, tokens["therapist"], body).status_code == 403  # no consent: the gate


def _therapist_provider(session, referral) -> int:
    from roi.accounts.models import Provider

    session.rollback()
    return session.scalar(select(Provider.id).where(Provider.user_id == referral.therapist.user.id))


def test_concurrent_emergency_sends_never_pass_the_rate(app, session, referral, tokens):
    # Given six emergency sends by one clinician at once, against a rate of three a day
    from concurrent.futures import ThreadPoolExecutor

    def one(_: int) -> int:
        with app.test_client() as own:
            return send(own, tokens["therapist"], message_body(referral)).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(one, range(6)))
    # Then exactly three went out and three were refused, each refusal an alert
    assert statuses == [201, 201, 201, 429, 429, 429]
    assert count(session, EmergencyDisclosure) == 3
    assert len(entries(session, Action.DISCLOSURE_EMERGENCY_RATE_EXCEEDED)) == 3
