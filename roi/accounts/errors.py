"""Account refusals; messages never say whether an email address has an account."""

from __future__ import annotations

from roi.errors import RoiError, Throttled


class InvalidCredentials(RoiError):
    code, http_status = "invalid_credentials", 401

    def __init__(self) -> None:
        super().__init__("That email and password do not match an active account.")


class LoginThrottled(Throttled):
    def __init__(self, retry_after_seconds: int) -> None:
        minutes = max(1, retry_after_seconds // 60)
        super().__init__(
            f"Too many sign-in attempts. Wait {minutes} minutes, then try again.",
            retry_after_seconds,
        )
