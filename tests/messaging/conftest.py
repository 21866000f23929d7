"""Messaging fixtures reuse the consent referral: therapist, psychiatrist elsewhere, client."""

from __future__ import annotations

from tests.consent.conftest import Referral, identity, library, referral, signature

__all__ = ["Referral", "identity", "library", "referral", "signature"]
