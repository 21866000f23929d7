"""A page on another site posts a form to roi while the victim is signed in (SECURITY D2): the
request is refused, and nothing is revoked or sent. The other site is 127.0.0.2, roi 127.0.0.1:
for a browser two sites, so the session cookie (SameSite=Lax) stays home and the form carries no
CSRF token either; roi refuses it on the browser's word (Sec-Fetch-Site) before either check,
without a cookie that would sign the victim out."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from roi.audit import Action, AuditEntry
from roi.consent.models import Consent, ConsentStatus
from roi.messaging.models import Message
from tests.browser_plugin import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ELSEWHERE = "127.0.0.2"


def auto_posting_page(action: str, fields: dict[str, str]) -> bytes:
    """A page that posts a hidden form to `action` as soon as it loads, as an attacker's would."""
    inputs = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields.items()
    )
    return (
        f'<!doctype html><html><body><form method="post" action="{escape(action)}">{inputs}'
        "</form><script>document.forms[0].submit()</script></body></html>"
    ).encode()


@contextmanager
def other_site(page_body: bytes) -> Iterator[str]:
    """Serve `page_body` at http://127.0.0.2:<port>/; yields that URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page_body)))
            self.end_headers()
            self.wfile.write(page_body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the test's output for the test

    server = ThreadingHTTPServer((ELSEWHERE, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{ELSEWHERE}:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def visit_and_answer(page, attacker_url: str, target: str):
    """Open the other site's page; the answer roi gave to the form it posted to `target`."""
    with page.expect_response(lambda response: response.url == target) as answer:
        page.goto(attacker_url)
    return answer.value


def test_another_site_cannot_revoke_a_release_for_the_signed_in_client(
    live_url, context, session, referral
):
    # Given a signed release, and its client signed in to the portal
    consent = referral.signed(session)
    page = context.new_page()
    sign_in(page, live_url, referral.client_person.email, referral.client_person.password)
    # When a page on another site posts the revocation form, confirmed
    target = f"{live_url}/portal/consents/{consent.id}/revoke"
    with other_site(auto_posting_page(target, {"confirm": "y", "reason": "forged"})) as elsewhere:
        answer = visit_and_answer(page, elsewhere, target)
    # Then roi refuses it, saying why, and sets no cookie
    assert answer.status == 403
    expect(page.locator("body")).to_contain_text("came from another website")
    assert "set-cookie" not in answer.headers
    # And the release is still active, with no revocation on record
    session.rollback()
    assert session.get(Consent, consent.id).status is ConsentStatus.ACTIVE
    revoked = select(func.count()).where(AuditEntry.action == Action.CONSENT_REVOKED)
    assert session.scalar(revoked) == 0
    # And the client is still signed in in that browser: another site cannot sign them out
    page.goto(f"{live_url}/portal/consents/{consent.id}")
    assert page.url == f"{live_url}/portal/consents/{consent.id}"


def test_another_site_cannot_send_a_message_as_the_signed_in_clinician(
    live_url, context, session, referral
):
    # Given a signed release, and the therapist signed in
    referral.signed(session)
    page = context.new_page()
    sign_in(page, live_url, referral.therapist.email, referral.therapist.password)
    # When a page on another site posts a whole message to the compose form
    target = f"{live_url}/clinician/messages/new"
    fields = {
        "client_id": str(referral.client_id),
        "recipient_provider_id": str(referral.recipient_id),
        "categories": "diagnosis",
        "purpose": "treatment",
        "subject": "Forged",
        "body": "Sent by another site.",
    }
    with other_site(auto_posting_page(target, fields)) as elsewhere:
        answer = visit_and_answer(page, elsewhere, target)
    # Then roi refuses it and no message exists
    assert answer.status == 403
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Message)) == 0
