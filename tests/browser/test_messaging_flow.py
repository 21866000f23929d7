"""The consent gate as a clinician meets it, in the system Chromium on a phone (375 px): Send to
a psychiatrist is off with the reason beside it; "Create a release for this client" keeps the
message as a draft while the release is created, confirmed and sent; the client signs it in the
portal; the draft is continued and goes through and the psychiatrist reads it; the client
revokes; Send is off again, saying it was revoked."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from roi.accounts.models import Provider
from roi.clock import now
from roi.consent.models import Consent, ConsentStatus
from roi.messaging.models import Message
from tests.browser_plugin import ACTION_TIMEOUT_MS, sign_in
from tests.factories import make_client_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 375, "height": 812}
SUBJECT = "Referral for a medication review"


def phone_page(browser, problems: list[str]):
    """A fresh phone-sized profile; CSP violations and script errors go to `problems`."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    # the refused send is an HTTP 403 page on purpose, so "failed to load" lines are expected
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    return context, page


def fits_the_screen(page) -> None:
    """Nothing wider than the phone: no sideways scrolling."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def write_message(page, base: str, client_id: int, recipient_id: int, body: str) -> None:
    """Open the compose page for the client and fill it in as a clinician would."""
    page.goto(f"{base}/clinician/messages/new?client_id={client_id}")
    page.locator("select[name=recipient_provider_id]").select_option(str(recipient_id))
    page.get_by_label("Diagnosis and treatment summary").check()
    page.locator("select[name=purpose]").select_option("treatment")
    page.get_by_label("Subject").fill(SUBJECT)
    page.get_by_label("Message", exact=True).fill(body)


def test_a_message_waits_for_a_signed_release_and_stops_at_its_revocation(
    browser, live_url, session, clinician, other_clinician, tmp_path
):
    # Given a client with a portal account, and a psychiatrist at another practice on roi
    client_row, client_user = make_client_user(
        session, clinician, given_name="Noor", family_name="Haddad", email="noor@client.example"
    )
    psychiatrist_id = session.scalar(
        select(Provider.id).where(Provider.user_id == other_clinician.user.id)
    )
    problems: list[str] = []

    # --- The clinician tries to message the psychiatrist: blocked, with the reason -------------
    desk, page = phone_page(browser, problems)
    sign_in(page, live_url, clinician.email, clinician.password)
    page.goto(f"{live_url}/clinician/clients/{client_row.id}")
    with page.expect_navigation():
        page.get_by_role("link", name="Send a message about this client").click()
    write_message(page, live_url, client_row.id, psychiatrist_id, "Noor agreed to a review.")
    coverage = page.locator("[data-coverage-body]")
    # the live check answers before anything is sent
    coverage.get_by_text(
        "This client has not authorized you to share information with Samuel Okafor."
    ).wait_for()
    assert "Not covered." in coverage.text_content()
    assert page.locator("[data-preview]").is_hidden()
    # Send is off, with the reason beside it: there is no Send that leads to "Not sent"
    send = page.get_by_role("button", name="Send", exact=True)
    assert send.is_disabled()
    beside = page.locator("#send-blocked")
    assert "has not authorized you to share information with Samuel Okafor" in (
        beside.text_content()
    )
    expect(beside).to_be_visible()
    fits_the_screen(page)
    page.screenshot(path=str(tmp_path / "refused-375.png"), full_page=True)

    # --- It creates the release (the message is kept as a draft) and sends it for signature ---
    with page.expect_navigation():
        page.get_by_role("button", name="Create a release for this client").click()
    assert f"/clinician/clients/{client_row.id}/consents/new" in page.url
    page.locator("select[name=recipient_provider_id]").select_option(str(psychiatrist_id))
    page.get_by_label("Diagnosis and treatment summary").check()
    page.get_by_label("Your treatment and continuity of care").check()
    page.get_by_label("Describe the information specifically").fill(
        "Diagnosis and a treatment summary for a medication review."
    )
    page.get_by_label("Expires on").fill((now().date() + timedelta(days=365)).isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Save draft").click()
    consent_id = int(re.search(r"/clinician/consents/(\d+)", page.url).group(1))
    with page.expect_navigation():
        page.get_by_role("button", name="Send for signature").click()
    assert "noor@client.example" in page.content()
    with page.expect_navigation():
        page.get_by_role("button", name="Looks right — send").click()
    assert "Sent." in page.content()

    # --- The client signs it in the portal ---------------------------------------------------
    portal, client_page = phone_page(browser, problems)
    sign_in(client_page, live_url, client_user.email, client_user.password)
    client_page.goto(f"{live_url}/portal/consents/{consent_id}")
    client_page.get_by_label("Type your full name").fill("Noor Haddad")
    client_page.get_by_label(re.compile("I agree to sign this form electronically")).check()
    with client_page.expect_navigation():
        client_page.get_by_role("button", name="Sign", exact=True).click()
    client_page.get_by_text("Your release is signed and active").wait_for()
    session.rollback()
    assert session.get(Consent, consent_id).status is ConsentStatus.ACTIVE

    # --- Now the kept draft goes through -------------------------------------------------------
    page.goto(f"{live_url}/clinician/clients/{client_row.id}")
    with page.expect_navigation():
        page.get_by_role("link", name="Continue your draft").click()
    assert page.get_by_label("Message", exact=True).input_value() == "Noor agreed to a review."
    page.get_by_label("Message", exact=True).fill("Noor agreed.\nSummary below.")
    coverage.get_by_text(f"consent #{consent_id}").wait_for()
    assert send.is_enabled()
    assert "Covered by consent" in coverage.text_content()
    preview = page.locator("[data-preview]")
    preview.wait_for()
    assert SUBJECT in preview.text_content()
    assert f"Shared under consent #{consent_id}" in preview.text_content()
    fits_the_screen(page)
    page.screenshot(path=str(tmp_path / "covered-375.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Send").click()
    page.get_by_text(f"Sent to Samuel Okafor under consent #{consent_id}.").wait_for()
    assert re.search(r"/clinician/messages/\d+$", page.url)
    fits_the_screen(page)

    # --- The psychiatrist finds it in the inbox and reads it -------------------------------------
    office, reader = phone_page(browser, problems)
    sign_in(reader, live_url, other_clinician.email, other_clinician.password)
    reader.goto(f"{live_url}/clinician/messages")
    row = reader.locator("tr.unread", has_text=SUBJECT)
    expect(row.get_by_text("New", exact=True)).to_be_visible()
    assert "Dana Whitfield" in row.text_content()
    fits_the_screen(reader)
    reader.screenshot(path=str(tmp_path / "inbox-375.png"), full_page=True)
    with reader.expect_navigation():
        reader.get_by_role("link", name=SUBJECT).click()
    assert reader.locator(".message-body").text_content() == "Noor agreed.\nSummary below."
    fits_the_screen(reader)
    reader.screenshot(path=str(tmp_path / "message-375.png"), full_page=True)
    office.close()

    # --- The client revokes it in the portal ---------------------------------------------------
    client_page.goto(f"{live_url}/portal/consents/{consent_id}")
    with client_page.expect_navigation():
        client_page.get_by_role("link", name=re.compile("Revoke this release")).click()
    client_page.get_by_label("Yes, I want to revoke this release now.").check()
    with client_page.expect_navigation():
        client_page.get_by_role("button", name="Revoke this release").click()
    client_page.get_by_role("heading", name=re.compile(r"^Revoked on ")).wait_for()
    portal.close()

    # --- The clinician's next message is blocked, saying why -----------------------------------
    write_message(page, live_url, client_row.id, psychiatrist_id, "One more thing.")
    coverage.get_by_text(f"Consent #{consent_id} was revoked by the client.").wait_for()
    assert page.locator("[data-preview]").is_hidden()
    # the same behaviour as for no release at all: Send off, the reason beside it
    assert send.is_disabled()
    assert f"Consent #{consent_id} was revoked by the client." in beside.text_content()
    page.screenshot(path=str(tmp_path / "revoked-check-375.png"), full_page=True)
    fits_the_screen(page)
    desk.close()

    # Exactly one message went out, under the consent, before the revocation
    session.rollback()
    sent = list(session.scalars(select(Message)))
    assert [m.consent_id for m in sent] == [consent_id]
    # No page broke the Content Security Policy or threw a script error
    assert problems == []
