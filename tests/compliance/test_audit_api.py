"""API v1 `GET /audit-events` and `POST /audit/verify`, exactly as CONTRACT.md writes them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from roi.audit import Action, AuditEntry
from roi.clock import iso, now
from roi.web.api import audit_views
from tests.audit.helpers import tamper
from tests.compliance.conftest import disclose, entries
from tests.helpers import api_token, bearer, csrf_token, login_as

EVENT_FIELDS = {
    "seq",
    "at",
    "action",
    "outcome",
    "actor_id",
    "client_id",
    "consent_id",
    "recipient_provider_id",
    "categories",
    "purpose",
    "reasons",
    "hash",
}

FAILED = "?action=auth.login_failed"
#: every column of a stored entry, to check what it holds
EVENT_COLUMNS = [column.key for column in AuditEntry.__table__.columns]


@pytest.fixture
def officer_token(client, officer) -> dict[str, str]:
    return bearer(api_token(client, officer.email, officer.password))


def events(client, headers, query: str = "") -> dict:
    response = client.get(f"/api/v1/audit-events{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_events_have_the_contract_shape(client, session, seeded, officer_token):
    body = events(client, officer_token, "?action=disclosure.permitted")
    assert set(body) == {"items", "next_page"}
    assert body["next_page"] is None
    items = body["items"]
    assert [set(item) for item in items] == [EVENT_FIELDS, EVENT_FIELDS]
    stored = entries(session, Action.DISCLOSURE_PERMITTED)[-1]
    assert items[0] == {
        "seq": stored.seq,
        "at": iso(stored.at),
        "action": "disclosure.permitted",
        "outcome": "permit",
        "actor_id": seeded.referral.therapist.user.id,
        "client_id": seeded.referral.client_id,
        "consent_id": seeded.consent_id,
        "recipient_provider_id": seeded.referral.recipient_id,
        "categories": ["medications"],
        "purpose": "treatment",
        "reasons": [],
        "hash": stored.hash,
    }
    assert items[0]["at"].endswith("Z")


def test_denials_carry_reason_codes(client, seeded, officer_token):
    items = events(client, officer_token, "?action=disclosure.denied&outcome=deny")["items"]
    assert [item["reasons"] for item in items] == [["category_not_covered:assessments"]]
    # the denial names the consent its reasons are about: the one that does not cover it
    assert items[0]["consent_id"] == seeded.consent_id


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ("client_id={client}", lambda e, s: e.client_id == s.referral.client_id),
        (
            "recipient_provider_id={recipient}",
            lambda e, s: e.recipient_provider_id == s.referral.recipient_id,
        ),
        ("action=message.read", lambda e, s: e.action == Action.MESSAGE_READ),
        ("outcome=deny", lambda e, s: e.outcome == "deny"),
    ],
)
def test_each_filter(client, session, seeded, officer, officer_token, query, keep):
    r = seeded.referral
    everything = events(client, officer_token)["items"]
    in_scope = {item["seq"] for item in everything}
    stored = {e.seq: e for e in entries(session)}
    want = [seq for seq in sorted(in_scope, reverse=True) if keep(stored[seq], seeded)]
    got = events(
        client, officer_token, "?" + query.format(client=r.client_id, recipient=r.recipient_id)
    )
    assert [item["seq"] for item in got["items"]] == want
    assert want
    assert len(want) < len(in_scope)


def test_since_and_until_take_dates_and_times(client, session, seeded, officer_token):
    # on a standing clock: nothing this test writes may fall on tomorrow
    with time_machine.travel(now(), tick=False):
        sent = entries(session, Action.DISCLOSURE_PERMITTED)
        first, second = sent[0], sent[1]
        # A time range from the first disclosure's instant up to (not including) the second's
        query = (
            "?action=disclosure.permitted"
            f"&since={first.at.isoformat()}&until={second.at.isoformat()}"
        )
        # (+ in an offset must be escaped in a query string)
        items = events(client, officer_token, query.replace("+", "%2B"))["items"]
        assert [item["seq"] for item in items] == [first.seq]
        # A date covers its whole day (both disclosures, unless midnight fell between them); "Z"
        # times are understood
        today = first.at.date().isoformat()
        day = events(
            client, officer_token, f"?action=disclosure.permitted&since={today}&until={today}"
        )
        that_day = [entry.seq for entry in sent if entry.at.date() == first.at.date()]
        assert sorted(item["seq"] for item in day["items"]) == that_day
        # and a day after today holds nothing yet
        later = (now() + timedelta(days=1)).date().isoformat()
        assert events(client, officer_token, f"?since={later}")["items"] == []
        z = events(
            client,
            officer_token,
            f"?action=disclosure.permitted&until={iso(first.at - timedelta(seconds=1))}",
        )
        assert z["items"] == []


def test_pages_walk_every_entry_once(
    client, session, referral, officer, officer_token, monkeypatch
):
    referral.signed(session)
    for _ in range(5):
        disclose(session, referral)
    expected = [e.seq for e in reversed(entries(session, Action.DISCLOSURE_PERMITTED))]
    monkeypatch.setattr(audit_views, "PAGE_SIZE", 2)
    seen: list[int] = []
    page = None
    cursors = []
    while True:
        query = "?action=disclosure.permitted" + (f"&page={page}" if page else "")
        body = events(client, officer_token, query)
        seen += [item["seq"] for item in body["items"]]
        page = body["next_page"]
        if page is None:
            break
        cursors.append(page)
        # Opaque: no seq or name in plain sight
        assert not page.isdigit()
    assert seen == expected
    assert len(cursors) == 2


def test_another_practices_events_are_absent(client, seeded, officer_token):
    seqs = {item["seq"] for item in events(client, officer_token)["items"]}
    assert seqs.isdisjoint(seeded.foreign_seqs)
    foreign = events(client, officer_token, f"?client_id={seeded.foreign_client_id}")
    assert foreign == {"items": [], "next_page": None}


def test_a_failed_sign_in_shows_in_its_practices_log_only(
    app, client, session, referral, officer, other_officer
):
    # Given a clinician of the officer's practice, and a stranger at the sign-in page
    therapist = referral.therapist
    stranger = app.test_client()
    typed_email = therapist.email.upper()
    # When the stranger tries the clinician's email with a wrong password, and an unknown email
    assert login_as(stranger, typed_email, "guessed-Password-1").status_code == 200
    assert login_as(stranger, "nobody@example.org", "guessed-Password-1").status_code == 200
    # Then the practice's compliance officer sees the one attempt at their clinician's account,
    # as not signed in, about that clinician
    own = events(client, bearer(api_token(client, officer.email, officer.password)), FAILED)
    assert [(item["actor_id"], item["outcome"]) for item in own["items"]] == [(None, "failure")]
    stored = {e.seq: e for e in entries(session, Action.AUTH_LOGIN_FAILED)}
    entry = stored[own["items"][0]["seq"]]
    assert (entry.actor_role, entry.subject_user_id) == ("anonymous", therapist.user.id)
    # And the entry holds neither what was typed as the email nor the password
    written = repr({column: getattr(entry, column) for column in EVENT_COLUMNS})
    assert typed_email.lower() not in written.lower()
    assert "guessed" not in written.lower()
    # And another practice's officer sees neither attempt; the unknown email is nobody's
    other = bearer(api_token(client, other_officer.email, other_officer.password))
    assert events(client, other, FAILED)["items"] == []
    unknown = [e for e in stored.values() if e.subject_user_id is None]
    assert [e.organization_id for e in unknown] == [None]


def test_api_reads_are_audited(client, session, seeded, officer, officer_token):
    events(client, officer_token, f"?client_id={seeded.referral.client_id}&outcome=permit")
    viewed = entries(session, Action.AUDIT_VIEWED)[-1]
    assert viewed.actor_id == officer.user.id
    assert viewed.detail["client_id"] == seeded.referral.client_id
    assert viewed.detail["outcome"] == "permit"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("action=disclosure.leaked", "action"),
        ("outcome=maybe", "outcome"),
        ("since=yesterday", "since"),
        ("until=2026-02-30", "until"),
        ("since=2026-05-02&until=2026-05-01", "until"),
        ("client_id=abc", "client_id"),
        ("client_id=0", "client_id"),
        ("client_id=99999999999999999999999", "client_id"),
        ("recipient_provider_id=-3", "recipient_provider_id"),
        ("page=garbage!", "page"),
        ("page=YmVmb3JlOjA", "page"),  # "before:0", well-formed but never handed out
        ("page=" + "x" * 65, "page"),
        ("clientid=5", "clientid"),
    ],
)
def test_bad_queries_are_422_naming_the_field(client, seeded, officer_token, query, field):
    response = client.get(f"/api/v1/audit-events?{query}", headers=officer_token)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid"
    assert field in body["fields"], body
    assert body["message"]


@pytest.mark.parametrize("who", ["therapist", "psychiatrist", "client_person"])
def test_only_compliance_may_call(client, session, seeded, who):
    person = getattr(seeded.referral, who)
    headers = bearer(api_token(client, person.email, person.password))
    for response in (
        client.get("/api/v1/audit-events", headers=headers),
        client.post("/api/v1/audit/verify", headers=headers),
    ):
        assert response.status_code == 403
        assert response.get_json()["error"] == "forbidden"
    assert entries(session, Action.AUDIT_VIEWED, Action.AUDIT_VERIFIED) == []


def test_no_token_is_401(client, seeded):
    assert client.get("/api/v1/audit-events").status_code == 401
    assert client.post("/api/v1/audit/verify").status_code == 401


def test_verify_answers_as_the_contract_says(client, session, seeded, officer_token, is_postgres):
    response = client.post("/api/v1/audit/verify", headers=officer_token)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"ok", "entries", "head_hash", "first_bad_seq"}
    stored = entries(session)
    assert body == {
        "ok": True,
        "entries": len(stored) - 1,
        "head_hash": stored[-2].hash,
        "first_bad_seq": None,
    }
    # After a row is changed behind the application's back
    target = entries(session, Action.MESSAGE_READ)[0].seq
    tamper(session, is_postgres, f"UPDATE audit_entries SET actor_id = 1 WHERE seq = {target}")
    broken = client.post("/api/v1/audit/verify", headers=officer_token).get_json()
    assert broken["ok"] is False
    assert broken["first_bad_seq"] == target
    assert broken["entries"] == target - 1
    assert entries(session, Action.AUDIT_VERIFIED)[-1].detail["ok"] is False


def test_routes_are_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "get" in spec["paths"]["/api/v1/audit-events"]
    assert "post" in spec["paths"]["/api/v1/audit/verify"]
    names = {p["name"] for p in spec["paths"]["/api/v1/audit-events"]["get"]["parameters"]}
    assert {"client_id", "action", "outcome", "since", "until", "page"} <= names


def test_a_password_reset_asked_for_an_account_shows_in_its_practices_log(
    app, client, session, referral, officer, other_officer
):
    # When someone asks for a reset link for a clinician of the officer's practice
    visitor = app.test_client()
    page = visitor.get("/password-reset")
    visitor.post(
        "/password-reset", data={"email": referral.therapist.email, "csrf_token": csrf_token(page)}
    )
    # Then that practice's officer sees it, and another practice's does not
    asked = "?action=auth.password_reset_requested"
    ours = api_token(client, officer.email, officer.password)
    theirs = api_token(client, other_officer.email, other_officer.password)
    mine = client.get(f"/api/v1/audit-events{asked}", headers=bearer(ours)).get_json()["items"]
    assert len(mine) == 1
    assert client.get(f"/api/v1/audit-events{asked}", headers=bearer(theirs)).get_json() == {
        "items": [],
        "next_page": None,
    }
