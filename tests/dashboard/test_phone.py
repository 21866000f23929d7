"""The compliance overview on a phone (375 px), in the system Chromium: nothing wider than the
screen, the chart scaled down, and no CSP violation from the inline SVG."""

from __future__ import annotations

from datetime import timedelta

import pytest

from roi.clock import now
from roi.errors import ConsentRequired
from tests.browser_plugin import sign_in
from tests.dashboard.conftest import disclose

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 375, "height": 812}


def test_the_overview_fits_a_phone(live_url, page, session, referral, officer, tmp_path):
    # Given refusals to chart and a release about to expire
    referral.signed(session, expires_on=now().date() + timedelta(days=9))
    for _ in range(2):
        with pytest.raises(ConsentRequired):
            disclose(session, referral, purpose="legal_matter")
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    # When the officer opens the overview on a 375 px screen
    page.set_viewport_size(PHONE)
    sign_in(page, live_url, officer.email, officer.password)
    assert page.url == f"{live_url}/compliance/"
    # Then the chart is drawn, scaled to the screen, and nothing scrolls sideways
    chart = page.locator("figure.overview-chart svg")
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] <= PHONE["width"]
    assert box["height"] > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.get_by_role("img", name="Disclosures refused per week").count() == 1
    # the screen-reader table is in the page but takes no room
    hidden = page.locator("#denials-by-week-text").bounding_box()
    assert hidden is not None
    assert hidden["width"] <= 1
    assert violations == []
    page.screenshot(path=str(tmp_path / "compliance-overview-375.png"), full_page=True)
