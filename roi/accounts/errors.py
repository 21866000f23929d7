"""Account refusals; messages never say whether an email address has an account."""

from __future__ import annotations

from roi.errors import RoiError, Throttled
from roi.i18n import N_, Message


class InvalidCredentials(RoiError):
    code, http_status = "invalid_credentials", 401

    def __init__(self) -> None:
        super().__init__(N_("That email and password do not match an active account."))


class LoginThrottled(Throttled):
    def __init__(self, retry_after_seconds: int) -> None:
        minutes = max(1, retry_after_seconds // 60)
        super().__init__(
            Message(
                "Too many sign-in attempts. Wait %(minutes)d minutes, then try again.",
                minutes=minutes,
            ),
            retry_after_seconds,
        )


class MfaRequired(RoiError):
    """The password was right, and the account needs a second factor it did not give."""

    code, http_status = "mfa_required", 401


class SecondFactorRejected(RoiError):
    code, http_status = "mfa_failed", 401

    def __init__(
        self, message: str = N_("That code is not correct, or it was used already.")
    ) -> None:
        super().__init__(message)


class SecondStepEnded(RoiError):
    """Too many wrong codes: the half-signed-in session is over (SECURITY A5)."""

    code, http_status = "mfa_failed", 401

    def __init__(self) -> None:
        super().__init__(N_("Too many wrong codes. Sign in again with your password."))


class DeadLink(RoiError):
    """A password link that is unknown, used or expired: one answer for all (SECURITY A7)."""

    code, http_status = "link_invalid", 400

    def __init__(self) -> None:
        super().__init__(
            N_(
                "This link has expired or was already used. Ask for a new one from the sign-in "
                "page."
            )
        )
