"""The accounting pages in a real browser on a 375 px phone screen, without JavaScript: tables
become stacked rows, nothing scrolls sideways, and the forms work."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from roi.clock import now
from roi.compliance import requests
from roi.compliance.models import Channel
from tests.accounting.conftest import clock_at, disclose, sign_part2
from tests.browser_plugin import ACTION_TIMEOUT_MS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 375, "height": 812}


@pytest.fixture
def phone(browser) -> Iterator[object]:
    """A phone-sized page with JavaScript off, as some people browse."""
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def measure(browser) -> Iterator[object]:
    """A phone-sized page with JavaScript on, only to measure the layout."""
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context.new_page()
    context.close()


def fits(page, url: str, tmp_path, name: str) -> None:
    page.goto(url)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    assert width <= PHONE["width"], f"{url} is {width}px wide"


@pytest.fixture
def disclosed(session, referral) -> None:
    with clock_at(now() - timedelta(days=5)):
        referral.signed(session)
        sign_part2(session, referral)
        disclose(session, referral, categories=("diagnosis", "medications"))
        disclose(session, referral, categories=("sud_diagnosis",))


def test_compliance_pages_fit_a_phone_and_work_without_javascript(
    live_url,
    phone,
    measure,
    referral,
    session,
    officer,
    disclosed,
    tmp_path,
):
    late = requests.record(
        session,
        officer.actor,
        requests.NewRequest(referral.client_id, now().date() - timedelta(days=70), Channel.PHONE),
    )
    # Given a compliance officer on a phone with JavaScript off
    sign_in(phone, live_url, officer.email, officer.password)
    # When they choose the client from the list and show the accounting
    phone.goto(f"{live_url}/compliance/accounting")
    phone.get_by_label("Client", exact=True).select_option(str(referral.client_id))
    with phone.expect_navigation():
        phone.get_by_role("button", name="Show the accounting").click()
    # Then the rows are stacked, each cell labelled
    assert phone.url.endswith(f"/compliance/accounting/clients/{referral.client_id}")
    cell = phone.locator("table.accounting-table td[data-label='Recipient']").first
    assert cell.evaluate("e => getComputedStyle(e).display") == "block"
    assert "Samuel Okafor" in cell.inner_text()
    # And the Part 2 toggle works as a plain form
    phone.get_by_label("Part 2 disclosures only (42 CFR 2.25, three years by default)").check()
    with phone.expect_navigation():
        phone.get_by_role("button", name="Show", exact=True).click()
    assert "part2=y" in phone.url
    assert phone.locator("table.accounting-table tbody tr").count() == 1
    # And nothing on these pages is wider than the screen
    sign_in(measure, live_url, officer.email, officer.password)
    base = f"{live_url}/compliance/accounting"
    fits(measure, f"{base}/clients/{referral.client_id}", tmp_path, "client")
    fits(measure, f"{base}/requests", tmp_path, "requests")
    fits(measure, f"{base}/requests/{late.id}", tmp_path, "request")
    fits(measure, f"{base}/requests/new", tmp_path, "new")


def test_portal_page_fits_a_phone_and_the_request_works_without_javascript(
    live_url,
    phone,
    measure,
    referral,
    disclosed,
    tmp_path,
):
    person = referral.client_person
    page_url = f"{live_url}/portal/accounting"
    # Given the client on a phone with JavaScript off
    sign_in(phone, live_url, person.email, person.password)
    phone.goto(page_url)
    # Then they see who received their information, as stacked rows
    cell = phone.locator("table.accounting-table td[data-label='Who']").first
    assert "Samuel Okafor" in cell.inner_text()
    assert cell.evaluate("e => getComputedStyle(e).display") == "block"
    # When they ask for a full accounting
    phone.get_by_label("Everything shared about me in the past six years").check()
    with phone.expect_navigation():
        phone.get_by_role("button", name="Ask for a full accounting").click()
    # Then they are told when to expect it, and cannot ask twice meanwhile
    assert "Your practice has your request" in phone.content()
    assert phone.get_by_role("button", name="Ask for a full accounting").count() == 0
    # And the page fits the screen
    sign_in(measure, live_url, person.email, person.password)
    fits(measure, page_url, tmp_path, "portal")


def test_compliance_records_a_subpoena_response_and_the_accounting_lists_it_first(
    live_url,
    phone,
    measure,
    referral,
    officer,
    disclosed,
    tmp_path,
):
    # Given a compliance officer on a phone with JavaScript off, on the client's accounting
    sign_in(phone, live_url, officer.email, officer.password)
    page_url = f"{live_url}/compliance/accounting/clients/{referral.client_id}"
    phone.goto(page_url)
    # When they record the records mailed to a court in answer to a subpoena
    with phone.expect_navigation():
        phone.get_by_role("link", name="Record a disclosure made outside roi").click()
    phone.get_by_label("Day it was disclosed").fill((now().date() - timedelta(days=1)).isoformat())
    phone.get_by_label("Or the recipient's name").fill("Clerk of the Family Court")
    phone.get_by_label("Their address").fill("100 Main St, Springfield")
    phone.get_by_label("What was disclosed").fill("Treatment dates and the intake assessment")
    phone.get_by_label("Why").fill("Subpoena duces tecum")
    phone.get_by_label("Basis").select_option("judicial")
    with phone.expect_navigation():
        phone.get_by_role("button", name="Record the disclosure").click()
    # Then they are back on the accounting, which lists it first, under what HIPAA requires,
    # and the authorized disclosures beyond it
    assert phone.url.endswith(f"/compliance/accounting/clients/{referral.client_id}")
    required = phone.locator("section[aria-labelledby='required-heading']")
    assert "Clerk of the Family Court" in required.inner_text()
    assert "Judicial or administrative proceeding" in required.inner_text()
    beyond = phone.locator("section[aria-labelledby='beyond-heading']")
    assert "Samuel Okafor" in beyond.inner_text()
    assert "Clerk of the Family Court" not in beyond.inner_text()
    # And the new pages fit the screen
    sign_in(measure, live_url, officer.email, officer.password)
    fits(measure, page_url, tmp_path, "client-with-outside")
    fits(measure, f"{page_url}/disclosures/new", tmp_path, "outside-form")
    fits(measure, f"{live_url}/compliance/accounting/suspensions", tmp_path, "suspensions")
