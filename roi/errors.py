"""Typed domain errors. `roi/web/errors.py` is the only place they become HTML or JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from roi.i18n import N_, Message


class RoiError(Exception):
    """A refusal a person should read: a stable `code` and the HTTP status it maps to.

    `message` is English; make it an `i18n.Message` (or a constant marked with `N_`) and web
    pages show it in the reader's language."""

    code = "error"
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Malformed(RoiError):
    code, http_status = "malformed", 400


class Unauthenticated(RoiError):
    code, http_status = "unauthenticated", 401

    def __init__(self, message: str = N_("Sign in first: no valid token was sent.")) -> None:
        super().__init__(message)


class Forbidden(RoiError):
    code, http_status = "forbidden", 403

    def __init__(self, message: str = N_("Your role does not allow this.")) -> None:
        super().__init__(message)


class NotFound(RoiError):
    """Not found, or not yours: the two are never told apart (CONTRACT.md, SECURITY C1)."""

    code, http_status = "not_found", 404

    def __init__(self, what: str = N_("record")) -> None:
        super().__init__(Message("No such %(what)s.", what=Message(what)))


class WrongState(RoiError):
    code, http_status = "wrong_state", 409


class Invalid(RoiError):
    """Fields that are well-formed but not acceptable, each with a reason."""

    code, http_status = "invalid", 422

    def __init__(self, fields: Mapping[str, str], message: str | None = None) -> None:
        super().__init__(message or N_("Some fields need attention."))
        self.fields = dict(fields)


class Throttled(RoiError):
    code, http_status = "rate_limited", 429

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ConsentRequired(RoiError):
    code, http_status = "consent_required", 403

    def __init__(self, reasons: Sequence[Mapping[str, object]]) -> None:
        """`reasons`: each `{"code", "message", "consent_id"}`, as the gate gives them."""
        super().__init__(N_("No active consent covers this disclosure."))
        self.reasons = [dict(reason) for reason in reasons]


class ConfigError(RoiError):
    """Start-up cannot go on; the message is the one line an operator reads."""

    code, http_status = "config_error", 500
