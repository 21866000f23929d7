"""Vault failures. They name the place and the key id, never the data or the key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from roi.errors import RoiError

if TYPE_CHECKING:
    from roi.vault.aead import Place


class VaultError(RoiError):
    code, http_status = "crypto_failure", 500


class IntegrityFailure(VaultError):
    """A ciphertext failed authentication: changed, truncated, or moved from another place."""

    code = "crypto_integrity_failure"

    def __init__(self, place: Place) -> None:
        super().__init__(f"stored ciphertext at {place} failed its integrity check")
        self.place = place


class UnknownKeyId(VaultError):
    """A ciphertext names a key the key ring does not hold; no other key is tried."""

    code = "crypto_unknown_key"

    def __init__(self, key_id: str, place: Place) -> None:
        super().__init__(
            f"stored ciphertext at {place} names key id {key_id!r}, not in the key ring"
        )
        self.key_id = key_id
        self.place = place


class KeyRingError(VaultError):
    """The key ring is missing, unreadable or malformed; start-up or the command stops."""

    code = "key_ring_error"


class KeyInUse(VaultError):
    code, http_status = "key_in_use", 409
