"""The paths of the pages roi links to from a mail; the one home for them outside roi.web.

Domain code names a page by one of these functions, and the worker joins the path to ROI_BASE_URL
when it delivers. tests/mail/test_links.py checks each against the web app's routes.
"""

from __future__ import annotations

from urllib.parse import quote


def signing(token: str) -> str:
    """The emailed signing link (roi.web.signing `start`)."""
    return f"/sign/{quote(token, safe='')}"


def password_reset(token: str) -> str:
    """The emailed link to set a new password (roi.web.auth `password_reset_link`)."""
    return f"/password-reset/{quote(token, safe='')}"


def messages() -> str:
    """A clinician's inbox (roi.web.clinician `messages`)."""
    return "/clinician/messages"


def sign_in() -> str:
    """The sign-in page (roi.web.auth `login`)."""
    return "/login"


def portal() -> str:
    """A client's portal (roi.web.portal `dashboard`)."""
    return "/portal/"
