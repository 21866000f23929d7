"""The only code that touches keys: sealing, the audit MAC, checkpoint signatures, rotation."""

from __future__ import annotations

from roi.vault.aead import (
    Place,
    audit_mac,
    checkpoint_public_key,
    key_id_of,
    open_sealed,
    reseal,
    ring,
    seal,
    self_test,
    sign_checkpoint,
    use,
    verify_checkpoint,
)
from roi.vault.errors import IntegrityFailure, KeyInUse, KeyRingError, UnknownKeyId, VaultError
from roi.vault.keyring import KeyRing, provider_for

__all__ = [
    "IntegrityFailure",
    "KeyInUse",
    "KeyRing",
    "KeyRingError",
    "Place",
    "UnknownKeyId",
    "VaultError",
    "audit_mac",
    "checkpoint_public_key",
    "key_id_of",
    "open_sealed",
    "provider_for",
    "reseal",
    "ring",
    "seal",
    "self_test",
    "sign_checkpoint",
    "use",
    "verify_checkpoint",
]
