"""The whole signing story in a real browser: a clinician prepares and sends a release; the client
opens the emailed link on a phone (375 px), proves who they are with their date of birth and a
code from their email, draws a signature, signs and downloads the copy; later they sign in and
revoke it. Screenshots of the phone pages go to the test's tmp folder."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from roi.clock import now
from roi.consent.library import FormLibrary
from roi.consent.models import Consent, ConsentStatus
from tests.browser_plugin import ACTION_TIMEOUT_MS, sign_in
from tests.factories import make_client_user, make_provider, stand_in_documents
from tests.helpers import delivered_mail
from tests.web.test_signing_link import BIRTH_DATE as SIGNING_BIRTH_DATE
from tests.web.test_signing_link import FORMS, send_link

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 375, "height": 812}
BIRTH_DATE = date(1984, 7, 9)


def newest_mail(app, subject_contains: str) -> str:
    """The plain-text body of the newest delivered mail whose subject contains the words."""
    for message in reversed(delivered_mail(app)):
        if subject_contains.lower() in str(message["Subject"]).lower():
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            return str(body.get_content())
    raise AssertionError(f"no mail about {subject_contains!r} in the outbox")


def fits_the_screen(page) -> None:
    """Nothing wider than the phone: no sideways scrolling."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def draw_signature(page) -> None:
    """A few strokes on the canvas with the mouse, as a person would sign."""
    canvas = page.locator("canvas.pad")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    assert box["width"] > 200
    x, y, h = box["x"], box["y"], box["height"]
    page.mouse.move(x + 20, y + h * 0.6)
    page.mouse.down()
    for step in range(1, 30):
        page.mouse.move(x + 20 + step * 8, y + h * (0.6 - 0.3 * ((step % 6) / 6)), steps=2)
    page.mouse.up()
    page.mouse.move(x + 60, y + h * 0.75)
    page.mouse.down()
    page.mouse.move(x + 240, y + h * 0.7, steps=10)
    page.mouse.up()


def test_a_release_is_sent_signed_on_a_phone_downloaded_and_revoked(
    browser, app, live_url, session, clinician, instance_path, tmp_path
):
    # Given a client with an email address and an account, and a provider to refer to
    client_row, client_user = make_client_user(
        session,
        clinician,
        given_name="Noor",
        family_name="Haddad",
        birth_date=BIRTH_DATE,
        email="noor@client.example",
    )
    recipient = make_provider(session, clinician, name="Helen Brooks")
    csp_errors: list[str] = []

    # --- The clinician prepares the release and sends it, in the browser ---------------------
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    desk.set_default_timeout(ACTION_TIMEOUT_MS)
    page = desk.new_page()
    sign_in(page, live_url, clinician.email, clinician.password)
    page.goto(f"{live_url}/clinician/clients/{client_row.id}/consents/new")
    page.get_by_role("radio", name=re.compile("Permission to share your health information"))
    page.locator("input[name=template_id][value=general-authorization]").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    page.locator("select[name=recipient_provider_id]").select_option(str(recipient.id))
    page.get_by_label("Diagnosis and treatment summary").check()
    page.get_by_label("Medications and prescriptions").check()
    page.get_by_label("Your treatment and continuity of care").check()
    page.get_by_label("Describe the information specifically").fill(
        "Diagnosis, current medications and a treatment summary."
    )
    page.get_by_label("Expires on").fill((now().date() + timedelta(days=365)).isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Save draft").click()
    consent_id = int(re.search(r"/clinician/consents/(\d+)", page.url).group(1))
    with page.expect_navigation():
        page.get_by_role("button", name="Send for signature").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Looks right — send").click()
    assert "Sent." in page.content()
    desk.close()

    # --- The client opens the emailed link on a phone -----------------------------------------
    invitation = newest_mail(app, "")
    # the mail's link starts with ROI_BASE_URL; the test serves that path on its own port
    found = re.search(r"https://roi\.example\.test(/sign/[A-Za-z0-9_-]+)", invitation)
    assert found, "the invitation mail carries no signing link"
    signing_link = live_url + found.group(1)
    phone = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, accept_downloads=True
    )
    phone.set_default_timeout(ACTION_TIMEOUT_MS)
    page = phone.new_page()
    page.on(
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    token = signing_link.rsplit("/", 1)[1]
    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url))
    page.goto(signing_link)
    # The token left the address bar at once
    assert page.url == f"{live_url}/sign/identity"
    fits_the_screen(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Email me a code").click()
    assert "We emailed you a 6-digit code" in page.content()
    code = re.search(r"\b(\d{6})\b", newest_mail(app, "code")).group(1)
    page.get_by_label("Your date of birth", exact=True).fill(BIRTH_DATE.isoformat())
    page.get_by_label("The 6-digit code from your email", exact=True).fill(code)
    page.screenshot(path=str(tmp_path / "identity-375.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    assert page.url == f"{live_url}/sign/review"

    # The release reads in plain language, fits the phone, and the pad is there (JS ran)
    expect(page.get_by_role("heading", name="How to revoke")).to_be_visible()
    expect(page.locator("canvas.pad")).to_be_visible()
    fits_the_screen(page)
    page.screenshot(path=str(tmp_path / "review-375.png"), full_page=True)
    page.get_by_label("Type your full name").fill("Noor Haddad")
    draw_signature(page)
    page.get_by_label(re.compile("I agree to sign this form electronically")).check()
    page.locator("form.sign-form").screenshot(path=str(tmp_path / "sign-form-375.png"))
    # Touch targets are big enough for a thumb
    for name in ("Sign", "Clear drawing"):
        box = page.get_by_role("button", name=name, exact=True).bounding_box()
        assert box is not None, name
        assert box["height"] >= 44, name
    with page.expect_navigation():
        page.get_by_role("button", name="Sign", exact=True).click()
    assert page.url == f"{live_url}/sign/done"
    fits_the_screen(page)
    page.screenshot(path=str(tmp_path / "done-375.png"), full_page=True)

    # The copy downloads right away, and it is exactly the document of record
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Download your signed copy")).click()
    saved = tmp_path / "release.pdf"
    download_info.value.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"%PDF")
    session.rollback()
    stored = session.get(Consent, consent_id)
    assert stored is not None
    assert stored.status is ConsentStatus.ACTIVE
    assert hashlib.sha256(data).hexdigest() == stored.document_sha256
    assert stored.signature is not None
    assert stored.signature.drawn_signature_sealed
    assert download_info.value.suggested_filename == f"release-{consent_id}.pdf"
    # The token appeared in no URL after the first
    assert [url for url in visited if token in url] == []
    # And the link is used up
    page.goto(signing_link)
    assert "This link is no longer valid" in page.content()
    phone.close()

    # --- Later, the client signs in on the phone and revokes it -------------------------------
    later = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, accept_downloads=True
    )
    later.set_default_timeout(ACTION_TIMEOUT_MS)
    page = later.new_page()
    page.on(
        "console",
        lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    sign_in(page, live_url, client_user.email, client_user.password)
    page.goto(f"{live_url}/portal/")
    fits_the_screen(page)
    page.screenshot(path=str(tmp_path / "portal-375.png"), full_page=True)
    with page.expect_navigation():
        page.locator(f"a.release-link[href='/portal/consents/{consent_id}']").click()
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("Revoke this release")).click()
    fits_the_screen(page)
    page.get_by_label("Yes, I want to revoke this release now.").check()
    page.screenshot(path=str(tmp_path / "revoke-375.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Revoke this release").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Revoked on .* UTC$"))).to_be_visible()
    fits_the_screen(page)
    page.screenshot(path=str(tmp_path / "revoked-375.png"), full_page=True)
    session.rollback()
    stored = session.get(Consent, consent_id)
    assert stored is not None
    assert stored.status is ConsentStatus.REVOKED
    with page.expect_download() as receipt_info:
        page.get_by_role("link", name=re.compile("Download revocation receipt")).click()
    receipt = tmp_path / "receipt.pdf"
    receipt_info.value.save_as(receipt)
    assert receipt.read_bytes().startswith(b"%PDF")
    later.close()
    # No page broke the Content Security Policy (no inline script or style anywhere)
    assert csp_errors == []


def test_a_lapsed_check_keeps_what_the_client_typed_and_drew(
    app, live_url, page, session, clinician
):
    # Given a client who opened their emailed link and proved who they are
    link = send_link(session, clinician, FormLibrary.load(FORMS))
    page.goto(live_url + link.url)
    _prove_identity(app, page, live_url)
    # When they type their name, draw and agree, then press Sign after the check's 30 minutes
    page.get_by_label("Type your full name").fill("Casey Lindqvist")
    draw_signature(page)
    page.get_by_label(re.compile("I agree to sign this form electronically")).check()
    with time_machine.travel(now() + timedelta(minutes=31)):
        with page.expect_navigation():
            page.get_by_role("button", name="Sign", exact=True).click()
        # Then they are asked for their date of birth and a code again, and nothing is signed
        assert page.url == f"{live_url}/sign/identity"
        assert "confirm your date of birth and code again" in page.content()
        session.rollback()
        assert session.get(Consent, link.consent.id).status is ConsentStatus.PENDING_SIGNATURE
        # And once they have, the form is as they left it, saying so, but for the agreement to
        # sign electronically, which they give again on the page they sign
        _prove_identity(app, page, live_url)
        expect(page.get_by_label("Type your full name")).to_have_value("Casey Lindqvist")
        drawn = page.locator("input[name=drawn_signature]").input_value()
        assert drawn.startswith("data:image/png;base64,")
        expect(page.get_by_role("status").filter(has_text="We kept what you typed")).to_be_visible()
        agreement = page.get_by_label(re.compile("I agree to sign this form electronically"))
        expect(agreement).not_to_be_checked()
        # And, the phone turned (the pad fits itself again), the drawing is still in the box
        page.set_viewport_size({"width": 700, "height": 900})
        page.wait_for_function(DRAWN_ON_THE_PAD)
        # And once they agree, Sign signs it, with their drawing
        agreement.check()
        with stand_in_documents(), page.expect_navigation():
            page.get_by_role("button", name="Sign", exact=True).click()
        assert page.url == f"{live_url}/sign/done"
    session.rollback()
    signed = session.get(Consent, link.consent.id)
    assert signed.status is ConsentStatus.ACTIVE
    assert signed.signature.drawn_signature_sealed
    # And the tab keeps no draft once the release is signed
    kept = "Object.keys(sessionStorage).filter((key) => key.startsWith('roi-sign-draft:'))"
    assert page.evaluate(kept) == []


#: true once the signature pad shows something (it is compared with a blank canvas of its size)
DRAWN_ON_THE_PAD = """() => {
  const pad = document.querySelector("canvas.pad");
  const blank = document.createElement("canvas");
  blank.width = pad.width;
  blank.height = pad.height;
  return pad.toDataURL() !== blank.toDataURL();
}"""


def _prove_identity(app, page, live_url: str) -> None:
    """At /sign/identity: ask for a code, then give the date of birth and the code."""
    with page.expect_navigation():
        page.get_by_role("button", name="Email me a code").click()
    code = re.search(r"\b(\d{6})\b", newest_mail(app, "code")).group(1)
    page.get_by_label("Your date of birth", exact=True).fill(SIGNING_BIRTH_DATE.isoformat())
    page.get_by_label("The 6-digit code from your email", exact=True).fill(code)
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    assert page.url == f"{live_url}/sign/review"
