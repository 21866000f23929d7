"""Sending and reading messages: a disclosure happens only through the gate (roi issue 5).

Covers SECURITY E5 (a revocation takes effect at once), E6 (minimum necessary), G1 (one audit
entry per decision, with every field an auditor needs) and G3 (the message and its audit entry
commit together or not at all). Consents come from the real lifecycle (`referral` fixture).
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from roi import audit
from roi.accounts import sessions
from roi.accounts.errors import InvalidCredentials
from roi.accounts.models import Provider, User
from roi.actor import Actor, Role
from roi.audit import AuditEntry, AuditHead
from roi.audit.schema import HEAD_ID
from roi.clock import now
from roi.config import Settings
from roi.consent import lifecycle
from roi.consent.models import Consent, ConsentStatus, Direction, Notification, expiry_instant
from roi.errors import ConsentRequired, Forbidden, Invalid, NotFound
from roi.messaging import service
from roi.messaging.models import Attachment, Message
from roi.messaging.service import NewAttachment, Outgoing
from tests.conftest import TEST_ARGON2
from tests.consent.conftest import Referral
from tests.factories import Person, make_provider, make_user

PDF = b"%PDF-1.7\n" + b"1 0 obj << >> endobj\n" * 20
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256))
TEXT = "Plain notes for the file ✓\n".encode()
PART2_DESCRIPTION = "Diagnosis and medication for opioid use disorder since 2025."


def outgoing(referral: Referral, **changes: object) -> Outgoing:
    base = Outgoing(
        client_id=referral.client_id,
        recipient_provider_id=referral.recipient_id,
        categories=("diagnosis",),
        purpose="treatment",
        subject="Referral for a medication review",
        body="Working diagnosis: recurrent depression. Please review the sertraline dose.",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def send(session: Session, referral: Referral, actor: Actor | None = None, **changes: object):
    return service.send(
        session, actor or referral.therapist.actor, referral.library, outgoing(referral, **changes)
    )


def provider_of(session: Session, person: Person) -> Provider:
    provider = session.scalar(select(Provider).where(Provider.user_id == person.user.id))
    assert provider is not None
    return provider


def entries(session: Session, action: str) -> list[AuditEntry]:
    session.rollback()
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        )
    )


def count(session: Session, model: type) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model)) or 0


def raw_sealed(session: Session, sql: str, **params: object) -> bytes:
    """Every sealed column of a row, as the database holds it."""
    session.rollback()
    row = session.execute(text(sql), params).one()
    return b"".join(bytes(value) for value in row)


# --- permit and deny --------------------------------------------------------------------------


def test_a_permitted_send_stores_the_message_sealed_and_audits_it(session, referral):
    # Given an active consent therapist → psychiatrist
    consent = referral.signed(session)
    sentinel = "SENTINEL-" + secrets.token_hex(16)
    # When the therapist sends a message carrying a sentinel in subject and body
    message = send(session, referral, subject=f"Subject {sentinel}", body=f"Body {sentinel}")
    # Then the message exists, under that consent, from the therapist to the psychiatrist
    session.rollback()
    stored = session.get(Message, message.id)
    assert stored is not None
    assert stored.consent_id == consent.id
    assert stored.client_id == referral.client_id
    assert stored.sender_user_id == referral.therapist.user.id
    assert stored.sender_provider_id == provider_of(session, referral.therapist).id
    assert stored.recipient_provider_id == referral.recipient_id
    assert stored.categories == ["diagnosis"]
    assert stored.purpose == "treatment"
    assert stored.sent_at.utcoffset() == timedelta(0)
    assert stored.read_at is None
    # And subject and body are sealed at rest: the raw columns do not hold the text
    raw = raw_sealed(
        session, "SELECT subject_sealed, body_sealed FROM messages WHERE id = :id", id=message.id
    )
    assert sentinel.encode() not in raw
    assert b"Subject" not in raw
    # And exactly one disclosure.permitted entry names the consent and the message
    [permitted] = entries(session, "disclosure.permitted")
    assert permitted.outcome == "permit"
    assert permitted.consent_id == consent.id
    assert permitted.message_id == message.id
    assert permitted.client_id == referral.client_id
    assert permitted.recipient_provider_id == referral.recipient_id
    assert permitted.categories == ["diagnosis"]
    assert permitted.purpose == "treatment"
    assert permitted.actor_id == referral.therapist.user.id
    assert entries(session, "disclosure.denied") == []
    # And the free text is nowhere in the audit entry
    assert sentinel not in repr(
        {c.name: getattr(permitted, c.name) for c in AuditEntry.__table__.c}
    )
    assert audit.verify(session).ok


def test_the_recipient_is_notified_without_health_information(session, referral):
    referral.signed(session)
    send(session, referral, subject="About Jordan's depression")
    session.rollback()
    notices = session.scalars(
        select(Notification.text).where(Notification.user_id == referral.psychiatrist.user.id)
    ).all()
    assert "New message from Dana Whitfield." in notices
    # the message's notice says nothing of what it is about (the release's own notice names the
    # client the psychiatrist shares: they know people, not numbers)
    about_message = [notice for notice in notices if "release" not in notice]
    assert about_message == ["New message from Dana Whitfield."]
    assert not any("depression" in notice for notice in notices)


@pytest.mark.parametrize(
    ("situation", "reason"),
    [
        ("no consent", "no_consent"),
        ("pending", "consent_pending_signature"),
        ("revoked", "consent_revoked"),
        ("expired by event", "consent_expired"),
        ("category outside the scope", "category_not_covered:hiv"),
        ("purpose outside the scope", "purpose_not_covered"),
    ],
)
def test_a_denied_send_stores_nothing_and_records_the_reasons(session, referral, situation, reason):
    # Given a consent in the situation
    changes: dict[str, object] = {}
    if situation == "pending":
        referral.sent(session)
    elif situation == "revoked":
        consent = referral.signed(session)
        lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
    elif situation == "expired by event":
        consent = referral.signed(session, expires_on=None, expiry_event="the end of treatment")
        lifecycle.record_expiry_event(session, referral.therapist.actor, consent.id, now().date())
    elif situation == "category outside the scope":
        referral.signed(session)
        changes["categories"] = ("diagnosis", "hiv")
    elif situation == "purpose outside the scope":
        referral.signed(session)
        changes["purpose"] = "legal_matter"
    # When the therapist sends
    with pytest.raises(ConsentRequired) as refused:
        send(session, referral, **changes)
    # Then the sender is told why, as a 403 with each reason's code and sentence
    assert refused.value.http_status == 403
    assert reason in [r["code"] for r in refused.value.reasons]
    assert all(r["message"] for r in refused.value.reasons)
    # And no message, attachment or notice was stored
    assert count(session, Message) == 0
    assert count(session, Attachment) == 0
    assert (
        session.scalars(select(Notification).where(Notification.text.like("New message%"))).all()
        == []
    )
    # And the denial is in the audit log with its reason codes, and nothing was permitted
    [denied] = entries(session, "disclosure.denied")
    assert denied.outcome == "deny"
    assert reason in (denied.reasons or [])
    assert denied.message_id is None
    assert denied.client_id == referral.client_id
    assert denied.recipient_provider_id == referral.recipient_id
    assert denied.actor_id == referral.therapist.user.id
    sent = outgoing(referral, **changes)
    assert denied.categories == sorted(sent.categories)
    assert denied.purpose == sent.purpose
    assert entries(session, "disclosure.permitted") == []
    assert audit.verify(session).ok


def test_only_a_clinician_sends(session, referral):
    referral.signed(session)
    compliance = make_user(session, Role.COMPLIANCE, name="Priya Raman")
    for actor in (referral.client_person.actor, compliance.actor):
        with pytest.raises(Forbidden):
            send(session, referral, actor=actor)
    assert count(session, Message) == 0


def test_a_clinician_with_no_tie_to_the_client_is_not_told_it_exists(session, referral):
    referral.signed(session)
    stranger = make_user(session, Role.CLINICIAN, org="Harbor Behavioral Health")
    with pytest.raises(NotFound):
        send(session, referral, actor=stranger.actor)
    assert count(session, Message) == 0


# --- what travels with a message --------------------------------------------------------------


def test_every_message_carries_its_consent_and_a_one_line_scope(session, referral):
    consent = referral.signed(session)
    message = send(session, referral)
    session.rollback()
    stored = session.get(Message, message.id)
    assert stored is not None
    assert f"#{consent.id}" in stored.scope_summary
    assert "\n" not in stored.scope_summary
    assert "Diagnosis and treatment summary" in stored.scope_summary
    assert consent.expires_on is not None
    assert consent.expires_on.isoformat() in stored.scope_summary
    # a general authorization carries no Part 2 notice
    assert stored.part2_notice is None
    # and the recipient sees both when opening it
    opened = service.open_message(session, referral.psychiatrist.actor, message.id)
    assert opened.message.scope_summary == stored.scope_summary


def test_a_message_with_substance_use_records_carries_the_part2_notice(session, referral):
    # Given a Part 2 consent for SUD diagnosis and medications
    consent = referral.signed(
        session,
        template_id="part2-consent",
        categories=("sud_diagnosis", "sud_medications"),
        purposes=("treatment",),
        information_description=PART2_DESCRIPTION,
    )
    # When SUD records are sent under it
    message = send(session, referral, categories=("sud_diagnosis", "sud_medications"))
    session.rollback()
    stored = session.get(Message, message.id)
    assert stored is not None
    assert stored.consent_id == consent.id
    # Then the message carries the 42 CFR 2.32 notice, word for word from the form
    notice = stored.part2_notice
    assert notice is not None
    assert "protected by Federal confidentiality rules (42 CFR" in notice
    assert "A general authorization for the release of medical or other information is NOT" in (
        notice
    )
    assert "{" not in notice  # every placeholder filled
    # And the scope of the consent it went under
    assert f"#{consent.id}" in stored.scope_summary
    assert "Permission to share your substance use treatment records" in stored.scope_summary
    opened = service.open_message(session, referral.psychiatrist.actor, message.id)
    assert opened.message.part2_notice == notice


@pytest.mark.parametrize("kind", ["general", "part2"])
def test_the_scope_line_describes_the_whole_consent_not_just_this_message(session, referral, kind):
    # 42 CFR 2.32(b) and DESIGN.md: a message carries "the scope of the consent it was sent
    # under", so the recipient knows what else the consent allows, and for what
    changes: dict[str, object] = {}
    covered = ("diagnosis", "medications")
    if kind == "part2":
        covered = ("sud_diagnosis", "sud_medications")
        changes = {"template_id": "part2-consent", "information_description": PART2_DESCRIPTION}
    template = referral.library.get(str(changes.get("template_id", "general-authorization")))
    consent = referral.signed(
        session, categories=covered, purposes=("treatment", "care_coordination"), **changes
    )
    # When a message carries only the first category, for one of the two purposes
    message = send(session, referral, categories=covered[:1])
    session.rollback()
    summary = session.get(Message, message.id).scope_summary
    # Then its scope line still names everything the consent covers
    assert f"#{consent.id}" in summary
    for code in covered:
        assert template.category(code).label in summary, summary
    for purpose in ("treatment", "care_coordination"):
        assert template.purpose(purpose).label.lower() in summary.lower(), summary


# --- attachments ------------------------------------------------------------------------------


def test_attachments_go_sealed_and_come_back_intact(session, referral):
    referral.signed(session)
    sentinel = secrets.token_hex(16).encode()
    files = (
        NewAttachment("letter.pdf", "application/pdf", PDF + sentinel),
        NewAttachment("chart.png", "image/png", PNG + sentinel),
        NewAttachment("scan.jpg", "image/jpeg", JPEG + sentinel),
        NewAttachment(f"notes-{sentinel.decode()}.txt", "text/plain", TEXT + sentinel),
    )
    message = send(session, referral, attachments=files)
    # Then each is stored with its type, size and digest, sealed at rest
    session.rollback()
    stored = session.scalars(
        select(Attachment).where(Attachment.message_id == message.id).order_by(Attachment.id)
    ).all()
    assert [(a.content_type, a.size) for a in stored] == [
        (f.content_type, len(f.content)) for f in files
    ]
    assert [a.sha256 for a in stored] == [hashlib.sha256(f.content).hexdigest() for f in files]
    for attachment in stored:
        raw = raw_sealed(
            session,
            "SELECT filename_sealed, content_sealed FROM message_attachments WHERE id = :id",
            id=attachment.id,
        )
        assert sentinel not in raw
        assert b"notes-" not in raw
    # And the recipient opens each one back byte for byte; each opening is audited
    opened = service.open_message(session, referral.psychiatrist.actor, message.id)
    assert [a.filename for a in opened.attachments] == [f.filename for f in files]
    reads_before = len(entries(session, "message.read"))
    for item, original in zip(opened.attachments, files, strict=True):
        info, content = service.attachment_content(
            session, referral.psychiatrist.actor, message.id, item.id
        )
        assert content == original.content
        assert (info.filename, info.content_type, info.size) == (
            original.filename,
            original.content_type,
            len(original.content),
        )
    reads = entries(session, "message.read")[reads_before:]
    assert [r.detail for r in reads] == [{"attachment_id": a.id} for a in opened.attachments]
    # And the sender can open them too
    _, again = service.attachment_content(
        session, referral.therapist.actor, message.id, opened.attachments[0].id
    )
    assert again == files[0].content


def test_attachments_up_to_the_limits_are_accepted(session, referral):
    referral.signed(session)
    largest = PDF + b"0" * (service.MAX_ATTACHMENT_BYTES - len(PDF))
    files = (NewAttachment("big.pdf", "application/pdf", largest),) + tuple(
        NewAttachment(f"page{n}.png", "image/png", PNG) for n in range(service.MAX_ATTACHMENTS - 1)
    )
    message = send(session, referral, attachments=files)
    session.rollback()
    assert count(session, Attachment) == service.MAX_ATTACHMENTS
    _, content = service.attachment_content(
        session,
        referral.psychiatrist.actor,
        message.id,
        session.get(Message, message.id).attachments[0].id,
    )
    assert content == largest


@pytest.mark.parametrize(
    ("files", "complaint"),
    [
        ((NewAttachment("a.zip", "application/zip", b"PK\x03\x04zip"),), "PDF, PNG, JPEG"),
        ((NewAttachment("a.html", "text/html", b"<script>"),), "PDF, PNG, JPEG"),
        ((NewAttachment("fake.pdf", "application/pdf", PNG),), "not the application/pdf"),
        ((NewAttachment("fake.png", "image/png", PDF),), "not the image/png"),
        ((NewAttachment("fake.jpg", "image/jpeg", TEXT),), "not the image/jpeg"),
        ((NewAttachment("bin.txt", "text/plain", b"\xff\xfe\x00binary"),), "UTF-8"),
        ((NewAttachment("nul.txt", "text/plain", b"a\x00b"),), "UTF-8"),
        ((NewAttachment("empty.pdf", "application/pdf", b""),), "empty"),
        (
            (
                NewAttachment(
                    "huge.pdf",
                    "application/pdf",
                    PDF + b"0" * (service.MAX_ATTACHMENT_BYTES - len(PDF) + 1),
                ),
            ),
            "5 MB",
        ),
        (
            tuple(NewAttachment(f"p{n}.png", "image/png", PNG) for n in range(6)),
            "at most 5",
        ),
        (
            tuple(
                NewAttachment(f"part{n}.pdf", "application/pdf", PDF + b"0" * (4 * 1024 * 1024))
                for n in range(3)
            ),
            "in all",
        ),
        ((NewAttachment("../../etc/passwd", "text/plain", TEXT),), "plain name"),
        ((NewAttachment("a\\b.txt", "text/plain", TEXT),), "plain name"),
        ((NewAttachment("  ", "text/plain", TEXT),), "plain name"),
        ((NewAttachment("x" * 201 + ".txt", "text/plain", TEXT),), "plain name"),
    ],
    ids=[
        "zip",
        "html",
        "png-as-pdf",
        "pdf-as-png",
        "text-as-jpeg",
        "binary-as-text",
        "nul-in-text",
        "empty",
        "over-5-MB",
        "six-files",
        "over-10-MB-in-all",
        "path",
        "backslash",
        "blank-name",
        "long-name",
    ],
)
def test_unacceptable_attachments_are_refused(session, referral, files, complaint):
    referral.signed(session)
    with pytest.raises(Invalid) as refused:
        send(session, referral, attachments=files)
    assert refused.value.http_status == 422
    assert complaint in refused.value.fields["attachments"]
    assert count(session, Message) == 0
    assert count(session, Attachment) == 0
    assert entries(session, "disclosure.permitted") == []


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"subject": "   "}, "subject"),
        ({"subject": "two\nlines"}, "subject"),
        ({"subject": "x" * (service.MAX_SUBJECT + 1)}, "subject"),
        ({"body": ""}, "body"),
        ({"body": " \n\t "}, "body"),
        ({"body": "x" * (service.MAX_BODY + 1)}, "body"),
        ({"body": "a\x00b"}, "body"),
        ({"subject": "a\x00b"}, "subject"),
        ({"categories": ()}, "categories"),
        ({"categories": ("diagnosis", "astrology")}, "categories"),
        ({"purpose": ""}, "purpose"),
        ({"purpose": "curiosity"}, "purpose"),
    ],
    ids=[
        "empty-subject",
        "blank-subject",
        "two-line-subject",
        "long-subject",
        "empty-body",
        "blank-body",
        "long-body",
        "nul-in-body",
        "nul-in-subject",
        "no-category",
        "unknown-category",
        "no-purpose",
        "unknown-purpose",
    ],
)
def test_invalid_messages_are_refused_field_by_field(session, referral, changes, field):
    referral.signed(session)
    with pytest.raises(Invalid) as refused:
        send(session, referral, **changes)
    assert refused.value.http_status == 422
    assert field in refused.value.fields
    assert refused.value.fields[field]
    # nothing is stored, and no disclosure was decided
    assert count(session, Message) == 0
    assert entries(session, "disclosure.permitted") == []
    assert entries(session, "disclosure.denied") == []


def test_every_invalid_field_is_named_at_once(session, referral):
    with pytest.raises(Invalid) as refused:
        send(session, referral, subject="", body="", categories=(), purpose="")
    assert set(refused.value.fields) == {"subject", "body", "categories", "purpose"}


def test_a_recipient_without_an_account_is_refused(session, referral):
    referral.signed(session)
    family_doctor = make_provider(session, referral.therapist, name="Helen Brooks")
    assert family_doctor.user_id is None
    with pytest.raises(Invalid) as refused:
        send(session, referral, recipient_provider_id=family_doctor.id)
    assert refused.value.http_status == 422
    assert "Helen Brooks has no roi account" in refused.value.fields["recipient_provider_id"]
    assert count(session, Message) == 0
    assert entries(session, "disclosure.denied") == []


def test_sending_to_yourself_is_refused(session, referral):
    referral.signed(session)
    own = provider_of(session, referral.therapist)
    with pytest.raises(Invalid) as refused:
        send(session, referral, recipient_provider_id=own.id)
    assert "other than yourself" in refused.value.fields["recipient_provider_id"]
    assert count(session, Message) == 0


def test_an_unknown_recipient_is_refused(session, referral):
    referral.signed(session)
    with pytest.raises(Invalid) as refused:
        send(session, referral, recipient_provider_id=987654)
    assert "recipient_provider_id" in refused.value.fields


# --- check() ----------------------------------------------------------------------------------


def test_check_is_audited_and_discloses_nothing(session, referral):
    consent = referral.signed(session)
    request = outgoing(referral).request()
    # When the therapist checks a disclosure the consent covers
    decision = service.check(session, referral.therapist.actor, referral.library, request)
    assert decision.permitted
    assert decision.consent_id == consent.id
    # And one it does not
    wider = replace(request, categories=("diagnosis", "genetic"))
    refused = service.check(session, referral.therapist.actor, referral.library, wider)
    assert refused.reason_codes == ["category_not_covered:genetic"]
    # Then both checks are audited as decision.checked, and nothing was disclosed
    permit, deny = entries(session, "decision.checked")
    assert (permit.outcome, permit.consent_id, permit.reasons) == ("permit", consent.id, [])
    assert (deny.outcome, deny.consent_id, deny.reasons) == (
        "deny",
        None,
        ["category_not_covered:genetic"],
    )
    for entry in (permit, deny):
        assert entry.client_id == referral.client_id
        assert entry.recipient_provider_id == referral.recipient_id
        assert entry.purpose == "treatment"
        assert entry.message_id is None
    assert count(session, Message) == 0
    assert entries(session, "disclosure.permitted") == []
    assert entries(session, "disclosure.denied") == []


def test_check_validates_like_send(session, referral):
    request = replace(outgoing(referral).request(), categories=("astrology",))
    with pytest.raises(Invalid):
        service.check(session, referral.therapist.actor, referral.library, request)
    with pytest.raises(Forbidden):
        service.check(
            session, referral.client_person.actor, referral.library, outgoing(referral).request()
        )
    assert entries(session, "decision.checked") == []


# --- reading ----------------------------------------------------------------------------------


def test_reading_is_audited_and_marks_the_recipients_first_reading(session, referral):
    consent = referral.signed(session)
    message = send(session, referral)
    # When the sender opens it, it is not marked read
    opened = service.open_message(session, referral.therapist.actor, message.id)
    assert opened.subject == "Referral for a medication review"
    session.rollback()
    assert session.get(Message, message.id).read_at is None
    # When the recipient opens it, it is marked read, and the text is intact
    opened = service.open_message(session, referral.psychiatrist.actor, message.id)
    assert opened.body.startswith("Working diagnosis")
    session.rollback()
    assert session.get(Message, message.id).read_at is not None
    # And each reading is one message.read entry naming the reader and the consent
    readers = [
        (e.actor_id, e.message_id, e.consent_id, e.client_id)
        for e in entries(session, "message.read")
    ]
    assert readers == [
        (referral.therapist.user.id, message.id, consent.id, referral.client_id),
        (referral.psychiatrist.user.id, message.id, consent.id, referral.client_id),
    ]


def test_open_messages_audits_each_one(session, referral):
    referral.signed(session)
    first = send(session, referral)
    second = send(session, referral, subject="Follow-up")
    session.rollback()
    both = [session.get(Message, first.id), session.get(Message, second.id)]
    opened = service.open_messages(session, referral.psychiatrist.actor, both)
    assert [o.subject for o in opened] == ["Referral for a medication review", "Follow-up"]
    assert [e.message_id for e in entries(session, "message.read")] == [first.id, second.id]


def test_only_the_sender_and_the_recipient_can_read_a_message(session, referral):
    referral.signed(session)
    message = send(session, referral, attachments=(NewAttachment("a.txt", "text/plain", TEXT),))
    session.rollback()
    attachment_id = session.get(Message, message.id).attachments[0].id
    colleague = make_user(session, Role.CLINICIAN, name="Priya Shah")  # sender's practice
    psychiatry_colleague = make_user(session, Role.CLINICIAN, org="Northgate Psychiatry")
    elsewhere = make_user(session, Role.CLINICIAN, org="Harbor Behavioral Health")
    reads_before = len(entries(session, "message.read"))
    # Other clinicians are told the message does not exist, as for an id that does not
    for person in (colleague, psychiatry_colleague, elsewhere):
        for message_id in (message.id, message.id + 1000):
            with pytest.raises(NotFound):
                service.open_message(session, person.actor, message_id)
        with pytest.raises(NotFound):
            service.attachment_content(session, person.actor, message.id, attachment_id)
    # Roles that never read messages are refused alike for any id
    compliance = make_user(session, Role.COMPLIANCE)
    for actor in (referral.client_person.actor, compliance.actor):
        for message_id in (message.id, message.id + 1000):
            with pytest.raises(Forbidden):
                service.open_message(session, actor, message_id)
    # And none of these refusals opened or marked anything
    assert len(entries(session, "message.read")) == reads_before
    assert session.get(Message, message.id).read_at is None
    # A wrong attachment id on one's own message is not found either
    with pytest.raises(NotFound):
        service.attachment_content(session, referral.psychiatrist.actor, message.id, 987654)


# --- replies ----------------------------------------------------------------------------------


def reply_to(referral: Referral, session: Session, message: Message, **changes: object):
    reply: dict[str, object] = {
        "recipient_provider_id": provider_of(session, referral.therapist).id,
        "reply_to_id": message.id,
        "subject": "Re: Referral for a medication review",
        "body": "Seen; I will adjust the dose.",
    }
    return send(session, referral, actor=referral.psychiatrist.actor, **(reply | changes))


def test_a_reply_under_a_one_way_consent_is_denied(session, referral):
    # Given a one-way consent therapist → psychiatrist, and a message sent under it
    consent = referral.signed(session, direction=Direction.ONE_WAY)
    message = send(session, referral)
    # When the psychiatrist replies
    with pytest.raises(ConsentRequired) as refused:
        reply_to(referral, session, message)
    # Then the reply is gated in its own direction and denied
    assert [r["code"] for r in refused.value.reasons] == ["direction_not_covered"]
    assert refused.value.reasons[0]["consent_id"] == consent.id
    [denied] = entries(session, "disclosure.denied")
    assert denied.actor_id == referral.psychiatrist.user.id
    assert denied.reasons == ["direction_not_covered"]
    assert count(session, Message) == 1


def test_a_reply_under_a_two_way_consent_goes(session, referral):
    consent = referral.signed(session, direction=Direction.TWO_WAY)
    message = send(session, referral)
    reply = reply_to(referral, session, message)
    assert reply.consent_id == consent.id
    assert reply.reply_to_id == message.id
    assert reply.sender_user_id == referral.psychiatrist.user.id
    opened = service.open_message(session, referral.therapist.actor, reply.id)
    assert opened.body == "Seen; I will adjust the dose."
    # the reply's own disclosure is audited with the psychiatrist as the actor
    [_, back] = entries(session, "disclosure.permitted")
    assert (back.actor_id, back.message_id, back.consent_id) == (
        referral.psychiatrist.user.id,
        reply.id,
        consent.id,
    )


def test_a_reply_goes_to_the_other_person_about_the_same_client(session, referral):
    referral.signed(session, direction=Direction.TWO_WAY)
    message = send(session, referral)
    someone_else = make_user(session, Role.CLINICIAN, name="Priya Shah")  # therapist's practice
    with pytest.raises(Invalid) as refused:
        reply_to(
            referral,
            session,
            message,
            recipient_provider_id=provider_of(session, someone_else).id,
        )
    assert "reply_to_id" in refused.value.fields
    # and nobody else can reply to a message they cannot see
    outsider = make_user(session, Role.CLINICIAN)  # the therapist's practice, not the conversation
    with pytest.raises(NotFound):
        send(session, referral, actor=outsider.actor, reply_to_id=message.id)
    assert count(session, Message) == 1


# --- E5, E6 -----------------------------------------------------------------------------------


def test_e5_a_revocation_denies_the_very_next_send(session, referral):
    # Given an active consent, and a message that went out under it
    consent = referral.signed(session)
    send(session, referral)
    # When the client revokes, and the therapist sends straight after
    lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
    with pytest.raises(ConsentRequired) as refused:
        send(session, referral)
    # Then it is denied as revoked, with no cache in between
    assert [r["code"] for r in refused.value.reasons] == ["consent_revoked"]
    assert count(session, Message) == 1
    [denied] = entries(session, "disclosure.denied")
    assert denied.reasons == ["consent_revoked"]


def test_e5_a_send_in_the_same_microsecond_as_the_revocation_is_denied(session, referral):
    consent = referral.signed(session)
    moment = now() + timedelta(seconds=5)
    with time_machine.travel(moment, tick=False) as clock:
        revoked = lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
        assert revoked.revoked_at == moment
        # validity is half-open: the revocation instant itself is already outside it
        with pytest.raises(ConsentRequired):
            send(session, referral)
        clock.move_to(moment + timedelta(microseconds=1))
        with pytest.raises(ConsentRequired):
            send(session, referral)
        clock.move_to(moment + timedelta(milliseconds=1))
        with pytest.raises(ConsentRequired):
            send(session, referral)
    assert count(session, Message) == 0
    assert len(entries(session, "disclosure.denied")) == 3


def test_a_send_at_midnight_of_the_expiry_day_is_denied(session, referral):
    # one day while the release is made: 'tomorrow' must still be in the future when it is signed
    with time_machine.travel(now(), tick=False):
        consent = referral.signed(session, expires_on=now().date() + timedelta(days=1))
        assert consent.expires_on is not None
        midnight = expiry_instant(consent.expires_on)
        with time_machine.travel(midnight - timedelta(microseconds=1), tick=False) as clock:
            last = send(session, referral)
            assert last.sent_at == midnight - timedelta(microseconds=1)
            clock.move_to(midnight)
            with pytest.raises(ConsentRequired) as refused:
                send(session, referral)
        assert [r["code"] for r in refused.value.reasons] == ["consent_expired"]
        assert count(session, Message) == 1


def test_e6_a_category_outside_the_scope_is_denied_and_the_reason_recorded(session, referral):
    referral.signed(session, categories=("diagnosis", "medications"))
    with pytest.raises(ConsentRequired) as refused:
        send(session, referral, categories=("diagnosis", "medications", "crisis_safety"))
    assert [r["code"] for r in refused.value.reasons] == ["category_not_covered:crisis_safety"]
    [denied] = entries(session, "disclosure.denied")
    assert denied.reasons == ["category_not_covered:crisis_safety"]
    assert denied.categories == ["crisis_safety", "diagnosis", "medications"]
    assert count(session, Message) == 0


# --- G3 ---------------------------------------------------------------------------------------


@contextmanager
def audit_insert_fails(session: Session, is_postgres: bool, action: str) -> Iterator[None]:
    """The database refuses to store audit entries of `action` (SECURITY G3)."""
    session.rollback()
    if is_postgres:
        session.execute(text("DROP TRIGGER IF EXISTS roi_test_refuse ON audit_entries"))
        session.execute(
            text(
                "CREATE OR REPLACE FUNCTION roi_test_refuse() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN RAISE EXCEPTION 'audit insert refused'; END $$"
            )
        )
        session.execute(
            text(
                "CREATE TRIGGER roi_test_refuse BEFORE INSERT ON audit_entries FOR EACH ROW "
                f"WHEN (NEW.action = '{action}') EXECUTE FUNCTION roi_test_refuse()"
            )
        )
    else:
        session.execute(
            text(
                "CREATE TRIGGER roi_test_refuse BEFORE INSERT ON audit_entries "
                f"WHEN NEW.action = '{action}' "
                "BEGIN SELECT RAISE(ABORT, 'audit insert refused'); END"
            )
        )
    session.commit()
    try:
        yield
    finally:
        session.rollback()
        if is_postgres:
            session.execute(text("DROP TRIGGER IF EXISTS roi_test_refuse ON audit_entries"))
            session.execute(text("DROP FUNCTION IF EXISTS roi_test_refuse()"))
        else:
            session.execute(text("DROP TRIGGER IF EXISTS roi_test_refuse"))
        session.commit()


def test_g3_no_message_without_its_audit_entry(session, referral, is_postgres):
    # Given an active consent and the audit log's state before the send
    consent = referral.signed(session)
    session.rollback()
    head_before = session.get(AuditHead, HEAD_ID)
    assert head_before is not None
    seq_before, hash_before = head_before.seq, head_before.hash
    notices_before = count(session, Notification)
    # When the disclosure's audit insert fails inside the database
    with audit_insert_fails(session, is_postgres, "disclosure.permitted"):
        with pytest.raises(DBAPIError, match="audit insert refused"):
            send(session, referral, attachments=(NewAttachment("a.pdf", "application/pdf", PDF),))
        # Then the disclosure did not happen: no message, attachment or notice
        assert count(session, Message) == 0
        assert count(session, Attachment) == 0
        assert count(session, Notification) == notices_before
        # And the log did not move, and the consent is as it was
        head = session.get(AuditHead, HEAD_ID)
        assert (head.seq, head.hash) == (seq_before, hash_before)
        assert session.get(Consent, consent.id).status is ConsentStatus.ACTIVE
    # And once the audit log accepts entries again, the same send goes through
    message = send(session, referral)
    assert message.consent_id == consent.id
    assert audit.verify(session).ok


def test_g3_a_denial_that_cannot_be_audited_is_still_a_refusal(session, referral, is_postgres):
    with audit_insert_fails(session, is_postgres, "disclosure.denied"):
        with pytest.raises(DBAPIError, match="audit insert refused"):
            send(session, referral)
        assert count(session, Message) == 0
    assert audit.verify(session).ok


# --- G1 ---------------------------------------------------------------------------------------

#: SECURITY G1 asks 1,000 / 100 / 50 / 10; a fifth of each keeps the ratios and runs in seconds
SENDS, DENIALS, LOGINS, FAILED_LOGINS = 200, 20, 10, 2


def test_g1_one_audit_entry_per_decision(session, referral, tmp_path, database_url):
    """SECURITY G1, scaled down to a fifth: 200 gated sends, 20 denials, 10 sign-ins and 2 failed
    sign-ins (`roi.accounts.sessions.authenticate`, which `roi.accounts.service` builds on)."""
    # Given an active consent, a clinician the client has not authorized, and sign-in settings
    consent = referral.signed(session, categories=("diagnosis", "medications"))
    stranger = make_user(session, Role.CLINICIAN, org="Northgate Psychiatry", name="Mara Voss")
    stranger_id = provider_of(session, stranger).id
    settings = Settings(
        instance_path=tmp_path, database_url=database_url, secret_key="test", argon2=TEST_ARGON2
    )
    before = Counter(a.value for a in session.scalars(select(AuditEntry.action)))
    messages_before = count(session, Message)
    started = now()
    # When a shuffled workload of sends, denials, sign-ins and failed sign-ins runs
    rng = random.Random(20240501)
    work = ["send"] * SENDS + ["deny"] * DENIALS + ["login"] * LOGINS + ["fail"] * FAILED_LOGINS
    rng.shuffle(work)
    sent_ids: list[int] = []
    denial_reasons: list[list[str]] = []
    for n, step in enumerate(work):
        if step == "send":
            categories = rng.choice(
                [("diagnosis",), ("medications",), ("diagnosis", "medications")]
            )
            sent_ids.append(send(session, referral, categories=categories, body=f"Note {n}").id)
        elif step == "deny":
            kind = rng.choice(["category", "purpose", "recipient"])
            changes: dict[str, object] = {
                "category": {"categories": ("diagnosis", "hiv")},
                "purpose": {"purpose": "insurance_or_benefits"},
                "recipient": {"recipient_provider_id": stranger_id},
            }[kind]
            with pytest.raises(ConsentRequired) as refused:
                send(session, referral, **changes)
            denial_reasons.append([r["code"] for r in refused.value.reasons])
        elif step == "login":
            user = sessions.authenticate(
                session,
                email=referral.therapist.email,
                password=referral.therapist.password,
                ip="192.0.2.10",
                request_id=f"req-{n}",
                settings=settings,
            )
            assert user.id == referral.therapist.user.id
        else:
            with pytest.raises(InvalidCredentials):
                sessions.authenticate(
                    session,
                    email=referral.psychiatrist.email,
                    password="not the password",
                    ip="192.0.2.20",
                    request_id=f"req-{n}",
                    settings=settings,
                )
    finished = now()
    # Then the audit counts match the workload exactly
    session.rollback()
    after = Counter(a.value for a in session.scalars(select(AuditEntry.action)))
    added = {action: after[action] - before[action] for action in after}
    assert added["disclosure.permitted"] == SENDS
    assert added["disclosure.denied"] == DENIALS
    assert added["auth.login"] == LOGINS
    assert added["auth.login_failed"] == FAILED_LOGINS
    assert added.get("decision.checked", 0) == 0
    assert count(session, Message) - messages_before == SENDS
    # And every disclosure entry has its time in UTC, who, their role and practice, the client,
    # the recipient, the decision, and the consent (permit) or the reasons (deny)
    therapist = referral.therapist
    disclosures = [
        *entries(session, "disclosure.permitted"),
        *entries(session, "disclosure.denied"),
    ]
    assert len(disclosures) == SENDS + DENIALS
    for entry in disclosures:
        assert entry.at.utcoffset() == timedelta(0)
        assert started <= entry.at <= finished
        assert entry.actor_id == therapist.user.id
        assert entry.actor_role == "clinician"
        assert entry.organization_id == therapist.actor.organization_id
        assert entry.client_id == referral.client_id
        assert entry.recipient_provider_id in (referral.recipient_id, stranger_id)
        assert entry.categories
        assert entry.purpose
        if entry.action == "disclosure.permitted":
            assert entry.outcome == "permit"
            assert entry.consent_id == consent.id
            assert entry.message_id in sent_ids
            assert entry.reasons is None
        else:
            assert entry.outcome == "deny"
            assert entry.message_id is None
            assert entry.reasons
    # each message is disclosed by exactly one entry, and the denials carry the gate's reasons
    permitted = [e.message_id for e in disclosures if e.action == "disclosure.permitted"]
    assert sorted(permitted) == sorted(sent_ids)
    denied = [e.reasons for e in disclosures if e.action == "disclosure.denied"]
    assert denied == denial_reasons
    # And sign-ins name the user; failures are anonymous with their reason
    logins = entries(session, "auth.login")[-LOGINS:]
    assert {(e.actor_id, e.subject_user_id, e.outcome) for e in logins} == {
        (therapist.user.id, therapist.user.id, "success")
    }
    failures = entries(session, "auth.login_failed")
    assert len(failures) == FAILED_LOGINS
    for entry in failures:
        assert (entry.actor_role, entry.outcome, entry.reasons) == (
            "anonymous",
            "failure",
            ["bad_credentials"],
        )
        assert entry.subject_user_id == referral.psychiatrist.user.id
        assert entry.at.utcoffset() == timedelta(0)
    assert audit.verify(session).ok


def test_a_recipient_who_reads_spanish_is_told_in_spanish(session, referral):
    referral.signed(session)
    recipient = session.get(User, referral.psychiatrist.user.id)
    recipient.language = "es"
    session.commit()
    send(session, referral)
    session.rollback()
    notices = session.scalars(
        select(Notification.text).where(Notification.user_id == referral.psychiatrist.user.id)
    ).all()
    assert "Nuevo mensaje de Dana Whitfield." in notices
