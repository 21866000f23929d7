"""The gate and message calls of API v1 exactly as CONTRACT.md writes them, with their refusals."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import Engine, event, func, select

from roi.accounts.models import Client, Provider
from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.messaging.models import Message
from tests.factories import make_user
from tests.helpers import api_token, bearer, statements_run


@pytest.fixture
def tokens(client, referral):
    return {
        "therapist": api_token(client, referral.therapist.email, referral.therapist.password),
        "psychiatrist": api_token(
            client, referral.psychiatrist.email, referral.psychiatrist.password
        ),
        "client": api_token(client, referral.client_person.email, referral.client_person.password),
    }


def decision_body(referral, **changes):
    return {
        "client_id": referral.client_id,
        "recipient_provider_id": referral.recipient_id,
        "categories": ["diagnosis"],
        "purposes": ["treatment"],
        **changes,
    }


def message_body(referral, **changes):
    return {
        "client_id": referral.client_id,
        "recipient_provider_id": referral.recipient_id,
        "categories": ["diagnosis"],
        "purpose": "treatment",
        "subject": "Referral for medication review",
        "body": "Jordan has agreed to a medication review; summary below.",
        **changes,
    }


def messages_stored(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(Message))


def audit_count(session, action: Action) -> int:
    session.rollback()
    return session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    )


def test_a_decision_without_consent_is_deny_with_reasons_and_audited(
    client, session, referral, tokens
):
    response = client.post(
        "/api/v1/disclosure-decisions",
        json=decision_body(referral),
        headers=bearer(tokens["therapist"]),
    )
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["decision"] == "deny"
    assert answer["consent_id"] is None
    assert [r["code"] for r in answer["reasons"]] == ["no_consent"]
    assert answer["reasons"][0]["message"]
    assert audit_count(session, Action.DECISION_CHECKED) == 1
    assert messages_stored(session) == 0


def test_a_decision_under_an_active_consent_names_it(client, session, referral, tokens):
    consent = referral.signed(session)
    response = client.post(
        "/api/v1/disclosure-decisions",
        json=decision_body(
            referral, purposes=["treatment"], categories=["diagnosis", "medications"]
        ),
        headers=bearer(tokens["therapist"]),
    )
    answer = response.get_json()
    assert answer["decision"] == "permit"
    assert answer["consent_id"] == consent.id
    assert answer["reasons"] == []
    assert answer["covered_until"].startswith("until ")


def test_a_decision_for_a_purpose_not_consented_to_is_denied(client, session, referral, tokens):
    referral.signed(session)
    response = client.post(
        "/api/v1/disclosure-decisions",
        json=decision_body(referral, purposes=["treatment", "legal_matter"]),
        headers=bearer(tokens["therapist"]),
    )
    answer = response.get_json()
    assert answer["decision"] == "deny"
    assert [r["code"] for r in answer["reasons"]] == ["purpose_not_covered"]


def test_sending_without_consent_is_403_consent_required_and_nothing_is_stored(
    client, session, referral, tokens
):
    response = client.post(
        "/api/v1/messages", json=message_body(referral), headers=bearer(tokens["therapist"])
    )
    assert response.status_code == 403
    answer = response.get_json()
    assert answer["error"] == "consent_required"
    assert answer["reasons"][0]["code"] == "no_consent"
    assert messages_stored(session) == 0
    assert audit_count(session, Action.DISCLOSURE_DENIED) == 1


def test_a_permitted_message_is_201_and_reaches_the_recipient_decrypted(
    client, session, referral, tokens
):
    consent = referral.signed(session)
    response = client.post(
        "/api/v1/messages", json=message_body(referral), headers=bearer(tokens["therapist"])
    )
    assert response.status_code == 201, response.get_json()
    sent = response.get_json()
    assert sent["consent_id"] == consent.id
    assert f"consent #{consent.id}" in sent["scope_summary"]
    inbox = client.get("/api/v1/messages?box=inbox", headers=bearer(tokens["psychiatrist"]))
    assert [m["id"] for m in inbox.get_json()] == [sent["id"]]
    assert inbox.get_json()[0]["body"] == message_body(referral)["body"]
    assert inbox.get_json()[0]["read_at"] is not None
    sent_box = client.get("/api/v1/messages?box=sent", headers=bearer(tokens["therapist"]))
    assert [m["id"] for m in sent_box.get_json()] == [sent["id"]]
    one = client.get(f"/api/v1/messages/{sent['id']}", headers=bearer(tokens["psychiatrist"]))
    assert one.status_code == 200
    assert one.get_json()["subject"] == "Referral for medication review"
    # the inbox, the sent box and the single read each opened the body once
    assert audit_count(session, Action.MESSAGE_READ) == 3


def test_a_send_is_five_statements_and_one_commit_on_postgresql(
    client, session, referral, tokens, is_postgres
):
    # Each statement is a round trip to PostgreSQL and a pass through SQLAlchemy and the driver:
    # under load they are most of what a send costs (bench/messages_bench.py).
    referral.signed(session)
    headers = bearer(tokens["therapist"])
    body = message_body(referral)
    # the first send about the client also makes their restriction mark
    assert client.post("/api/v1/messages", json=body, headers=headers).status_code == 201
    commits = []

    def note_commit(connection) -> None:
        commits.append(connection)

    event.listen(Engine, "commit", note_commit)
    try:
        with statements_run() as run:
            response = client.post("/api/v1/messages", json=body, headers=headers)
    finally:
        event.remove(Engine, "commit", note_commit)
    assert response.status_code == 201, response.get_json()
    statements = [statement.split(None, 1)[0].upper() for statement in run]
    if is_postgres:
        # the token, the parties, the consents locked with the client's restriction mark (it
        # says none, so the restrictions are not read), then the message, its notice and mail
        # with the audit head taken, then the audit entry; one COMMIT
        assert statements == ["SELECT", "SELECT", "SELECT", "WITH", "WITH"]
        assert len(commits) == 1
    else:
        # SQLite has no INSERT inside WITH, and its statements cost no round trip: the reads,
        # then the write transaction (BEGIN IMMEDIATE, the one writer at a time) that locks,
        # writes the rows, moves the audit head, writes the entry and sets the head's hash
        assert statements == [
            *("BEGIN", "SELECT", "SELECT"),
            *("BEGIN", "SELECT", "INSERT", "INSERT", "INSERT"),
            *("UPDATE", "INSERT", "UPDATE"),
        ]


def test_a_send_reads_nothing_that_identifies_the_client(client, session, referral, tokens):
    # Given a signed release
    referral.signed(session)
    # When a message is sent under it
    with statements_run() as read:
        response = client.post(
            "/api/v1/messages", json=message_body(referral), headers=bearer(tokens["therapist"])
        )
    assert response.status_code == 201, response.get_json()
    # Then no statement read who the client is (the minimum necessary): only ids and practices
    columns = ("given_name", "family_name", "birth_date")
    assert not [column for column in columns if any(column in text for text in read)]


def test_an_emergency_send_has_what_it_tells_the_client_without_reading_again(
    client, session, referral, tokens
):
    # Given a client with no release (an emergency needs none)
    loaded_again: list[str] = []

    def note_refresh(target, context, attributes) -> None:
        loaded_again.append(f"{type(target).__name__}.{sorted(attributes or ())}")

    body = message_body(
        referral,
        emergency={
            "basis": "medical_emergency",
            "nature": "Overdose; brought in unconscious.",
            "recipient_personnel": "Emergency department psychiatry on call",
        },
    )
    # When an emergency message goes out, and the client is told of it
    for model in (Client, Provider):
        event.listen(model, "refresh", note_refresh)
    try:
        response = client.post("/api/v1/messages", json=body, headers=bearer(tokens["therapist"]))
    finally:
        for model in (Client, Provider):
            event.remove(model, "refresh", note_refresh)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["emergency"]["client_told"] is True
    # Then nothing of the parties was loaded again, column by column, after the read of them
    assert loaded_again == []


def test_attachments_travel_sealed_and_come_back_intact(client, session, referral, tokens):
    referral.signed(session)
    pdf = b"%PDF-1.7\n" + b"x" * 200
    response = client.post(
        "/api/v1/messages",
        json=message_body(
            referral,
            attachments=[
                {
                    "filename": "summary.pdf",
                    "content_type": "application/pdf",
                    "content_base64": base64.b64encode(pdf).decode(),
                }
            ],
        ),
        headers=bearer(tokens["therapist"]),
    )
    assert response.status_code == 201, response.get_json()
    message = response.get_json()
    [attachment] = message["attachments"]
    assert attachment["filename"] == "summary.pdf"
    download = client.get(
        f"/api/v1/messages/{message['id']}/attachments/{attachment['id']}",
        headers=bearer(tokens["psychiatrist"]),
    )
    assert download.status_code == 200
    assert download.data == pdf
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_an_attachment_that_is_not_what_it_claims_is_422(client, session, referral, tokens):
    referral.signed(session)
    response = client.post(
        "/api/v1/messages",
        json=message_body(
            referral,
            attachments=[
                {
                    "filename": "summary.pdf",
                    "content_type": "application/pdf",
                    "content_base64": base64.b64encode(b"MZ\x90\x00 not a pdf").decode(),
                }
            ],
        ),
        headers=bearer(tokens["therapist"]),
    )
    assert response.status_code == 422
    assert "attachments" in response.get_json()["fields"]
    assert messages_stored(session) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"categories": []}, "categories"),
        ({"categories": ["not_a_category"]}, "categories"),
        ({"purpose": "marketing"}, "purpose"),
        ({"subject": ""}, "subject"),
        ({"body": ""}, "body"),
        ({"status": "active"}, "status"),
    ],
)
def test_bad_fields_are_422_naming_the_field(client, session, referral, tokens, changes, field):
    referral.signed(session)
    response = client.post(
        "/api/v1/messages",
        json=message_body(referral, **changes),
        headers=bearer(tokens["therapist"]),
    )
    assert response.status_code == 422
    assert field in response.get_json()["fields"]
    assert messages_stored(session) == 0


def test_a_client_of_another_practice_is_404(client, session, referral, tokens):
    stranger = make_user(session, Role.CLINICIAN, org="Elsewhere Clinic", name="Lee Stranger")
    token = api_token(client, stranger.email, stranger.password)
    referral.signed(session)
    for path, body in (
        ("/api/v1/messages", message_body(referral)),
        ("/api/v1/disclosure-decisions", decision_body(referral)),
    ):
        response = client.post(path, json=body, headers=bearer(token))
        assert response.status_code == 404, path
    assert messages_stored(session) == 0


def test_clients_cannot_send_or_check(client, session, referral, tokens):
    referral.signed(session)
    assert (
        client.post(
            "/api/v1/messages", json=message_body(referral), headers=bearer(tokens["client"])
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/disclosure-decisions",
            json=decision_body(referral),
            headers=bearer(tokens["client"]),
        ).status_code
        == 403
    )
    assert client.get("/api/v1/messages", headers=bearer(tokens["client"])).status_code == 403


def test_after_revocation_the_next_send_is_refused_with_the_reason(
    client, session, referral, tokens
):
    consent = referral.signed(session)
    first = client.post(
        "/api/v1/messages", json=message_body(referral), headers=bearer(tokens["therapist"])
    )
    assert first.status_code == 201
    revoked = client.post(
        f"/api/v1/consents/{consent.id}/revocation", json={}, headers=bearer(tokens["client"])
    )
    assert revoked.status_code == 200
    second = client.post(
        "/api/v1/messages", json=message_body(referral), headers=bearer(tokens["therapist"])
    )
    assert second.status_code == 403
    assert [r["code"] for r in second.get_json()["reasons"]] == ["consent_revoked"]
    assert second.get_json()["reasons"][0]["consent_id"] == consent.id
    assert messages_stored(session) == 1
