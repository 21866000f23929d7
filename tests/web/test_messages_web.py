"""Messages in the clinician's browser: compose with the consent check and preview, refusals with
their reasons and the way to a release, inbox and sent box, reading (audited), replies gated in
their own direction, attachments, the email that names no client, CSRF, XSS, and 404 for anyone
who is neither the sender nor the recipient (SECURITY C1)."""

from __future__ import annotations

import email
import io
import re

import pytest
from babel.dates import format_date
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from roi.accounts.models import Provider
from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.consent import lifecycle
from roi.consent.models import Direction
from roi.messaging.models import Message
from roi.messaging.service import MAX_ATTACHMENT_BYTES
from tests.consent import conftest as consent_fixtures
from tests.factories import make_user
from tests.helpers import api_token, bearer, csrf_token, delivered_mail, login_as, logout

#: the referral of tests/consent (therapist, psychiatrist at another practice, client), as fixtures
library = consent_fixtures.library
referral = consent_fixtures.referral

COMPOSE = "/clinician/messages/new"
CHECK = "/clinician/messages/check"
SUBJECT = "Medication review for our shared client"
BODY = "Current dose is stable.\nPlease review the plan below.\n\n  – Dana"
PDF = b"%PDF-1.7\n" + b"0123456789" * 300


def fields(referral, **changes):
    data = {
        "client_id": str(referral.client_id),
        "recipient_provider_id": str(referral.recipient_id),
        "categories": ["diagnosis"],
        "purpose": "treatment",
        "subject": SUBJECT,
        "body": BODY,
        "send": "Send",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def post_multipart(client, url, data):
    """POST as a browser sends a form with files. Encoded in memory: the test client would spool
    a large body to a temporary file that it never closes."""
    values = MultiDict()
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple):
                content, name, content_type = item
                item = FileStorage(io.BytesIO(content), filename=name, content_type=content_type)
            values.add(key, item)
    boundary, body = encode_multipart(values)
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def compose(client, referral, url=COMPOSE, **changes):
    """Fill in and submit the compose form as a browser does (multipart, with the token)."""
    token = csrf_token(client.get(url))
    return post_multipart(client, COMPOSE, {**fields(referral, **changes), "csrf_token": token})


def check(client, referral, **changes):
    """What static/js/compose.js sends: the form, with the token in the X-CSRFToken header."""
    token = csrf_token(client.get(COMPOSE))
    data = fields(referral, **changes)
    data.pop("send")
    return client.post(CHECK, data=data, headers={"X-CSRFToken": token})


def as_therapist(client, referral):
    login_as(client, referral.therapist.email, referral.therapist.password)


def as_psychiatrist(client, referral):
    logout(client)
    login_as(client, referral.psychiatrist.email, referral.psychiatrist.password)


def stored(session) -> list[Message]:
    session.rollback()
    return list(session.scalars(select(Message).order_by(Message.id)))


def audited(session, action: Action, **where) -> list[AuditEntry]:
    session.rollback()
    query = select(AuditEntry).where(AuditEntry.action == action)
    for name, value in where.items():
        query = query.where(getattr(AuditEntry, name) == value)
    return list(session.scalars(query.order_by(AuditEntry.seq)))


def text(response) -> str:
    return response.get_data(as_text=True)


def sent_id(response) -> int:
    assert response.status_code == 302, text(response)
    match = re.search(r"/clinician/messages/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def outbox(client) -> list[email.message.EmailMessage]:
    """The new-message notices delivered so far (releases send their own mail too)."""
    return [m for m in delivered_mail(client.application) if "new message" in str(m["Subject"])]


# --- refused, then sent ------------------------------------------------------------------------


def test_without_a_release_the_message_is_refused_with_the_reason_and_the_way_to_one(
    client, session, referral
):
    # Given no release between the therapist and the psychiatrist for this client
    as_therapist(client, referral)
    # When the therapist sends a message
    response = compose(client, referral)
    # Then it is refused: 403, the gate's reason in a sentence, Send off, and the way to a release
    page = text(response)
    assert response.status_code == 403
    assert "Not sent." in page
    assert "This client has not authorized you to share information with Samuel Okafor." in page
    assert re.search(r'<input[^>]*disabled[^>]*name="send"', page)
    assert 'name="keep_draft"' in page
    release = (
        f"/clinician/clients/{referral.client_id}/consents/new?"
        f"template_id=general-authorization&recipient_provider_id={referral.recipient_id}"
    )
    kept = compose(client, referral, send=None, keep_draft="1")
    assert kept.status_code == 302
    assert kept.headers["Location"] == release
    # and the release form opens with the psychiatrist already chosen as the recipient
    form = client.get(release).get_data(as_text=True)
    assert f'<option selected value="{referral.recipient_id}">' in form
    # What was typed is kept, and nothing was stored but the denial
    assert SUBJECT in page
    assert "Please review the plan below." in page
    assert stored(session) == []
    [denied] = audited(session, Action.DISCLOSURE_DENIED)
    assert denied.reasons == ["no_consent"]
    assert denied.client_id == referral.client_id


def test_the_subject_box_stops_where_a_subject_would_be_refused(client, referral):
    as_therapist(client, referral)
    page = text(client.get(COMPOSE))
    assert re.search(r'<input[^>]*maxlength="200"[^>]*name="subject"', page)


def test_psychotherapy_notes_point_to_their_own_kind_of_release(client, session, referral):
    referral.signed(session)
    as_therapist(client, referral)
    page = text(compose(client, referral, categories=["psychotherapy_notes"]))
    assert "psychotherapy-notes authorization" in page
    kept = compose(client, referral, categories=["psychotherapy_notes"], send=None, keep_draft="1")
    assert "template_id=psychotherapy-notes" in kept.headers["Location"]


def test_a_covered_message_is_sent_and_lands_in_both_boxes(client, session, referral):
    consent = referral.signed(session)
    as_therapist(client, referral)
    response = compose(client, referral)
    message_id = sent_id(response)
    page = client.get(response.headers["Location"])
    assert f"Sent to Samuel Okafor under consent #{consent.id}." in text(page)
    [message] = stored(session)
    assert message.consent_id == consent.id
    [permitted] = audited(session, Action.DISCLOSURE_PERMITTED)
    assert permitted.message_id == message_id
    # the sender's sent box lists it, with the client and the recipient
    sent_box = text(client.get("/clinician/messages?box=sent"))
    assert SUBJECT in sent_box
    assert "Samuel Okafor" in sent_box
    assert "Jordan Avery" in sent_box
    # the recipient's inbox lists it as new, and the overview counts it
    as_psychiatrist(client, referral)
    assert "Unread messages in your inbox: <strong>1</strong>" in text(client.get("/clinician/"))
    inbox = text(client.get("/clinician/messages"))
    assert SUBJECT in inbox
    assert "Dana Whitfield" in inbox
    assert '<tr class="unread">' in inbox
    assert ">New</span>" in inbox
    # listing opened nothing
    assert audited(session, Action.MESSAGE_READ, actor_id=referral.psychiatrist.user.id) == []


def test_opening_a_message_shows_it_audits_the_reading_and_marks_it_read(client, session, referral):
    consent = referral.signed(session)
    as_therapist(client, referral)
    message_id = sent_id(compose(client, referral))
    as_psychiatrist(client, referral)
    page = text(client.get(f"/clinician/messages/{message_id}"))
    # the body as written (line breaks kept by CSS), the parties, the client, the consent line
    assert f'<div class="message-body">{BODY}</div>' in page
    assert "Dana Whitfield" in page
    assert "Jordan Avery" in page
    assert f"Shared under consent #{consent.id}" in page
    assert f'href="/clinician/consents/{consent.id}"' in page
    assert f'href="/clinician/messages/new?reply_to={message_id}"' in page
    [read] = audited(session, Action.MESSAGE_READ, actor_id=referral.psychiatrist.user.id)
    assert read.message_id == message_id
    assert read.consent_id == consent.id
    assert stored(session)[0].read_at is not None
    inbox = text(client.get("/clinician/messages"))
    assert 'class="unread"' not in inbox
    assert "No unread messages." in text(client.get("/clinician/"))


def test_after_revocation_the_next_message_is_refused_with_the_reason(client, session, referral):
    consent = referral.signed(session)
    as_therapist(client, referral)
    sent_id(compose(client, referral))
    lifecycle.revoke(session, referral.client_person.actor, consent.id, reason=None)
    response = compose(client, referral)
    assert response.status_code == 403
    assert f"Consent #{consent.id} was revoked by the client." in text(response)
    assert len(stored(session)) == 1


def test_a_part2_message_carries_the_notice(client, session, referral):
    consent = referral.signed(
        session,
        template_id="part2-consent",
        categories=("sud_treatment",),
        purposes=("treatment",),
        information_description="Opioid use disorder treatment plan and progress since 2025.",
    )
    as_therapist(client, referral)
    message_id = sent_id(compose(client, referral, categories=["sud_treatment"]))
    page = text(client.get(f"/clinician/messages/{message_id}"))
    assert 'class="part2-notice"' in page
    assert "42 CFR" in page
    assert f"consent #{consent.id}" in page


# --- replies -------------------------------------------------------------------------------------


def test_a_reply_under_a_one_way_release_is_refused_with_the_direction_reason(
    client, session, referral
):
    # Given a one-way release: the therapist may share with the psychiatrist, not back
    consent = referral.signed(session, direction=Direction.ONE_WAY)
    as_therapist(client, referral)
    message_id = sent_id(compose(client, referral))
    as_psychiatrist(client, referral)
    # When the psychiatrist replies
    reply_url = f"{COMPOSE}?reply_to={message_id}"
    form = text(client.get(reply_url))
    therapist_provider = session.scalar(
        select(Provider.id).where(Provider.user_id == referral.therapist.user.id)
    )
    # the reply is prefilled: the same client, the other party, the same scope, "Re:"
    assert f'<option selected value="{referral.client_id}">' in form
    assert f'<option selected value="{therapist_provider}">' in form
    assert f'value="Re: {SUBJECT}"' in form
    assert f'name="reply_to" type="hidden" value="{message_id}"' in form
    response = compose(
        client,
        referral,
        url=reply_url,
        recipient_provider_id=str(therapist_provider),
        reply_to=str(message_id),
        subject=f"Re: {SUBJECT}",
        body="Thanks, seen.",
    )
    # Then it is refused, saying the release is one-way; only the client's practice can fix it
    page = text(response)
    assert response.status_code == 403
    assert f"Consent #{consent.id} lets Dana Whitfield share with you" in page
    assert "it is one-way" in page
    assert "Only Riverside Counseling can prepare a release for this client" in page
    assert "/consents/new" not in page
    assert len(stored(session)) == 1
    denied = audited(session, Action.DISCLOSURE_DENIED)
    assert denied[-1].reasons == ["direction_not_covered"]


def test_a_reply_under_a_two_way_release_goes_back(client, session, referral):
    referral.signed(session, direction=Direction.TWO_WAY)
    as_therapist(client, referral)
    message_id = sent_id(compose(client, referral))
    as_psychiatrist(client, referral)
    therapist_provider = session.scalar(
        select(Provider.id).where(Provider.user_id == referral.therapist.user.id)
    )
    reply_id = sent_id(
        compose(
            client,
            referral,
            url=f"{COMPOSE}?reply_to={message_id}",
            recipient_provider_id=str(therapist_provider),
            reply_to=str(message_id),
            subject=f"Re: {SUBJECT}",
            body="Seen; no change.",
        )
    )
    reply = stored(session)[-1]
    assert reply.id == reply_id
    assert reply.reply_to_id == message_id
    assert reply.recipient_provider_id == therapist_provider


# --- the check and the preview ------------------------------------------------------------------


def test_the_live_check_answers_with_the_decision_and_is_audited(client, session, referral):
    as_therapist(client, referral)
    # nothing to decide yet: no audit
    incomplete = check(client, referral, categories=None)
    assert incomplete.get_json()["decision"] == "incomplete"
    assert audited(session, Action.DECISION_CHECKED) == []
    denied = check(client, referral).get_json()
    assert denied["decision"] == "deny"
    assert [r["code"] for r in denied["reasons"]] == ["no_consent"]
    assert denied["release_url"].endswith(
        f"/clients/{referral.client_id}/consents/new?template_id=general-authorization"
        f"&recipient_provider_id={referral.recipient_id}"
    )
    consent = referral.signed(session)
    permitted = check(client, referral).get_json()
    assert permitted["decision"] == "permit"
    assert permitted["consent_id"] == consent.id
    assert permitted["until"] == f"until {format_date(consent.expires_on, 'long', locale='en')}"
    assert permitted["scope_summary"].startswith(f"Shared under consent #{consent.id}")
    checks = audited(session, Action.DECISION_CHECKED)
    assert [c.outcome for c in checks] == ["deny", "permit"]
    assert checks[-1].consent_id == consent.id
    assert stored(session) == []


def test_the_live_check_names_an_unknown_purpose(client, session, referral):
    as_therapist(client, referral)
    response = check(client, referral, purpose="marketing")
    assert response.status_code == 422
    assert "purpose" in response.get_json()["fields"]


def test_check_and_preview_without_javascript_shows_coverage_and_exactly_what_goes_out(
    client, session, referral
):
    consent = referral.signed(session)
    as_therapist(client, referral)
    response = compose(
        client,
        referral,
        send=None,
        check="Check and preview",
        attachments=[(PDF, "summary.pdf", "application/pdf")],
    )
    page = text(response)
    assert response.status_code == 200
    assert "<strong>Covered</strong> by" in page
    until = format_date(consent.expires_on, "long", locale="en")
    assert f">consent #{consent.id}</a> until {until}." in page
    assert "What the recipient will receive" in page
    assert f"<dd data-preview-subject>{SUBJECT}</dd>" in page
    assert f'<div class="message-body" data-preview-body>{BODY}</div>' in page
    assert f"Shared under consent #{consent.id}" in page
    assert "summary.pdf" in page
    # files do not survive a page reload, and the page says so
    assert "Choose your files again before sending" in page
    assert stored(session) == []
    assert len(audited(session, Action.DECISION_CHECKED)) == 1


def test_check_and_preview_of_an_uncovered_message_shows_reasons_and_no_preview(
    client, session, referral
):
    as_therapist(client, referral)
    response = compose(client, referral, send=None, check="Check and preview")
    page = text(response)
    assert response.status_code == 200
    assert "<strong>Not covered.</strong>" in page
    assert "has not authorized you to share information with Samuel Okafor" in page
    assert "data-preview hidden" in page
    assert audited(session, Action.DISCLOSURE_DENIED) == []


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"subject": ""}, "subject", "Write a subject."),
        ({"body": "   "}, "body", "Write the message."),
        ({"client_id": "0"}, "client_id", "Choose the client this message is about."),
        ({"recipient_provider_id": "0"}, "recipient_provider_id", "Choose who receives it."),
        ({"purpose": ""}, "purpose", "Choose why you are sharing this."),
        ({"categories": None}, "categories", "Choose at least one kind of information."),
    ],
)
def test_invalid_fields_are_422_with_the_error_tied_to_the_field(
    client, session, referral, changes, field, words
):
    referral.signed(session)
    as_therapist(client, referral)
    response = compose(client, referral, **changes)
    page = text(response)
    assert response.status_code == 422
    assert f'<p class="error" id="{field}-error">{words}</p>' in page
    assert stored(session) == []


def test_the_compose_page_offers_only_providers_with_an_account_and_marks_sensitive_kinds(
    client, session, referral
):
    from tests.factories import make_provider

    no_account = make_provider(session, referral.therapist, name="Helen Brooks")
    as_therapist(client, referral)
    page = text(client.get(f"{COMPOSE}?client_id={referral.client_id}"))
    assert f'<option selected value="{referral.client_id}">' in page
    assert f'value="{referral.recipient_id}"' in page
    assert f'value="{no_account.id}"' not in page
    assert (
        "Dana Whitfield" not in page.split('name="recipient_provider_id"')[1].split("</select>")[0]
    )
    assert "(needs its own psychotherapy-notes release)" in page
    assert "(needs its own 42 CFR Part 2 consent)" in page
    assert "Up to 5 files: PDF, PNG, JPEG or plain text, each under 5 MB and 10 MB in all." in page
    assert "js/compose.js" in page


# --- attachments ---------------------------------------------------------------------------------


def test_attachments_are_sent_and_downloaded_intact_under_a_generic_name(client, session, referral):
    referral.signed(session)
    as_therapist(client, referral)
    notes = b"Plan: continue.\n"
    message_id = sent_id(
        compose(
            client,
            referral,
            attachments=[
                (PDF, "Jordan Avery summary.pdf", "application/pdf"),
                (notes, "plan.txt", "text/plain"),
            ],
        )
    )
    [message] = stored(session)
    pdf_id, txt_id = (a.id for a in message.attachments)
    as_psychiatrist(client, referral)
    page = text(client.get(f"/clinician/messages/{message_id}"))
    assert "Jordan Avery summary.pdf" in page
    download = client.get(f"/clinician/messages/{message_id}/attachments/{pdf_id}")
    assert download.status_code == 200
    assert download.data == PDF
    assert download.mimetype == "application/pdf"
    disposition = download.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="attachment-{pdf_id}.pdf"'
    assert "Jordan" not in str(download.headers)
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in download.headers["Cache-Control"]
    text_download = client.get(f"/clinician/messages/{message_id}/attachments/{txt_id}")
    assert text_download.data == notes
    assert text_download.headers["Content-Disposition"].endswith(f'attachment-{txt_id}.txt"')
    reads = audited(session, Action.MESSAGE_READ, actor_id=referral.psychiatrist.user.id)
    assert [(r.detail or {}).get("attachment_id") for r in reads] == [None, pdf_id, txt_id]


@pytest.mark.parametrize(
    ("upload", "words"),
    [
        (
            (b"MZ\x90\x00 a program", "tool.exe", "application/x-msdownload"),
            "tool.exe: attach PDF, PNG, JPEG or plain-text files only.",
        ),
        (
            (b"MZ\x90\x00 not a pdf", "summary.pdf", "application/pdf"),
            "summary.pdf: the file is not the application/pdf its name says.",
        ),
        (
            (b"%PDF-" + b"x" * MAX_ATTACHMENT_BYTES, "large.pdf", "application/pdf"),
            "large.pdf: each file must be under 5 MB.",
        ),
    ],
)
def test_unacceptable_attachments_are_refused_with_the_reason(
    client, session, referral, upload, words
):
    referral.signed(session)
    as_therapist(client, referral)
    content, name, content_type = upload
    response = compose(client, referral, attachments=[(content, name, content_type)])
    page = text(response)
    assert response.status_code == 422
    assert f'<p class="error" id="attachments-error">{words}</p>' in page
    assert 'aria-invalid="true"' in page
    assert "Choose your files again before sending" in page
    assert stored(session) == []


# --- mail ----------------------------------------------------------------------------------------


def test_the_recipient_is_emailed_without_the_client_the_subject_or_the_body(
    client, session, referral, instance_path
):
    referral.signed(session)
    as_therapist(client, referral)
    sent_id(compose(client, referral))
    [mail] = outbox(client)
    assert mail["To"] == referral.psychiatrist.email
    content = str(mail.get_body(preferencelist=("plain",)).get_content())
    whole = str(mail["Subject"]) + content
    assert "You have a new message in roi from Dana Whitfield. Sign in to read it" in content
    assert "https://roi.example.test/clinician/messages" in content
    for secret in ("Jordan", "Avery", SUBJECT, "Current dose", "diagnosis", "Diagnosis"):
        assert secret not in whole


def test_a_message_sent_through_the_api_emails_the_recipient_too(
    client, session, referral, instance_path
):
    referral.signed(session)
    token = api_token(client, referral.therapist.email, referral.therapist.password)
    body = {k: v for k, v in fields(referral).items() if k != "send"}
    response = client.post(
        "/api/v1/messages",
        json={
            **body,
            "client_id": referral.client_id,
            "recipient_provider_id": referral.recipient_id,
        },
        headers=bearer(token),
    )
    assert response.status_code == 201, response.get_json()
    [mail] = outbox(client)
    assert mail["To"] == referral.psychiatrist.email
    content = str(mail.get_body(preferencelist=("plain",)).get_content())
    assert "from Dana Whitfield" in content
    assert SUBJECT not in content
    assert "Jordan" not in content


def test_a_refused_message_sends_no_mail(client, session, referral, instance_path):
    as_therapist(client, referral)
    assert compose(client, referral).status_code == 403
    assert outbox(client) == []


# --- CSRF and XSS --------------------------------------------------------------------------------


def test_posts_without_the_csrf_token_are_refused_and_store_nothing(client, session, referral):
    referral.signed(session)
    as_therapist(client, referral)
    client.get(COMPOSE)
    response = post_multipart(client, COMPOSE, fields(referral))
    assert response.status_code == 400
    no_header = client.post(CHECK, data=fields(referral))
    assert no_header.status_code == 400
    assert stored(session) == []
    assert audited(session, Action.DISCLOSURE_DENIED) == []
    assert audited(session, Action.DISCLOSURE_PERMITTED) == []
    assert audited(session, Action.DECISION_CHECKED) == []


def test_markup_in_subject_and_body_is_shown_as_text(client, session, referral):
    referral.signed(session)
    as_therapist(client, referral)
    hostile_subject = '<script>alert("s")</script>'
    hostile_body = '<img src=x onerror=alert("b")>\n</div><b>bold</b>'
    message_id = sent_id(compose(client, referral, subject=hostile_subject, body=hostile_body))
    as_psychiatrist(client, referral)
    for url in ("/clinician/messages", f"/clinician/messages/{message_id}"):
        page = text(client.get(url))
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert "<b>bold</b>" not in page
        assert "&lt;script&gt;alert(&#34;s&#34;)&lt;/script&gt;" in page
    reply = text(client.get(f"{COMPOSE}?reply_to={message_id}"))
    assert "<script>alert" not in reply


# --- who may see what (SECURITY C1) --------------------------------------------------------------


@pytest.fixture
def delivered(client, session, referral):
    """A message from the therapist to the psychiatrist, with an attachment; signed out after."""
    referral.signed(session)
    as_therapist(client, referral)
    message_id = sent_id(
        compose(
            client,
            referral,
            attachments=[(PDF, "summary.pdf", "application/pdf")],
        )
    )
    logout(client)
    [message] = stored(session)
    return message_id, message.attachments[0].id


def message_urls(referral, message_id, attachment_id):
    return [
        f"/clinician/messages/{message_id}",
        f"/clinician/messages/{message_id}/attachments/{attachment_id}",
        f"{COMPOSE}?reply_to={message_id}",
        f"{COMPOSE}?client_id={referral.client_id}",
    ]


@pytest.mark.parametrize("org", ["Elsewhere Clinic", "Riverside Counseling"])
def test_a_clinician_who_is_neither_sender_nor_recipient_gets_404_everywhere(
    client, session, referral, delivered, org
):
    # Given a clinician of another practice — or a colleague of the sender: a message is its
    # sender's and its recipient's only
    message_id, attachment_id = delivered
    stranger = make_user(session, Role.CLINICIAN, org=org, name="Lee Stranger")
    login_as(client, stranger.email, stranger.password)
    for url in message_urls(referral, message_id, attachment_id):
        if org == "Riverside Counseling" and "client_id=" in url:
            continue  # the colleague may write about the practice's own client
        assert client.get(url).status_code == 404, url
    if org == "Elsewhere Clinic":
        token = csrf_token(client.get(COMPOSE))
        posted = post_multipart(client, COMPOSE, {**fields(referral), "csrf_token": token})
        assert posted.status_code == 404
        checked = client.post(CHECK, data=fields(referral), headers={"X-CSRFToken": token})
        assert checked.status_code == 404
    api = api_token(client, stranger.email, stranger.password)
    for url in (
        f"/api/v1/messages/{message_id}",
        f"/api/v1/messages/{message_id}/attachments/{attachment_id}",
    ):
        assert client.get(url, headers=bearer(api)).status_code == 404, url
    inbox = text(client.get("/clinician/messages")) + text(
        client.get("/clinician/messages?box=sent")
    )
    assert SUBJECT not in inbox
    assert len(stored(session)) == 1


@pytest.mark.parametrize("who", ["client", "compliance"])
def test_clients_and_compliance_have_no_message_pages(client, session, referral, delivered, who):
    message_id, attachment_id = delivered
    person = (
        referral.client_person
        if who == "client"
        else make_user(session, Role.COMPLIANCE, name="Priya Raman")
    )
    login_as(client, person.email, person.password)
    for url in ["/clinician/messages", *message_urls(referral, message_id, attachment_id)]:
        assert client.get(url).status_code == 403, url
    api = api_token(client, person.email, person.password)
    assert client.get(f"/api/v1/messages/{message_id}", headers=bearer(api)).status_code == 403


def test_navigation_and_the_client_page_lead_to_messages(client, session, referral):
    as_therapist(client, referral)
    overview = text(client.get("/clinician/"))
    assert 'href="/clinician/messages"' in overview
    detail = text(client.get(f"/clinician/clients/{referral.client_id}"))
    assert f'href="/clinician/messages/new?client_id={referral.client_id}"' in detail
    empty = text(client.get("/clinician/messages"))
    assert "Your inbox is empty." in empty
    assert "You have not sent any messages yet." in text(client.get("/clinician/messages?box=sent"))
