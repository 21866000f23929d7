"""Dashboard fixtures: the consent referral, compliance officers of both practices, and a way to
disclose (or be refused) through the real gate."""

from __future__ import annotations

from tests.fhir.conftest import (
    Referral,
    disclose,
    identity,
    library,
    officer,
    other_officer,
    referral,
    signature,
)

__all__ = [
    "Referral",
    "disclose",
    "identity",
    "library",
    "officer",
    "other_officer",
    "referral",
    "signature",
]
