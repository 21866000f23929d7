"""The disclosure log as a compliance officer reads it: filters, pages, scope, reasons, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from roi.audit import Action, Outcome
from roi.audit.search import EntryFilter
from roi.clock import now
from roi.compliance import log, log_csv, verification
from roi.compliance.wording import reason_sentence
from roi.consent import lifecycle
from roi.errors import Forbidden, NotFound
from tests.compliance.conftest import attempt_denied, disclose, entries

DISCLOSURES = EntryFilter(actions=(Action.DISCLOSURE_PERMITTED,))


def seqs(page: log.LogPage) -> list[int]:
    return [row.entry.seq for row in page.rows]


def test_officer_sees_disclosures_with_names_and_consent(session, seeded, officer):
    # When the officer asks for disclosures
    page = log.log_page(session, officer.actor, DISCLOSURES)
    # Then both messages are listed newest first, with who sent what to whom under which consent
    assert [row.entry.message_id for row in page.rows] == [m.id for m in reversed(seeded.permitted)]
    first = page.rows[-1]
    assert first.client_name == "Jordan Avery"
    assert first.recipient_name == "Samuel Okafor"
    assert first.actor_name == "Dana Whitfield"
    assert first.entry.consent_id == seeded.consent_id
    assert first.entry.categories == ("diagnosis",)
    assert first.entry.purpose == "treatment"
    assert first.action_label == "Disclosure sent"
    assert page.next_before is None


def test_denied_disclosures_carry_their_reasons(session, seeded, officer):
    page = log.log_page(session, officer.actor, EntryFilter(actions=(Action.DISCLOSURE_DENIED,)))
    # Only our practice's blocked attempt: the other practice's is out of scope
    assert len(page.rows) == 1
    denied = page.rows[0].entry
    assert denied.outcome is Outcome.DENY
    assert denied.reasons == tuple(seeded.denied_reasons) == ("category_not_covered:assessments",)
    assert denied.message_id is None


@pytest.mark.parametrize(
    ("make_filter", "expected"),
    [
        (lambda s: EntryFilter(client_id=s.referral.client_id), "client"),
        (lambda s: EntryFilter(recipient_provider_id=s.referral.recipient_id), "recipient"),
        (lambda s: EntryFilter(actor_id=s.referral.psychiatrist.user.id), "psychiatrist"),
        (lambda s: EntryFilter(outcome=Outcome.DENY), "deny"),
        (
            lambda s: EntryFilter(actions=(Action.MESSAGE_READ, Action.DISCLOSURE_DENIED)),
            "read_or_denied",
        ),
    ],
)
def test_each_filter_narrows_to_exactly_its_entries(
    session, seeded, officer, make_filter, expected
):
    # Given every entry in the officer's scope, read straight from the table
    everything = log.log_page(session, officer.actor, EntryFilter(), limit=1000).rows
    in_scope = [row.entry for row in everything]
    r = seeded.referral
    want = {
        "client": [e for e in in_scope if e.client_id == r.client_id],
        "recipient": [e for e in in_scope if e.recipient_provider_id == r.recipient_id],
        "psychiatrist": [e for e in in_scope if e.actor_id == r.psychiatrist.user.id],
        "deny": [e for e in in_scope if e.outcome is Outcome.DENY],
        "read_or_denied": [
            e for e in in_scope if e.action in {Action.MESSAGE_READ, Action.DISCLOSURE_DENIED}
        ],
    }[expected]
    # When the filter is applied
    page = log.log_page(session, officer.actor, make_filter(seeded), limit=1000)
    # Then exactly those entries come back (and the filter did narrow something)
    assert seqs(page) == [e.seq for e in want]
    assert want
    assert len(want) < len(in_scope)


def test_psychiatrist_reading_our_clients_message_is_in_our_log(session, seeded, officer):
    # The reader belongs to another practice, but the client is ours
    page = log.log_page(session, officer.actor, EntryFilter(actions=(Action.MESSAGE_READ,)))
    assert len(page.rows) == 1
    read = page.rows[0]
    assert read.actor_name == "Samuel Okafor"
    assert read.entry.message_id == seeded.permitted[0].id


def test_date_range_is_inclusive_at_the_start_and_exclusive_at_the_end(session, referral, officer):
    referral.signed(session)
    start = (now() + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    sent = []
    for day in range(3):
        with time_machine.travel(start + timedelta(days=day), tick=False):
            sent.append(disclose(session, referral))
    at = [e.at for e in entries(session, Action.DISCLOSURE_PERMITTED)]
    # When the officer asks for the middle day only
    middle = EntryFilter(
        actions=(Action.DISCLOSURE_PERMITTED,), since=at[1], until=at[1] + timedelta(days=1)
    )
    page = log.log_page(session, officer.actor, middle)
    # Then the one sent on that day, at that very instant, is there and no other
    assert [row.entry.message_id for row in page.rows] == [sent[1].id]
    # And a range ending exactly at an entry leaves that entry out
    before_third = EntryFilter(actions=(Action.DISCLOSURE_PERMITTED,), until=at[2])
    assert [
        r.entry.message_id for r in log.log_page(session, officer.actor, before_third).rows
    ] == [
        sent[1].id,
        sent[0].id,
    ]


def test_pages_cover_every_entry_once_even_while_new_entries_arrive(session, referral, officer):
    # Given twelve disclosures
    referral.signed(session)
    for _ in range(12):
        disclose(session, referral)
    expected = [e.seq for e in reversed(entries(session, Action.DISCLOSURE_PERMITTED))]
    # When the officer pages through five at a time, while two more are sent mid-way
    seen: list[int] = []
    before = None
    pages = 0
    while True:
        page = log.log_page(session, officer.actor, DISCLOSURES, before=before, limit=5)
        seen += seqs(page)
        pages += 1
        if pages == 1:
            disclose(session, referral)
            disclose(session, referral)
        if page.next_before is None:
            break
        before = page.next_before
    # Then every entry that existed at the start appears exactly once, in order, in three pages
    assert seen == expected
    assert pages == 3
    assert len(set(seen)) == len(seen)


def test_an_exactly_full_last_page_says_it_is_the_last(session, referral, officer):
    referral.signed(session)
    for _ in range(4):
        disclose(session, referral)
    first = log.log_page(session, officer.actor, DISCLOSURES, limit=2)
    second = log.log_page(session, officer.actor, DISCLOSURES, before=first.next_before, limit=2)
    assert (len(first.rows), len(second.rows), second.next_before) == (2, 2, None)


def test_another_practices_entries_are_invisible(session, seeded, officer):
    # Given the other practice's entries (their client, their blocked attempt)
    page = log.log_page(session, officer.actor, EntryFilter(), limit=1000)
    visible = set(seqs(page))
    # Then none of them is in our log, nor found by filtering on their client
    assert visible.isdisjoint(seeded.foreign_seqs)
    foreign = EntryFilter(client_id=seeded.foreign_client_id)
    assert log.log_page(session, officer.actor, foreign).rows == []
    # And asking for one by seq is "not found", exactly as for a seq that does not exist
    for seq in [*seeded.foreign_seqs, 10**6, 2**70]:
        with pytest.raises(NotFound):
            log.log_entry(session, officer.actor, seq)


def test_the_other_officer_sees_their_practice_and_the_read_of_our_message(
    session, seeded, other_officer
):
    page = log.log_page(session, other_officer.actor, EntryFilter(), limit=1000)
    actions = {row.entry.action for row in page.rows}
    # Their own client and blocked attempt, and their psychiatrist's reading of our message
    assert set(seeded.foreign_seqs) <= set(seqs(page))
    assert Action.MESSAGE_READ in actions
    # But not our therapist's disclosures
    assert Action.DISCLOSURE_PERMITTED not in actions


def test_each_look_is_audited_with_filters_and_no_names(session, seeded, officer):
    # When the officer looks at the client's disclosures and then at one entry
    client_filter = EntryFilter(
        client_id=seeded.referral.client_id,
        actions=(Action.DISCLOSURE_PERMITTED,),
        since=datetime(2026, 1, 1, tzinfo=UTC),
    )
    page = log.log_page(session, officer.actor, client_filter)
    seq = page.rows[0].entry.seq
    log.log_entry(session, officer.actor, seq)
    # Then each look is an audit.viewed entry naming what was looked at
    views = entries(session, Action.AUDIT_VIEWED)
    assert [v.actor_id for v in views] == [officer.user.id, officer.user.id]
    assert views[0].client_id == seeded.referral.client_id
    assert views[0].detail == {
        "view": "disclosure_log",
        "client_id": seeded.referral.client_id,
        "actions": ["disclosure.permitted"],
        "since": "2026-01-01T00:00:00.000000Z",
        "rows": 2,
    }
    assert views[1].detail == {"view": "log_entry", "seq": seq}
    # And no name of a person is in them
    assert "Jordan" not in str([v.detail for v in views])


def test_a_refused_look_records_no_view(session, seeded, officer):
    before = len(entries(session, Action.AUDIT_VIEWED))
    with pytest.raises(NotFound):
        log.log_entry(session, officer.actor, seeded.foreign_seqs[0])
    assert len(entries(session, Action.AUDIT_VIEWED)) == before


def test_entry_detail_gives_reasons_consent_and_message_metadata(session, seeded, officer):
    r = seeded.referral
    denied_seq = entries(session, Action.DISCLOSURE_DENIED)[0].seq
    detail = log.log_entry(session, officer.actor, denied_seq, r.library)
    assert detail.reasons == [
        (
            "category_not_covered:assessments",
            "The release did not cover “Assessments and test results”.",
        )
    ]
    # a denial links the consent its reasons are about, and no message (none was stored)
    assert detail.consent is not None
    assert detail.consent.id == seeded.consent_id
    assert detail.message is None
    # A disclosure: its consent (ours, signed) and its message's metadata, never its text
    sent = entries(session, Action.DISCLOSURE_PERMITTED)[0]
    detail = log.log_entry(session, officer.actor, sent.seq, r.library)
    assert detail.organization_name == "Riverside Counseling"
    assert detail.consent is not None
    assert (detail.consent.id, detail.consent.visible, detail.consent.signed) == (
        seeded.consent_id,
        True,
        True,
    )
    assert detail.consent.status == "active"
    assert detail.consent.template_title
    message = detail.message
    assert message is not None
    assert message.id == seeded.permitted[0].id
    assert (message.sender_name, message.recipient_name) == ("Dana Whitfield", "Samuel Okafor")
    assert message.categories == ("diagnosis",)
    assert message.purpose == "treatment"
    assert message.scope_summary.startswith(f"Shared under consent #{seeded.consent_id}")
    assert "Diagnosis and current plan" not in repr(detail)
    assert "Referral summary" not in repr(detail)


def test_other_officer_sees_only_the_number_of_our_consent(session, seeded, other_officer):
    read = log.log_page(
        session, other_officer.actor, EntryFilter(actions=(Action.MESSAGE_READ,))
    ).rows[0]
    detail = log.log_entry(session, other_officer.actor, read.entry.seq)
    assert detail.consent == log.ConsentSummary(id=seeded.consent_id, visible=False)


def test_revoked_consent_reason_reads_as_a_sentence(session, referral, officer):
    # Given a consent the client revoked, and a send attempted after it
    consent = referral.signed(session)
    lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
    assert attempt_denied(session, referral) == ["consent_revoked"]
    denied = entries(session, Action.DISCLOSURE_DENIED)[-1]
    detail = log.log_entry(session, officer.actor, denied.seq)
    assert detail.reasons == [("consent_revoked", "The release had been revoked by the client.")]


@pytest.mark.parametrize(
    "code",
    [
        "no_consent",
        "recipient_not_covered",
        "direction_not_covered",
        "consent_revoked",
        "consent_expired",
        "consent_pending_signature",
        "consent_not_sent",
        "consent_voided",
        "consent_superseded",
        "purpose_not_covered",
        "categories_required",
        "purpose_required",
    ],
)
def test_every_gate_reason_has_its_own_sentence(code):
    sentence = reason_sentence(code)
    assert sentence.endswith(".")
    assert code not in sentence
    assert sentence != reason_sentence("something_else")


def test_category_reasons_name_the_category(library):
    assert reason_sentence("category_not_covered:medications", library) == (
        "The release did not cover “Medications and prescriptions”."
    )
    pn = reason_sentence(
        "category_needs_psychotherapy_notes_authorization:psychotherapy_notes", library
    )
    assert "psychotherapy-notes authorization" in pn
    part2 = reason_sentence("category_needs_part2_consent:sud_diagnosis", library)
    assert "Substance use diagnosis" in part2
    assert "42 CFR Part 2" in part2
    # Without the library, or for an unknown code, the code itself is shown, never dropped
    assert "medications" in reason_sentence("category_not_covered:medications")
    assert "mystery_code" in reason_sentence("mystery_code")


def test_only_compliance_reads_the_log(session, seeded):
    r = seeded.referral
    for person in (r.therapist, r.psychiatrist, r.client_person):
        with pytest.raises(Forbidden):
            log.log_page(session, person.actor, EntryFilter())
        with pytest.raises(Forbidden):
            log.log_entry(session, person.actor, 1)
        with pytest.raises(Forbidden):
            log_csv.export_csv(session, person.actor, EntryFilter())
        with pytest.raises(Forbidden):
            verification.verify_chain(session, person.actor)


def test_filter_choices_list_our_clients_staff_and_the_directory(session, seeded, officer):
    choices = log.filter_choices(session, officer.actor)
    assert [c.label for c in choices.clients] == ["Avery, Jordan", "Chen, Maya"]
    assert seeded.foreign_client_id not in {c.id for c in choices.clients}
    assert {"Dana Whitfield", "Priya Raman"} <= {s.label for s in choices.staff}
    assert "Samuel Okafor" not in {s.label for s in choices.staff}
    assert seeded.referral.recipient_id in {p.id for p in choices.providers}


def test_names_are_loaded_in_bulk_not_per_row(session, referral, officer, engine):
    from sqlalchemy import event

    referral.signed(session)
    for _ in range(3):
        disclose(session, referral)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def page_queries(limit: int) -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            log.log_page(session, officer.actor, DISCLOSURES, limit=limit)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    # One row or three, the same number of statements
    assert page_queries(1) == page_queries(3)


def test_newest_verification_is_remembered(session, seeded, officer):
    assert verification.last_verification(session, officer.actor) is None
    result = verification.verify_chain(session, officer.actor)
    assert result.ok
    last = verification.last_verification(session, officer.actor)
    assert last is not None
    assert (last.ok, last.entries, last.head_hash, last.first_bad_seq) == (
        True,
        result.entries,
        result.head_hash,
        None,
    )
    assert now() - last.at < timedelta(minutes=1)
    recorded = entries(session, Action.AUDIT_VERIFIED)
    assert len(recorded) == 1
    assert recorded[0].outcome is Outcome.SUCCESS
    assert recorded[0].detail == {
        "ok": True,
        "entries": result.entries,
        "head_hash": result.head_hash,
        "first_bad_seq": None,
    }


def test_verification_names_the_first_tampered_entry(session, seeded, officer, is_postgres):
    from tests.audit.helpers import tamper

    # Given an entry changed behind the application's back
    target = entries(session, Action.DISCLOSURE_PERMITTED)[0].seq
    tamper(session, is_postgres, f"UPDATE audit_entries SET client_id = 999 WHERE seq = {target}")
    # When the officer verifies the chain
    result = verification.verify_chain(session, officer.actor)
    # Then it is broken at that entry, and the failure is on record
    assert (result.ok, result.first_bad_seq, result.entries) == (False, target, target - 1)
    recorded = entries(session, Action.AUDIT_VERIFIED)[-1]
    assert recorded.outcome is Outcome.FAILURE
    assert recorded.detail["first_bad_seq"] == target
    last = verification.last_verification(session, officer.actor)
    assert last is not None
    assert (last.ok, last.first_bad_seq) == (False, target)


def test_seq_filter_helpers_refuse_nonsense_limits(session, officer):
    from roi.audit import search

    with pytest.raises(ValueError, match="limit"):
        search.page(session, EntryFilter(), limit=0)
    with pytest.raises(ValueError, match="limit"):
        search.page(session, EntryFilter(), limit=search.MAX_LIMIT + 1)
    assert search.by_seq(session, 0) is None
    assert search.by_seq(session, 2**64) is None


def test_pages_of_a_group_of_actions_cover_each_entry_once(session, seeded, officer):
    # Given the consent events group (several actions, each walked on its own and merged)
    group = EntryFilter(actions=log.GROUP_ACTIONS[log.ActionGroup.CONSENT_EVENTS])
    everything = seqs(log.log_page(session, officer.actor, group, limit=1000))
    assert len(everything) >= 3  # created, sent, signed
    # When it is read two at a time
    seen: list[int] = []
    before = None
    while True:
        page = log.log_page(session, officer.actor, group, before=before, limit=2)
        seen += seqs(page)
        if page.next_before is None:
            break
        before = page.next_before
    # Then each entry comes once, newest first
    assert seen == everything == sorted(everything, reverse=True)


def test_an_export_too_large_is_refused_and_not_recorded(session, seeded, officer, monkeypatch):
    from roi.errors import Invalid

    monkeypatch.setattr(log_csv, "MAX_EXPORT_ROWS", 2)
    with pytest.raises(Invalid, match="narrow"):
        log_csv.export_csv(session, officer.actor, EntryFilter())
    assert entries(session, Action.AUDIT_EXPORTED) == []
