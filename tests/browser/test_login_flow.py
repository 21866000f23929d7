"""Signing in with a real browser, on a phone and a desktop screen, and what Back shows after
signing out (SECURITY B6)."""

from __future__ import annotations

import pytest

from tests.browser_plugin import sign_in
from tests.factories import make_client

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375px", "desktop"])
def test_clinician_signs_in_and_sees_the_dashboard(live_url, page, clinician, viewport, tmp_path):
    # Given a screen of this width
    page.set_viewport_size(viewport)
    # When the clinician signs in through the form, over http://127.0.0.1
    sign_in(page, live_url, clinician.email, clinician.password)
    # Then the dashboard greets them: the __Host- Secure cookie was kept by Chromium
    assert page.url == f"{live_url}/clinician/"
    assert page.get_by_role("heading", level=1).inner_text().startswith("Good to see you")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["__Host-roi_session"]["secure"] is True
    assert cookies["__Host-roi_session"]["httpOnly"] is True
    # And nothing is wider than the screen (no sideways scrolling on a phone)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= viewport["width"]
    page.screenshot(path=str(tmp_path / f"dashboard-{viewport['width']}.png"), full_page=True)


def test_back_after_sign_out_shows_no_phi_and_reload_asks_to_sign_in(
    live_url, bfcache_page, session, clinician
):
    # Given a browser with its back/forward cache on, as people's browsers have it
    page = bfcache_page
    # And a clinician looking at their client list, which shows a client's name
    make_client(session, clinician, given_name="Marisol", family_name="Quennell")
    sign_in(page, live_url, clinician.email, clinician.password)
    response = page.goto(f"{live_url}/clinician/clients")
    assert response is not None
    assert "Quennell" in page.content()
    # And authenticated pages may not be stored by the browser
    assert "no-store" in response.headers["cache-control"]
    # When they sign out and press Back
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert page.url == f"{live_url}/login"
    # ("commit": a page restored from the back/forward cache fires no new load event)
    page.go_back(wait_until="commit")
    # (evaluate, not wait_for_function: its polling compiles the predicate inside the page,
    # which roi's CSP forbids — 'unsafe-eval' is not allowed)
    page.evaluate(
        """() => new Promise((done) => document.readyState === "complete"
            ? done()
            : addEventListener("load", () => done(), { once: true }))"""
    )
    # Then the client list is not shown again from the cache
    assert "Quennell" not in page.content()
    assert "Marisol" not in page.content()
    # And a reload lands on the sign-in page
    page.reload()
    assert page.url == f"{live_url}/login"
    assert "Quennell" not in page.content()
