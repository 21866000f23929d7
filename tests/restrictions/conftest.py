"""Restriction fixtures: the emergency folder's referral, officer and API tokens."""

from __future__ import annotations

from tests.emergency.conftest import (
    Referral,
    identity,
    library,
    officer,
    referral,
    signature,
    tokens,
)

__all__ = ["Referral", "identity", "library", "officer", "referral", "signature", "tokens"]
