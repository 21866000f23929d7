"""Browser tests use the people of tests/web; the Playwright fixtures come from
tests/browser_plugin.py (a plugin of the root conftest)."""

from __future__ import annotations

from tests.browser_plugin import sign_in
from tests.consent.conftest import library, referral  # noqa: F401 - a referral's people
from tests.web.conftest import (  # noqa: F401 - the people of tests/web, shared here
    admin,
    client_person,
    clinician,
    compliance,
    other_clinician,
)

__all__ = ["sign_in"]
