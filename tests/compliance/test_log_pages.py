"""The disclosure log pages, the CSV export and the verification page, as an officer uses them."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.compliance import disclosures, log, log_csv
from roi.compliance.spreadsheet import safe_cell
from tests.accounting.conftest import outside
from tests.audit.helpers import tamper
from tests.compliance.conftest import disclose, entries
from tests.factories import make_client, make_user
from tests.helpers import api_token, bearer, csrf_token, login_as, logout

NEXT_LINK = re.compile(r'href="([^"]*)"[^>]*>Older entries<')


def sign_in(client, person) -> None:
    assert login_as(client, person.email, person.password).status_code == 302


def text(response) -> str:
    return response.get_data(as_text=True)


def read_csv(response) -> list[dict[str, str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 byte-order mark"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_log_page_answers_who_received_what(client, seeded, officer):
    sign_in(client, officer)
    response = client.get("/compliance/log?group=disclosures")
    assert response.status_code == 200
    page = text(response)
    # Both disclosures, with the client, the recipient, the sender and the consent
    assert page.count("Disclosure sent") == 2
    assert "Jordan Avery" in page
    assert "Samuel Okafor" in page
    assert "Dana Whitfield" in page
    assert f"#{seeded.consent_id}" in page
    assert "Diagnosis and treatment summary" in page
    # But never the message's subject or body
    assert "Referral summary" not in page
    assert "Diagnosis and current plan" not in page
    # And nothing of the other practice
    assert "Ruth Ellison" not in page


def test_log_opens_on_disclosures_and_shows_staff_reading_it_only_when_asked(
    client, seeded, officer
):
    sign_in(client, officer)
    client.get("/compliance/log")  # an earlier look, recorded as the officer's own activity
    # When the officer opens the log without choosing anything
    page = text(client.get("/compliance/log"))
    # Then it lists disclosures, the sent and the blocked, each time in UTC and local time
    assert page.count("Disclosure sent") == 2
    assert "Disclosure blocked" in page
    assert "The release did not cover “Assessments and test results”." in page
    assert re.search(r"\d{2}:\d{2}:\d{2} UTC", page)
    # But not the officer's own looking at the log, nor sign-ins
    assert "Audit log viewed" not in page
    assert "Signed in" not in page
    # Until they ask for it
    asked = text(client.get("/compliance/log?group=log_activity"))
    assert "Audit log viewed" in asked
    assert "Disclosure sent" not in asked


def test_denied_attempts_show_their_reason_in_words(client, seeded, officer):
    sign_in(client, officer)
    page = text(client.get(f"/compliance/log?group=denied&client_id={seeded.referral.client_id}"))
    assert "Disclosure blocked" in page
    assert "The release did not cover “Assessments and test results”." in page
    assert "Disclosure sent" not in page


def test_filter_form_offers_names_but_sends_ids(client, seeded, officer):
    sign_in(client, officer)
    page = text(client.get("/compliance/log"))
    r = seeded.referral
    assert f'<option value="{r.client_id}">Avery, Jordan</option>' in page
    assert re.search(rf'<option value="{r.recipient_id}">Samuel Okafor \(', page)
    assert 'method="get"' in page
    # The client's name is never a parameter: only ids, codes and dates
    assert 'name="client_id"' in page
    assert 'name="q"' not in page


@pytest.mark.parametrize(
    "query",
    [
        "since=not-a-date",
        "until=2026-13-45",
        "since=2026-05-02&until=2026-05-01",
        "group=everything-please",
        "outcome=maybe",
        "client_id=abc",
        "before=abc",
        "before=0",
        "before=99999999999999999999999",
    ],
)
def test_bad_filters_are_explained_not_crashed_on(client, seeded, officer, query):
    sign_in(client, officer)
    response = client.get(f"/compliance/log?{query}")
    assert response.status_code == 422
    assert "Some filters could not be used" in text(response)
    csv_response = client.get(f"/compliance/log.csv?{query}")
    assert csv_response.status_code == 422
    assert csv_response.mimetype == "text/html"


def test_another_practices_client_cannot_be_chosen(client, seeded, officer):
    sign_in(client, officer)
    response = client.get(f"/compliance/log?client_id={seeded.foreign_client_id}")
    assert response.status_code == 422
    assert "Ruth" not in text(response)


def test_older_entries_link_walks_every_entry_once(client, session, referral, officer, monkeypatch):
    # Given seven disclosures and pages of three
    referral.signed(session)
    for _ in range(7):
        disclose(session, referral)
    expected = [e.seq for e in reversed(entries(session, Action.DISCLOSURE_PERMITTED))]
    monkeypatch.setattr(log, "PAGE_SIZE", 3)
    sign_in(client, officer)
    url = f"/compliance/log?group=disclosures&client_id={referral.client_id}"
    seen: list[int] = []
    pages = 0
    while url:
        page = text(client.get(url))
        seen += [int(s) for s in re.findall(r'href="/compliance/log/(\d+)"', page)]
        pages += 1
        found = NEXT_LINK.search(page)
        url = found.group(1).replace("&amp;", "&") if found else ""
        if url:
            # The link keeps the filters and adds the cursor: ids, codes and numbers only
            query = parse_qs(urlsplit(url).query)
            assert query["group"] == ["disclosures"]
            assert query["client_id"] == [str(referral.client_id)]
            assert set(query) == {"group", "client_id", "before"}
    assert seen == expected
    assert pages == 3
    assert "That is the oldest matching entry." in page


def test_entry_page_shows_every_field_and_message_metadata(client, session, seeded, officer):
    sign_in(client, officer)
    sent = entries(session, Action.DISCLOSURE_PERMITTED)[0]
    response = client.get(f"/compliance/log/{sent.seq}")
    assert response.status_code == 200
    page = text(response)
    for value in (
        f"Entry #{sent.seq}",
        "disclosure.permitted",
        sent.hash,
        sent.prev_hash,
        sent.request_id or "—",
        "Riverside Counseling",
        "Jordan Avery",
        "Samuel Okafor",
        f"Message #{seeded.permitted[0].id}",
        f"Shared under consent #{seeded.consent_id}",
    ):
        assert value in page, value
    assert "Referral summary" not in page
    assert "Diagnosis and current plan" not in page
    # Roles and statuses in words, not codes
    assert "as Clinician" in page
    assert "as clinician" not in page
    assert "Active" in page
    # The consent link opens the signed release for the officer
    link = f"/portal/consents/{seeded.consent_id}/document.pdf"
    assert link in page
    pdf = client.get(link)
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"


def test_entry_of_another_practice_is_not_found(client, seeded, officer):
    sign_in(client, officer)
    foreign = client.get(f"/compliance/log/{seeded.foreign_seqs[0]}")
    missing = client.get("/compliance/log/99999999")
    huge = client.get("/compliance/log/99999999999999999999999")
    assert foreign.status_code == missing.status_code == huge.status_code == 404
    assert "Ruth" not in text(foreign)
    strip = lambda r: re.sub(r'value="[^"]+"', "", text(r))  # noqa: E731
    assert strip(foreign) == strip(missing)


def test_viewing_the_log_is_audited(client, session, seeded, officer):
    sign_in(client, officer)
    client.get(f"/compliance/log?group=denied&client_id={seeded.referral.client_id}")
    viewed = entries(session, Action.AUDIT_VIEWED)[-1]
    assert viewed.actor_id == officer.user.id
    assert viewed.ip == "127.0.0.1"
    assert viewed.client_id == seeded.referral.client_id
    assert viewed.detail == {
        "view": "disclosure_log",
        "client_id": seeded.referral.client_id,
        "actions": ["disclosure.denied", "disclosure.emergency_rate_exceeded"],
        "rows": 1,
    }


def test_csv_export_has_the_filtered_log_and_is_audited(client, session, seeded, officer):
    sign_in(client, officer)
    response = client.get(f"/compliance/log.csv?group=all&client_id={seeded.referral.client_id}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.mimetype_params["charset"] == "utf-8"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="disclosure-log-\d{8}-\d{6}\.csv"', disposition)
    rows = read_csv(response)
    # The header row, then every entry about the client, newest first (not just one page)
    assert list(rows[0]) == list(log_csv.CSV_HEADER)
    expected = [
        e
        for e in reversed(entries(session))
        if e.client_id == seeded.referral.client_id and e.action != Action.AUDIT_EXPORTED
    ]
    assert [int(r["seq"]) for r in rows] == [e.seq for e in expected]
    sent = next(r for r in rows if r["action"] == "disclosure.permitted")
    assert sent["client_name"] == "Jordan Avery"
    assert sent["recipient_name"] == "Samuel Okafor"
    assert sent["actor_name"] == "Dana Whitfield"
    assert sent["consent_id"] == str(seeded.consent_id)
    assert sent["outcome"] == "permit"
    assert sent["hash"] == next(e.hash for e in expected if e.seq == int(sent["seq"]))
    denied = next(r for r in rows if r["action"] == "disclosure.denied")
    assert denied["reasons"] == "category_not_covered:assessments"
    assert "Assessments and test results" in denied["reason_text"]
    assert "Ellison" not in response.get_data(as_text=True)
    # And the export is on record, with its size and filters
    exported = entries(session, Action.AUDIT_EXPORTED)
    assert len(exported) == 1
    assert exported[0].actor_id == officer.user.id
    assert exported[0].detail == {
        "format": "csv",
        "rows": len(rows),
        "client_id": seeded.referral.client_id,
    }


def test_csv_cells_cannot_run_as_formulas(client, session, referral, officer):
    # Given names chosen to attack a spreadsheet, or a terminal
    make_client(
        session, referral.therapist, given_name='=HYPERLINK("http://x.example")', family_name="A"
    )
    make_client(session, referral.therapist, given_name="-2+3", family_name="B")
    make_client(session, referral.therapist, given_name="Eve\x1b[31m", family_name="C\nD")
    attacker = make_user(session, Role.CLINICIAN, name="@SUM(A1:A9)")
    make_client(session, attacker, given_name="Plain", family_name="Name")
    sign_in(client, officer)
    rows = read_csv(client.get("/compliance/log.csv?group=all"))
    names = {r["client_name"] for r in rows} | {r["actor_name"] for r in rows}
    # Then each dangerous cell starts with an apostrophe, and control characters are escapes
    assert '\'=HYPERLINK("http://x.example") A' in names
    assert "'-2+3 B" in names
    assert "'@SUM(A1:A9)" in names
    assert "Eve\\x1b[31m C\\nD" in names
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\\tx"),
        ("\rx", "'\\rx"),
        ("a=b", "a=b"),
        (None, ""),
        (42, "42"),
    ],
)
def test_safe_cell(value, cell):
    assert safe_cell(value) == cell


def test_verify_page_runs_and_shows_the_result(client, session, seeded, officer, is_postgres):
    sign_in(client, officer)
    # Given no verification yet
    page = client.get("/compliance/verify")
    assert page.status_code == 200
    assert "has not been verified here yet" in text(page)
    # When the officer runs one
    token = csrf_token(page)
    response = client.post("/compliance/verify", data={"csrf_token": token})
    assert response.status_code == 200
    assert "The audit log is intact" in text(response)
    count = len(entries(session)) - 1  # the verification's own entry came after
    assert f"<dd>{count:,}</dd>" in text(response)
    # Then the next visit shows it as the last verification
    assert "Last verification" in text(client.get("/compliance/verify"))
    # And after tampering the page names the first bad entry
    target = entries(session, Action.DISCLOSURE_DENIED)[0].seq
    tamper(session, is_postgres, f"UPDATE audit_entries SET purpose = 'x' WHERE seq = {target}")
    broken = client.post("/compliance/verify", data={"csrf_token": token})
    assert "The audit log has been altered" in text(broken)
    assert f"<dd>#{target}</dd>" in text(broken)


def test_verify_needs_the_csrf_token(client, session, seeded, officer):
    sign_in(client, officer)
    assert client.post("/compliance/verify").status_code == 400
    assert entries(session, Action.AUDIT_VERIFIED) == []


@pytest.mark.parametrize("who", ["therapist", "psychiatrist", "client_person"])
def test_clinicians_and_clients_are_refused(client, session, seeded, who):
    sign_in(client, getattr(seeded.referral, who))
    for url in (
        "/compliance/log",
        "/compliance/log?group=disclosures",
        f"/compliance/log/{entries(session)[-1].seq}",
        "/compliance/log.csv",
        "/compliance/verify",
    ):
        assert client.get(url).status_code == 403, url
    token = csrf_token(client.get("/account/password"))
    assert client.post("/compliance/verify", data={"csrf_token": token}).status_code == 403
    looks = (Action.AUDIT_VIEWED, Action.AUDIT_EXPORTED, Action.AUDIT_VERIFIED)
    assert entries(session, *looks) == []


def test_a_probe_of_another_practices_client_does_not_name_them_in_the_log(
    client, session, seeded, officer, other_officer
):
    # Given the officer probes a client of the other practice by id, and is told 404
    headers = bearer(api_token(client, officer.email, officer.password))
    probed = f"/api/v1/clients/{seeded.foreign_client_id}/accounting-of-disclosures"
    assert client.get(probed, headers=headers).status_code == 404
    session.rollback()
    probe = session.scalar(select(func.max(AuditEntry.seq)))
    # When they read their log, its CSV, the entry and its FHIR AuditEvent
    fhir = client.get(f"/api/v1/audit-events/{probe}/fhir", headers=headers).get_data(as_text=True)
    login_as(client, officer.email, officer.password)
    shown = {
        "log": client.get("/compliance/log?group=all").get_data(as_text=True),
        "csv": client.get("/compliance/log.csv?group=all").get_data(as_text=True),
        "entry": client.get(f"/compliance/log/{probe}").get_data(as_text=True),
        "fhir": fhir,
    }
    # Then the client the 404 hid is named nowhere (the entry is there, by number)
    assert {where: "Ellison" in text for where, text in shown.items()} == dict.fromkeys(
        shown, False
    )
    assert str(seeded.foreign_client_id) in shown["entry"]
    # And their own practice's officer still reads their own client's name
    logout(client)
    login_as(client, other_officer.email, other_officer.password)
    assert "Ellison" in client.get("/compliance/log?group=all").get_data(as_text=True)


def test_disclosures_made_outside_roi_are_among_the_disclosures(client, session, seeded, officer):
    # Given a subpoena answered by mail, recorded by compliance
    disclosures.record(session, officer.actor, outside(seeded.referral))
    # When the officer filters the log to disclosures made
    sign_in(client, officer)
    page = text(client.get("/compliance/log?group=disclosures"))
    # Then it is there beside those sent under the release
    assert "Disclosure made outside roi recorded" in page
    assert "Disclosure sent" in page
