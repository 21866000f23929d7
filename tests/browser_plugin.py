"""Playwright on the system Chromium against the test app served on 127.0.0.1.

A plugin of the root conftest, so every test folder shares one Playwright session (a second
sync_playwright() in the same process fails).

Never downloads a browser: the tests skip, saying why, when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.live import serve_in_thread

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-gpu",
]
#: Playwright's own timeout for each action and navigation, in ms
ACTION_TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def playwright() -> Iterator[object]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing; these tests never download a browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright) -> Iterator[object]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)  # type: ignore[attr-defined]
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def browser_with_bfcache(playwright) -> Iterator[object]:
    """Chromium as people run it: Playwright turns the back/forward cache off by default, and
    that cache is what could show a page again after sign-out (SECURITY B6)."""
    chromium = playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        ignore_default_args=["--disable-back-forward-cache"],
    )
    yield chromium
    chromium.close()


#: the app each live URL serves, so `sign_in` can read the codes of a second factor
LIVE_APPS: dict[str, object] = {}


@pytest.fixture
def live_url(app) -> Iterator[str]:
    """The test app (Secure __Host- cookie and all) on http://127.0.0.1:<free port>."""
    with serve_in_thread(app) as url:
        LIVE_APPS[url] = app
        yield url
        del LIVE_APPS[url]


@pytest.fixture
def context(browser):
    """A fresh browser profile per test: no cookies or cache carried over."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def bfcache_page(browser_with_bfcache):
    context = browser_with_bfcache.new_context()
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context.new_page()
    context.close()


def sign_in(page, base: str, email: str, password: str) -> None:
    """Sign in through the form, as a person does; give an authenticator code when asked."""
    from tests.helpers import SECOND_STEP, totp_code

    password_step(page, base, email, password)
    if page.url.endswith(SECOND_STEP):
        page.get_by_label("Code").fill(totp_code(LIVE_APPS[base], email))  # type: ignore[arg-type]
        with page.expect_navigation():
            page.get_by_role("button", name="Continue").click()


def password_step(page, base: str, email: str, password: str) -> None:
    """The first step of signing in: email and password through the form."""
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
