"""Several hosts reuse the consent referral and the local SMTP server of the mail tests."""

from __future__ import annotations

from tests.consent.conftest import library, referral
from tests.mail.test_transport import real_smtp, smtp_server

__all__ = ["library", "real_smtp", "referral", "smtp_server"]
