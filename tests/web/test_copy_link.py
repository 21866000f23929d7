"""The signer's copy (164.508(c)(4)) and revoking online, through an emailed link with the same
identity check as signing: a PHI-free mail after signing, valid 30 days, re-sendable by the
clinician; the copy link downloads exactly the document of record and revokes while active."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from roi import vault
from roi.audit import Action, AuditEntry
from roi.clock import now
from roi.consent import invitations
from roi.consent.models import ConsentStatus, LinkRequest, SigningInvitation
from roi.db import unit_of_work
from roi.mail import outbox
from tests.helpers import (
    PATIENCE,
    csrf_token,
    delivered_mail,
    login_as,
    logout,
    post_form,
    statements_run,
    until,
    waits_for_a_lock,
    without_tokens,
)
from tests.web import test_signing_link as signing
from tests.web.test_signing_link import BIRTH_DATE, DEAD, ask_for_code, enter, reload, sign

#: the signing-link tests' fixtures: a release sent to a client without an account
link = signing.link
library = signing.library

COPY_SUBJECT = "your copy of the release you signed"


def copy_links(app) -> list[str]:
    """The link paths of every copy mail delivered so far, oldest first."""
    found = []
    for message in delivered_mail(app):
        if COPY_SUBJECT in str(message["Subject"]):
            text = message.get_body(preferencelist=("plain",)).get_content()
            found.append(re.search(r"https://roi\.example\.test(/sign/\S+)", text).group(1))
    return found


def signed_through_the_link(client, link, instance_path):
    client.get(link.url)
    enter(client, BIRTH_DATE, ask_for_code(client, instance_path))
    assert sign(client).status_code == 302


def open_copy(client, path, instance_path, birth_date=BIRTH_DATE):
    opened = client.get(path)
    assert opened.status_code == 302
    return enter(client, birth_date, ask_for_code(client, instance_path))


def test_the_signer_gets_their_copy_and_can_revoke_it_online(
    app, client, session, link, instance_path
):
    # Given a client without an account signed through the emailed link
    signed_through_the_link(client, link, instance_path)
    # Then a mail brings them a link to their copy, naming nothing of the release
    [path] = copy_links(app)
    [mail] = [m for m in delivered_mail(app) if COPY_SUBJECT in str(m["Subject"])]
    text = mail.as_string()
    for phi in ("Casey", "Lindqvist", "Helen Brooks", "Diagnosis", "diagnosis"):
        assert phi not in text
    # When, days later in another browser, they open it: the link alone opens nothing
    later = app.test_client()
    with time_machine.travel(now() + timedelta(days=10), tick=False):
        assert later.get(path).headers["Location"].endswith("/sign/identity")
        assert later.get("/sign/copy").headers["Location"].endswith("/sign/identity")
        # a wrong date of birth is refused
        refused = open_copy(later, path, instance_path, birth_date=BIRTH_DATE.replace(day=28))
        assert refused.status_code == 422
        # the right one leads to the copy
        verified = enter(later, BIRTH_DATE, ask_for_code(later, instance_path))
        assert verified.headers["Location"].endswith("/sign/copy")
        page = later.get("/sign/copy").get_data(as_text=True)
        assert "Download your signed copy" in page
        pdf = later.get("/sign/copy/release.pdf")
        assert pdf.status_code == 200
        stored = reload(session, link.consent.id)
        assert hashlib.sha256(pdf.data).hexdigest() == stored.document_sha256
        # and it cannot be used to sign anything, nor gives a receipt of a revocation not made
        assert later.get("/sign/review").headers["Location"].endswith("/sign/copy")
        early = later.get("/sign/copy/revocation-receipt.pdf")
        assert early.headers["Location"].endswith("/sign/copy")
        assert "this release is not revoked" in later.get("/sign/copy").get_data(as_text=True)
        # When they revoke it, confirming
        unconfirmed = later.post(
            "/sign/copy/revoke", data={"csrf_token": csrf_token(later.get("/sign/copy"))}
        )
        assert unconfirmed.status_code == 422
        revoked = later.post(
            "/sign/copy/revoke",
            data={"confirm": "y", "reason": "", "csrf_token": csrf_token(later.get("/sign/copy"))},
        )
        assert revoked.status_code == 302
        # Then the release is revoked from that moment, by the client, through the link
        stored = reload(session, link.consent.id)
        assert stored.status is ConsentStatus.REVOKED
        assert stored.revocation.method == "link"
        after = later.get("/sign/copy").get_data(as_text=True)
        assert "no longer in effect" in after
        # and their copy is still theirs, with the receipt of the revocation beside it (audited)
        assert later.get("/sign/copy/release.pdf").status_code == 200
        assert "Download revocation receipt (PDF)" in after
        receipt = later.get("/sign/copy/revocation-receipt.pdf")
        assert receipt.status_code == 200
        assert receipt.mimetype == "application/pdf"
        assert receipt.data.startswith(b"%PDF")
        session.rollback()
        downloads = session.scalars(
            select(AuditEntry.detail).where(
                AuditEntry.action == Action.DOCUMENT_DOWNLOADED,
                AuditEntry.consent_id == link.consent.id,
            )
        ).all()
        assert {"document": "revocation_receipt"} in downloads
    # After 30 days the link is dead
    with time_machine.travel(now() + timedelta(days=31), tick=False):
        dead = app.test_client().get(path)
        assert dead.status_code == 404
        assert DEAD in dead.get_data(as_text=True)


def test_a_copy_link_locked_by_wrong_answers_is_named_to_the_clinician(
    app, client, session, link, instance_path
):
    # Given a signer's copy link
    signed_through_the_link(client, link, instance_path)
    [path] = copy_links(app)
    later = app.test_client()
    later.get(path)
    code = ask_for_code(later, instance_path)
    # When five wrong dates of birth are given
    for _ in range(5):
        wrong = enter(later, BIRTH_DATE.replace(day=28), code)
    assert wrong.status_code == 404
    # Then the clinician is told it is the copy link, and what to send
    notices = signing.notices_to_its_clinician(session, link)
    assert (
        f"The link to Casey Lindqvist's copy of release #{link.consent.id} is locked after five "
        "wrong answers to its check. If the client asks, email them a new link to their copy "
        "from the release's page."
    ) in notices


def test_a_signing_link_does_not_open_the_copy_pages(client, link, instance_path):
    client.get(link.url)
    enter(client, BIRTH_DATE, ask_for_code(client, instance_path))
    assert client.get("/sign/copy").status_code == 404
    assert client.post("/sign/copy/revoke", data={}).status_code in (400, 404)


def test_the_clinician_resends_the_copy_link(
    app, client, session, link, instance_path, clinician, other_clinician
):
    signed_through_the_link(app.test_client(), link, instance_path)
    assert len(copy_links(app)) == 1
    # the clinician of the practice sends a new link from the consent page
    assert login_as(client, clinician.email, clinician.password).status_code == 302
    page = f"/clinician/consents/{link.consent.id}"
    assert "Email the client a link to their copy" in client.get(page).get_data(as_text=True)
    sent = post_form(client, page, f"{page}/copy-link", {})
    assert sent.status_code == 302
    assert len(copy_links(app)) == 2
    session.rollback()
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.CONSENT_COPY_SENT)
    ).one()
    assert entry.consent_id == link.consent.id
    # C1: another practice's clinician cannot
    logout(client)
    assert login_as(client, other_clinician.email, other_clinician.password).status_code == 302
    token = csrf_token(client.get("/clinician/clients"))
    foreign = client.post(f"{page}/copy-link", data={"csrf_token": token})
    assert foreign.status_code == 404
    assert len(copy_links(app)) == 2


def test_a_signer_asks_for_the_link_again(app, client, session, link, instance_path):
    # Given a release the client signed through the link more than 30 days ago
    with time_machine.travel(now() - timedelta(days=40), tick=False):
        signed_through_the_link(app.test_client(), link, instance_path)
    assert len(copy_links(app)) == 1
    # When they ask for their links, with any letter case
    page = client.get("/sign/request")
    assert page.status_code == 200
    answer = client.post(
        "/sign/request", data={"email": "Casey@Client.example", "csrf_token": csrf_token(page)}
    )
    assert answer.status_code == 200
    said = without_tokens(answer)
    assert "we have emailed you a link" in said
    # Then a new copy link arrives, and it opens behind the identity check
    assert len(copy_links(app)) == 2
    fresh = copy_links(app)[-1]
    verified = open_copy(app.test_client(), fresh, instance_path)
    assert verified.headers["Location"].endswith("/sign/copy")
    # And asking again at once, or for an unknown address, mails nothing, with the same answer
    for address in ("casey@client.example", "nobody@client.example"):
        again = client.post(
            "/sign/request",
            data={"email": address, "csrf_token": csrf_token(client.get("/sign/request"))},
        )
        assert without_tokens(again) == said
    assert len(copy_links(app)) == 2


def ask_for_links(client, address: str, ip: str = "203.0.113.5"):
    page = client.get("/sign/request")
    return client.post(
        "/sign/request",
        data={"email": address, "csrf_token": csrf_token(page)},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_asking_for_links_is_limited_per_address_and_tells_nothing_of_it(
    app, client, session, link, instance_path
):
    # Given a client who signed 40 days ago: their address is known; another address is not
    with time_machine.travel(now() - timedelta(days=40), tick=False):
        signed_through_the_link(app.test_client(), link, instance_path)
    mailed = len(copy_links(app))
    for address in ("casey@client.example", "nobody@client.example"):
        # When an address is asked about five times, each from another IP address
        for attempt in range(invitations.LINKS_ADDRESS_LIMIT):
            answer = ask_for_links(client, address, ip=f"203.0.113.{attempt + 10}")
            assert answer.status_code == 200
        # Then the sixth is refused with a time to come back, known address or not, alike
        refused = ask_for_links(client, address, ip="198.51.100.7")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        assert "Too many requests for links" in refused.get_data(as_text=True)
    # and no more than the first request's link was mailed (one per release per ten minutes)
    assert len(copy_links(app)) == mailed + 1
    # while another address from the same IP address is still answered
    assert ask_for_links(client, "other@client.example", ip="198.51.100.7").status_code == 200


def test_asking_for_links_is_limited_per_ip_address(app, client, session, monkeypatch):
    monkeypatch.setattr(invitations, "LINKS_IP_LIMIT", 3)
    for n in range(3):
        assert ask_for_links(client, f"person{n}@client.example").status_code == 200
    refused = ask_for_links(client, "person9@client.example")
    assert refused.status_code == 429
    assert "Too many requests for links" in refused.get_data(as_text=True)
    # another IP address is not held up by this one
    assert ask_for_links(client, "person9@client.example", ip="198.51.100.8").status_code == 200


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_asking_for_links_does_the_same_work_whether_the_address_is_known_or_not(
    app, client, session, link, instance_path
):
    # Given a client who signed 40 days ago (their address is known) and an address that is not
    with time_machine.travel(now() - timedelta(days=40), tick=False):
        signed_through_the_link(app.test_client(), link, instance_path)
    mailed, links = len(copy_links(app)), _count(session, SigningInvitation)
    session.rollback()  # what the requests write is read afresh below
    # When each address is asked about
    ran = {}
    for address in ("casey@client.example", "nobody@client.example"):
        with statements_run() as run:
            assert ask_for_links(client, address).status_code == 200
        ran[address] = run
    # Then the page ran the very same statements for both, so it takes as long for either
    # (its answer is the same too), and made no link itself
    assert ran["casey@client.example"] == ran["nobody@client.example"]
    assert _count(session, SigningInvitation) == links
    # and what it kept for the worker does not show the address
    kept = session.scalars(select(LinkRequest.request_sealed)).all()
    assert len(kept) == 2
    assert not any(b"client.example" in sealed for sealed in kept)
    session.rollback()
    # When the worker has answered: the known address has a new link, and no request is kept
    assert len(copy_links(app)) == mailed + 1
    assert _count(session, SigningInvitation) == links + 1
    assert _count(session, LinkRequest) == 0
    # and the log says the signer asked for it, from where
    entry = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == Action.CONSENT_COPY_SENT)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).one()
    assert (entry.consent_id, entry.detail, entry.ip) == (
        link.consent.id,
        {"asked_by": "signer"},
        "203.0.113.5",
    )


def test_a_link_request_another_worker_holds_is_left_to_it(app, engine, is_postgres):
    if not is_postgres:
        pytest.skip("on SQLite one writer at a time answers requests")
    # a worker that would wait for the lock fails after a while instead of hanging the test
    impatient = create_engine(engine.url, connect_args={"options": "-c lock_timeout=10s"})
    settings = app.config["ROI_SETTINGS"]
    try:
        with Session(impatient) as session:
            invitations.request_links(session, "casey@client.example", ip=None, settings=settings)
            # While another worker holds the request
            with Session(engine) as other, other.begin():
                assert other.scalar(select(LinkRequest).with_for_update()) is not None
                # this one passes it by rather than answering it a second time
                assert invitations.answer_link_requests(session) == 0
            # and takes it once the other let go without answering it
            assert invitations.answer_link_requests(session) == 1
            assert _count(session, LinkRequest) == 0
    finally:
        impatient.dispose()


def test_two_workers_answering_requests_for_one_address_send_one_link(
    app, engine, link, instance_path, is_postgres, monkeypatch, caplog
):
    if not is_postgres:
        pytest.skip("on SQLite one writer at a time answers requests")
    # Given a signed release, and two requests for its address (a double submit)
    with time_machine.travel(now() - timedelta(days=40), tick=False):
        signed_through_the_link(app.test_client(), link, instance_path)
    mailed = len(copy_links(app))
    with Session(engine) as session:
        for ip in ("203.0.113.5", "203.0.113.6"):
            invitations.request_links(
                session, "casey@client.example", ip=ip, settings=app.config["ROI_SETTINGS"]
            )
    # and a first worker that has made the link for one, not yet committed
    made, first_may_commit = threading.Event(), threading.Event()
    mail_copy_link = invitations.lifecycle.mail_copy_link

    def first_pauses(session, consent):
        sent = mail_copy_link(session, consent)
        if not made.is_set():
            made.set()
            first_may_commit.wait(PATIENCE)
        return sent

    monkeypatch.setattr(invitations.lifecycle, "mail_copy_link", first_pauses)
    second_pid: list[int] = []
    answered: list[int] = []

    def worker(pids: list[int] | None = None) -> None:
        with Session(engine) as session:
            if pids is not None:
                pids.append(session.scalar(text("SELECT pg_backend_pid()")))
            answered.append(invitations.answer_link_requests(session))

    first = threading.Thread(target=worker)
    first.start()
    assert made.wait(PATIENCE)
    # When a second worker takes the other request meanwhile
    second = threading.Thread(target=worker, args=(second_pid,))
    second.start()
    try:
        # (it waits for the first, or, were it not to, finishes)
        with Session(engine) as watcher:
            until(
                lambda: not second.is_alive() or waits_for_a_lock(watcher, second_pid),
                "the second worker wait or end",
            )
    finally:
        first_may_commit.set()
        first.join(PATIENCE)
        second.join(PATIENCE)
    # Then each worker answered its request, the second without failing: both are done
    assert answered == [1, 1]
    assert "not answered" not in caplog.text
    with Session(engine) as session:
        assert _count(session, LinkRequest) == 0
    # and one link went out, not two
    assert len(copy_links(app)) == mailed + 1


def test_a_link_request_that_fails_waits_for_the_next_pass_and_holds_up_nothing(
    app, session, link, instance_path, monkeypatch, caplog
):
    # Given a client who signed (their address is known), and requests for it and another
    with time_machine.travel(now() - timedelta(days=40), tick=False):
        signed_through_the_link(app.test_client(), link, instance_path)
    mailed = len(copy_links(app))
    settings = app.config["ROI_SETTINGS"]
    for address in ("broken@client.example", "casey@client.example"):
        invitations.request_links(session, address, ip=None, settings=settings)
    answer = invitations._mail_links

    def failing_for_one(session, address, ip):
        if address == "broken@client.example":
            raise RuntimeError(f"cannot answer {address}")
        answer(session, address, ip)

    monkeypatch.setattr(invitations, "_mail_links", failing_for_one)
    # When answering the first fails
    with caplog.at_level(logging.ERROR, logger="roi.consent.invitations"):
        assert invitations.answer_link_requests(session) == 1
    # Then the other was answered and its mail goes out all the same
    assert len(copy_links(app)) == mailed + 1
    # the failed one waits, logged without the address
    assert _count(session, LinkRequest) == 1
    assert "not answered: RuntimeError" in caplog.text
    assert "broken@" not in caplog.text
    session.rollback()
    # it is not taken again at once (a lasting cause does not fill the log every pass)
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="roi.consent.invitations"):
        assert invitations.answer_link_requests(session) == 0
    assert caplog.text == ""
    # but once its wait is over, and failing again it waits twice as long
    with time_machine.travel(now() + outbox.FIRST_RETRY):
        assert invitations.answer_link_requests(session) == 0
        waiting = session.scalars(select(LinkRequest)).one()
        assert waiting.attempts == 2
        assert waiting.next_attempt_at - now() > outbox.FIRST_RETRY * 1.9
        due = waiting.next_attempt_at
    session.rollback()
    # and once its cause is gone, it is answered when that wait is over
    monkeypatch.setattr(invitations, "_mail_links", answer)
    with time_machine.travel(due):
        assert invitations.answer_link_requests(session) == 1
    assert _count(session, LinkRequest) == 0


def test_a_link_request_unanswered_for_a_day_is_dropped(app, session, link, instance_path, caplog):
    # Given a signed release, and a request for its address that waited more than a day
    with time_machine.travel(now() - timedelta(days=40), tick=False):
        signed_through_the_link(app.test_client(), link, instance_path)
    mailed = len(copy_links(app))
    with time_machine.travel(now() - invitations.REQUEST_LIFETIME - timedelta(minutes=1)):
        invitations.request_links(
            session, "casey@client.example", ip=None, settings=app.config["ROI_SETTINGS"]
        )
    # When the worker comes to it, it drops it and says so
    with caplog.at_level(logging.WARNING, logger="roi.consent.invitations"):
        assert invitations.answer_link_requests(session) == 1
    assert "unanswered for a day" in caplog.text
    # Then no link went out, and nothing is kept
    assert len(copy_links(app)) == mailed
    assert _count(session, LinkRequest) == 0


def test_a_link_request_that_cannot_be_opened_is_dropped_and_one_of_a_missing_key_waits(
    app, session, caplog
):
    # Given a request whose sealed part was changed (here: sealed for another row), and one
    # sealed by a key this host's ring does not hold (yet: another host rotated the keys)
    changed = vault.seal(b"{}", vault.Place("link_requests", "request_sealed", "another row"))
    unknown_key = b"\x01\x02k9" + bytes(40)  # version 1, key id "k9", then nonce and body
    requests = [LinkRequest(request_sealed=changed), LinkRequest(request_sealed=unknown_key)]
    with unit_of_work(session):
        session.add_all(requests)
        session.flush()
        changed_id, unknown_id = (request.id for request in requests)
    with caplog.at_level(logging.ERROR, logger="roi.consent.invitations"):
        # Then the worker drops the changed one (no key will ever open it)
        assert invitations.answer_link_requests(session) == 1
    assert f"link request {changed_id} dropped: it cannot be opened" in caplog.text
    # and the audit log keeps the failed check, as for any sealed record (SECURITY F2)
    failure = session.scalars(
        select(AuditEntry).where(AuditEntry.action == Action.CRYPTO_INTEGRITY_FAILURE)
    ).one()
    assert (failure.outcome, failure.actor_role) == ("failure", "system")
    assert failure.reasons == ["crypto_integrity_failure"]
    assert failure.detail == {"link_request": changed_id}
    # and leaves the other for a pass with the key, saying why
    assert f"link request {unknown_id} not answered: UnknownKeyId" in caplog.text
    assert session.scalars(select(LinkRequest.id)).all() == [unknown_id]
