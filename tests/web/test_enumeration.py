"""No user enumeration at sign-in (SECURITY A3): an unknown email and a known email with the wrong
password get the same status, page, cookies and, within 10 %, the same time."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from http.cookies import SimpleCookie

import pytest

from roi.config import Argon2Parameters
from tests.helpers import CSRF_PATTERN, csrf_token

TRIALS = 100
#: argon2 costly enough (a few ms) that hashing, not database or scheduler noise, sets the pace
TIMING_ARGON2 = Argon2Parameters(time_cost=2, memory_cost=8192, parallelism=1)
UNKNOWN_EMAIL = "nobody.at.all@example.org"


@pytest.fixture
def app_overrides(app_overrides):
    # The throttle would answer 429 after 10 failures and hide what this test looks at; raise it.
    # Every hash (the dummy one included) uses TIMING_ARGON2, as production uses one setting.
    return {
        **app_overrides,
        "argon2": TIMING_ARGON2,
        "throttle_account_limit": 10 * TRIALS,
        "throttle_ip_limit": 10 * TRIALS,
    }


@pytest.fixture
def known(session, clinician):
    """The clinician, with a password hash made with the app's argon2 parameters."""
    from roi.accounts.models import User
    from roi.accounts.passwords import hash_password

    user = session.get(User, clinician.user.id)
    user.password_hash = hash_password(clinician.password, TIMING_ARGON2)
    session.commit()
    return clinician


def normalized(body: str, email: str) -> str:
    """The page without what legitimately differs: the CSRF token and the echoed email."""
    body = CSRF_PATTERN.sub('name="csrf_token" value="TOKEN"', body)
    return body.replace(email, "EMAIL")


def cookie_shape(headers: list[str]) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """Names and attributes of each Set-Cookie, without values and expiry times."""
    shape = []
    for header in headers:
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            attributes = tuple(
                sorted((k, str(v)) for k, v in morsel.items() if v and k not in {"expires"})
            )
            shape.append((name, attributes))
    return sorted(shape)


def attempt(app, email: str) -> tuple[float, int, str, list[str]]:
    """One sign-in with a wrong password from a fresh browser; the POST alone is timed.

    In CPU time of this thread, which serves the request (Flask's test client): the work the
    server does is what an attacker's clock would show, and other processes on a busy machine
    add nothing to it, where they added tens of percent to the wall clock."""
    browser = app.test_client()
    token = csrf_token(browser.get("/login"))
    data = {"email": email, "password": "definitely not the password", "csrf_token": token}
    start = time.thread_time()
    response = browser.post("/login", data=data)
    elapsed = time.thread_time() - start
    return (
        elapsed,
        response.status_code,
        normalized(response.get_data(as_text=True), email),
        response.headers.getlist("Set-Cookie"),
    )


Attempt = tuple[float, int, str, list[str]]


def assert_alike(
    app, attempt: Callable[[object, str], Attempt], known_email: str, trials: int
) -> str:
    """Try a known address and UNKNOWN_EMAIL `trials` times each, in adjacent pairs; assert
    identical status, page and cookie shape, and that the median of the pairs' differences is
    within 10 % of the typical time. Returns the (normalized) page.

    Pairs, not two separate medians: on a loaded machine the CPU time of one request varies by
    a tenth or more (caches shared with whatever else runs), but the two requests of a pair run
    back to back under the same load, so their difference keeps what the paths do differently
    and drops most of what the machine does to both. Two separate medians of 20 once differed
    by 11.7 % between paths that differ by 2 %."""
    # warm both paths (imports, caches, dummy hash)
    for email in (known_email, UNKNOWN_EMAIL):
        attempt(app, email)
    results: dict[str, list[Attempt]] = {"known": [], "unknown": []}
    for n in range(trials):
        order = ("known", "unknown") if n % 2 else ("unknown", "known")
        for kind in order:
            results[kind].append(attempt(app, known_email if kind == "known" else UNKNOWN_EMAIL))
    reference = results["known"][0]
    for kind in ("known", "unknown"):
        for _, status, body, cookies in results[kind]:
            assert status == reference[1]
            assert body == reference[2]
            assert cookie_shape(cookies) == cookie_shape(reference[3])
    typical = statistics.median(r[0] for r in results["unknown"])
    pairs = zip(results["known"], results["unknown"], strict=True)
    apart = statistics.median(known[0] - unknown[0] for known, unknown in pairs)
    assert abs(apart) < 0.10 * typical, (
        f"a known address takes {apart * 1000:+.2f} ms more than an unknown one "
        f"(median of {trials} pairs; an unknown one takes {typical * 1000:.2f} ms)"
    )
    return reference[2]


@pytest.mark.slow
def test_unknown_email_and_wrong_password_look_the_same(app, known):
    # Given a known account and an email nobody has, each tried TRIALS times with a wrong
    # password: status, page and cookie shape are identical, and the pairs' times differ by
    # less than 10 % (median)
    page = assert_alike(app, attempt, known.email, TRIALS)
    assert "do not match an active account" in page


def test_the_email_is_the_only_difference_that_was_normalized(app, known):
    # Given the normalizer above, When a wrong-password page is normalized
    _, _, body, _ = attempt(app, known.email)
    # Then no trace of the email or of a token remains (so equal pages above mean equal pages)
    assert known.email not in body
    assert re.search(r'name="csrf_token"(?: type="hidden")? value="TOKEN"', body)
