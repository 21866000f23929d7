"""The compliance overview in a real browser at 1280 px: every table inside its card, names
wrapped between words only, and the chart's labels no larger than the text around it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from roi.clock import now
from roi.compliance import requests
from roi.compliance.models import Channel
from tests.browser_plugin import sign_in
from tests.factories import make_client

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 900}
LONG_NAME = ("Maximiliana", "Featherstonehaugh-Wolfeschlegelsteinhausen")

# Measured once the page has loaded: boxes, never a wait for a condition
MEASURE = """() => {
  const tables = [...document.querySelectorAll('main table')];
  const shown = tables.filter(t => !t.closest('.visually-hidden'));
  const overflowing = shown.filter(table => {
    const box = table.parentElement.getBoundingClientRect();
    return table.getBoundingClientRect().right > box.right + 0.5;
  }).map(table => table.id);
  const brokenWords = [];
  for (const cell of document.querySelectorAll('main td[data-label="Client"]')) {
    const text = cell.firstChild;
    if (!text || text.nodeType !== Node.TEXT_NODE) continue;
    for (const match of text.data.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(text, match.index);
      range.setEnd(text, match.index + match[0].length);
      if (range.getClientRects().length > 1) brokenWords.push(match[0]);
    }
  }
  const svg = document.querySelector('.overview-chart svg');
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const labels = [...svg.querySelectorAll('text')].map(t => scale * t.getAttribute('font-size'));
  const text = parseFloat(getComputedStyle(document.querySelector('main p')).fontSize);
  return {overflowing, brokenWords, largestLabel: Math.max(...labels), text};
}"""


def test_the_overview_fits_a_1280_px_screen(live_url, page, session, seeded, officer, tmp_path):
    # Given an open accounting request from a client with a long name, and a refused disclosure
    asking = make_client(
        session, seeded.referral.therapist, given_name=LONG_NAME[0], family_name=LONG_NAME[1]
    )
    received = now().date() - timedelta(days=3)
    requests.record(session, officer.actor, requests.NewRequest(asking.id, received, Channel.PHONE))
    # When the officer opens the overview on a desktop screen
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_url, officer.email, officer.password)
    page.goto(f"{live_url}/compliance/")
    page.screenshot(path=str(tmp_path / "overview-1280.png"), full_page=True)
    found = page.evaluate(MEASURE)
    # Then the open requests are listed, no table is cut off and no name breaks inside a word
    assert page.locator("#open-requests").get_by_text(LONG_NAME[1]).is_visible()
    assert found["overflowing"] == []
    assert found["brokenWords"] == []
    # And the chart's labels are no larger than the text
    assert found["largestLabel"] <= found["text"]
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
