"""The disclosure log in a real browser: a table on a desktop, stacked cards on a 375 px phone."""

from __future__ import annotations

import pytest

from tests.browser_plugin import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
CELL_DISPLAY = "getComputedStyle(document.querySelector('.log-table td')).display"


@pytest.mark.parametrize(
    ("viewport", "display"), [(PHONE, "block"), (DESKTOP, "table-cell")], ids=["375px", "desktop"]
)
def test_log_reads_at_every_width(live_url, page, seeded, officer, viewport, display, tmp_path):
    # Given the officer on a screen of this width
    page.set_viewport_size(viewport)
    sign_in(page, live_url, officer.email, officer.password)
    # When they filter the log to disclosures, using the form (no JavaScript needed)
    page.goto(f"{live_url}/compliance/log")
    page.get_by_label("What happened").select_option("disclosures")
    page.get_by_label("Client").select_option(label="Avery, Jordan")
    with page.expect_navigation():
        page.get_by_role("button", name="Show entries").click()
    # Then the URL carries ids and codes only, and the disclosures are listed
    assert "Avery" not in page.url
    assert "Jordan" not in page.url
    assert "group=disclosures" in page.url
    assert page.locator(".log-table tbody tr").count() == 2
    # As a table on a desktop, as stacked cards on a phone, never wider than the screen
    assert page.evaluate(CELL_DISPLAY) == display
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.screenshot(path=str(tmp_path / f"log-{viewport['width']}.png"), full_page=True)
    # And an entry's page fits too
    page.locator(".log-table tbody tr a").first.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Entry #")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.screenshot(path=str(tmp_path / f"entry-{viewport['width']}.png"), full_page=True)
