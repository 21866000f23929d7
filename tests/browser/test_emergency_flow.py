"""An emergency disclosure in the system Chromium: with no release at all, the clinician ticks
"This is an emergency", chooses the basis, states the nature and the receiving personnel,
confirms what will be recorded and sends; the psychiatrist reads it under the emergency banner;
compliance sees it counted on the overview and reviews it with a note."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from roi.accounts.models import Provider
from roi.messaging.models import EmergencyDisclosure
from tests.browser_plugin import sign_in
from tests.factories import make_client_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NATURE = "Client took an overdose an hour ago; now in the emergency department."
PERSONNEL = "Dr. Samuel Okafor, on-call psychiatrist"


def test_an_emergency_goes_out_without_a_release_and_compliance_reviews_it(
    browser, live_url, session, clinician, other_clinician, compliance
):
    # Given a client with no release at all, and a psychiatrist at another practice on roi
    client_row, _ = make_client_user(
        session, clinician, given_name="Noor", family_name="Haddad", email="noor@client.example"
    )
    psychiatrist_id = session.scalar(
        select(Provider.id).where(Provider.user_id == other_clinician.user.id)
    )
    problems: list[str] = []

    # --- The clinician sends as an emergency ----------------------------------------------
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, live_url, clinician.email, clinician.password)
    page.goto(f"{live_url}/clinician/messages/new?client_id={client_row.id}")
    page.locator("select[name=recipient_provider_id]").select_option(str(psychiatrist_id))
    page.get_by_label("Medications and prescriptions").check()
    page.locator("select[name=purpose]").select_option("treatment")
    page.get_by_label("Subject").fill("Medications, urgent")
    page.get_by_label("Message", exact=True).fill("Sertraline 100 mg; lithium 600 mg bid.")
    # the live check says no release covers it
    page.locator("[data-coverage-body]").get_by_text("Not covered.").wait_for()
    page.get_by_label("This is an emergency: send without a release").check()
    page.get_by_label("Bona fide medical emergency (42 CFR 2.51)").check()
    page.get_by_label("Nature of the emergency").fill(NATURE)
    page.get_by_label("Receiving personnel").fill(PERSONNEL)
    # the confirmation says what will be recorded
    confirm = page.locator("#emergency-confirm")
    assert "the nature of the emergency, the receiving personnel" in confirm.text_content()
    page.get_by_label("I confirm this is an emergency").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Send", exact=True).click()
    assert "as an emergency disclosure (42 CFR 2.51)" in page.content()
    message_url = page.url
    context.close()

    # --- The psychiatrist reads it under the banner ------------------------------------------
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_url, other_clinician.email, other_clinician.password)
    page.goto(message_url)
    banner = page.get_by_role("alert").filter(has_text="Emergency disclosure")
    assert NATURE in banner.text_content()
    assert PERSONNEL in banner.text_content()
    context.close()

    # --- Compliance sees it on the overview and reviews it -----------------------------------
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_url, compliance.email, compliance.password)
    page.goto(f"{live_url}/compliance/")
    assert page.locator("#emergencies-waiting").text_content() == "1"
    with page.expect_navigation():
        page.get_by_role("link", name="Review emergency disclosures").click()
    page.get_by_label("Review note").fill("Basis held: ED admission confirmed.")
    with page.expect_navigation():
        page.get_by_role("button", name="Record the review").click()
    expect(page.locator("#no-emergencies")).to_be_visible()
    context.close()
    session.rollback()
    record = session.scalar(select(EmergencyDisclosure))
    assert record.reviewed_at is not None
    assert problems == []
