"""The compose page is consistent: for every reason the gate refuses a message, Send is off with
the reason beside it (never a Send that leads to "Not sent"), in English and in Spanish; and
"Create a release for this client" keeps the typed message as a sealed draft to come back to."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from markupsafe import escape
from sqlalchemy import select

from roi.accounts.models import Provider
from roi.clock import now
from roi.consent.models import Consent, ConsentStatus, Direction, Restriction, expiry_instant
from roi.messaging.models import MessageDraft
from tests.consent import conftest as consent_fixtures
from tests.helpers import csrf_token, login_as
from tests.web.test_messages_web import COMPOSE, SUBJECT, check, compose, stored, text

library = consent_fixtures.library
referral = consent_fixtures.referral

BLOCKED = re.compile(
    r'<input[^>]*\bdisabled\b[^>]*name="send"|<input[^>]*name="send"[^>]*\bdisabled'
)


def changed(session, consent: Consent, **values: object) -> Consent:
    for name, value in values.items():
        setattr(consent, name, value)
    session.commit()
    return consent


def restricted(client, session, referral) -> None:
    """The client asked that nothing go to the psychiatrist, and the practice agreed."""
    referral.signed(session)
    detail = client.get(f"/clinician/clients/{referral.client_id}")
    client.post(
        f"/clinician/clients/{referral.client_id}/restrictions",
        data={
            "recipient_provider_id": str(referral.recipient_id),
            "description": "Nothing to Dr. Okafor.",
            "csrf_token": csrf_token(detail),
        },
    )
    session.rollback()
    restriction = session.scalar(select(Restriction.id))
    client.post(
        f"/clinician/restrictions/{restriction}/decision",
        data={"decision": "agree", "reason": "", "csrf_token": csrf_token(detail)},
    )


#: each refusal the therapist can meet (the one-way case is the psychiatrist's, below): how to
#: arrange it, and what the message carries
Arrange = Callable[..., object]
REFUSALS: dict[str, tuple[Arrange, dict[str, object]]] = {
    "no_consent": (lambda client, session, r: None, {}),
    "consent_not_sent": (lambda client, session, r: r.draft(session), {}),
    "consent_pending_signature": (lambda client, session, r: r.sent(session), {}),
    "consent_revoked": (
        lambda client, session, r: changed(
            session,
            r.signed(session),
            status=ConsentStatus.REVOKED,
            revoked_at=now() - timedelta(minutes=5),
        ),
        {},
    ),
    "consent_expired": (
        # its "expires on" day began yesterday (signing fixes the instant: both are set)
        lambda client, session, r: changed(
            session,
            r.signed(session),
            expires_on=now().date() - timedelta(days=1),
            expires_at=expiry_instant(now().date() - timedelta(days=1)),
        ),
        {},
    ),
    "consent_voided": (
        lambda client, session, r: changed(
            session, r.draft(session), status=ConsentStatus.VOIDED, voided_at=now()
        ),
        {},
    ),
    "consent_superseded": (
        lambda client, session, r: changed(
            session,
            r.signed(session),
            status=ConsentStatus.SUPERSEDED,
            superseded_at=now() - timedelta(minutes=5),
        ),
        {},
    ),
    "category_not_covered": (
        lambda client, session, r: r.signed(session),
        {"categories": ["assessments"]},
    ),
    "purpose_not_covered": (
        lambda client, session, r: r.signed(session),
        {"purpose": "legal_matter"},
    ),
    "category_needs_psychotherapy_notes_authorization": (
        lambda client, session, r: r.signed(session),
        {"categories": ["psychotherapy_notes"]},
    ),
    "category_needs_part2_consent": (
        lambda client, session, r: r.signed(session),
        {"categories": ["sud_diagnosis"]},
    ),
    "restricted_by_agreement": (restricted, {}),
}


@pytest.mark.parametrize("code", sorted(REFUSALS))
def test_send_is_off_with_the_reason_beside_it_for_every_refusal(client, session, referral, code):
    arrange, changes = REFUSALS[code]
    login_as(client, referral.therapist.email, referral.therapist.password)
    arrange(client, session, referral)
    # the live check (what static/js/compose.js asks) says why, and what to put beside Send
    answer = check(client, referral, **changes).get_json()
    assert answer["decision"] == "deny"
    assert [r["code"].split(":")[0] for r in answer["reasons"]] == [code]
    reason = answer["reasons"][0]["message"]
    assert reason in answer["send_blocked"]
    assert escape(reason) in answer["html"]
    # without script, "Check and preview" renders the same: Send off, the reason beside it
    page = text(compose(client, referral, send=None, check="Check and preview", **changes))
    assert BLOCKED.search(page), code
    beside = re.search(
        r'<p class="send-blocked" id="send-blocked" data-send-blocked>(.*?)</p>', page
    )
    assert beside is not None
    assert escape(reason) in beside.group(1)
    assert stored(session) == []


def test_a_one_way_release_in_the_other_direction_turns_send_off(client, session, referral):
    # the psychiatrist writes back under a release that lets only the therapist share
    referral.signed(session, direction=Direction.ONE_WAY)
    login_as(client, referral.psychiatrist.email, referral.psychiatrist.password)
    therapist = session.scalar(
        select(Consent.discloser_provider_id).where(Consent.client_id == referral.client_id)
    )
    answer = check(client, referral, recipient_provider_id=str(therapist)).get_json()
    assert [r["code"] for r in answer["reasons"]] == ["direction_not_covered"]
    assert "one-way" in answer["send_blocked"]


def test_the_reason_beside_send_is_in_spanish(client, session, referral):
    consent = referral.signed(session)
    changed(session, consent, status=ConsentStatus.REVOKED, revoked_at=now())
    login_as(client, referral.therapist.email, referral.therapist.password)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    page = text(compose(client, referral, send=None, check="Check and preview"))
    assert BLOCKED.search(page)
    assert f"El cliente revocó el consentimiento n.º {consent.id}." in page
    assert "was revoked by the client" not in page
    # the API keeps the English sentence
    answer = check(client, referral).get_json()
    assert "revocó" in answer["send_blocked"]


def test_create_a_release_keeps_the_message_as_a_sealed_draft_to_continue_after_signing(
    client, session, referral
):
    login_as(client, referral.therapist.email, referral.therapist.password)
    kept = compose(client, referral, send=None, keep_draft="1")
    assert kept.status_code == 302
    assert f"/clients/{referral.client_id}/consents/new" in kept.headers["Location"]
    session.rollback()
    [draft] = session.scalars(select(MessageDraft))
    # sealed: the stored bytes do not hold the text
    assert b"Medication review" not in draft.subject_sealed
    assert b"Please review" not in draft.body_sealed
    # the release is signed; the draft waits on the client's page and on Messages
    referral.signed(session)
    for url in (f"/clinician/clients/{referral.client_id}", "/clinician/messages"):
        page = text(client.get(url))
        assert f"/clinician/messages/new?draft={draft.id}" in page, url
        assert "Continue your draft" in page
    resumed = text(client.get(f"{COMPOSE}?draft={draft.id}"))
    assert SUBJECT in resumed
    assert "Please review the plan below." in resumed
    # sending it ends the draft
    sent = compose(client, referral, url=f"{COMPOSE}?draft={draft.id}")
    assert sent.status_code == 302
    session.rollback()
    assert session.scalars(select(MessageDraft)).all() == []
    assert "Continue your draft" not in text(client.get("/clinician/messages"))


def test_a_draft_is_its_authors_only(client, session, referral):
    login_as(client, referral.therapist.email, referral.therapist.password)
    compose(client, referral, send=None, keep_draft="1")
    session.rollback()
    draft = session.scalar(select(MessageDraft.id))
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/clinician/"))})
    login_as(client, referral.psychiatrist.email, referral.psychiatrist.password)
    assert client.get(f"{COMPOSE}?draft={draft}").status_code == 404
    page = client.get("/clinician/messages")
    refused = client.post(
        f"/clinician/messages/drafts/{draft}/discard", data={"csrf_token": csrf_token(page)}
    )
    assert refused.status_code == 404


def test_the_recipient_of_a_release_not_yet_signed_is_not_shown_the_client(
    client, session, referral
):
    # Given a two-way release naming the psychiatrist, sent to the client and not yet signed
    waiting = referral.sent(session, direction=Direction.TWO_WAY)
    therapist_entry = session.scalar(
        select(Provider.id).where(Provider.user_id == referral.therapist.user.id)
    )
    login_as(client, referral.psychiatrist.email, referral.psychiatrist.password)
    back = {"recipient_provider_id": str(therapist_entry)}
    # When the psychiatrist opens compose about that client, or asks the gate about them
    page = client.get(f"{COMPOSE}?client_id={referral.client_id}")
    asked = check(client, referral, **back)
    # Then the client is not found, named nowhere: they have agreed to nothing yet (C7)
    assert page.status_code == 404
    assert asked.status_code == 404
    for answer in (page, asked):
        assert "Avery" not in answer.get_data(as_text=True)
        assert f"#{waiting.id}" not in answer.get_data(as_text=True)
    # And once the client has signed, the psychiatrist may write back about them
    session.rollback()
    signed = session.get(Consent, waiting.id)
    signed.status, signed.signed_at = ConsentStatus.ACTIVE, now()
    session.commit()
    assert "Avery" in client.get(f"{COMPOSE}?client_id={referral.client_id}").get_data(as_text=True)
    assert check(client, referral, **back).get_json()["decision"] == "permit"
