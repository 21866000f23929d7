"""AES-256-GCM with a key id in every ciphertext and the place bound as associated data.

Blob format, version 1:
    b"\x01" | len(kid) (1 byte) | kid (ASCII) | nonce (12 bytes) | ciphertext+tag.
The associated data is "roi/v1|<table>|<column>|<row uuid>|<kid>", so a blob copied into another
row or column, or given another key id, fails to open. Nonces are random 96-bit values: every
data key is far below the 2^32 encryptions per key that NIST SP 800-38D allows with them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from roi.vault.errors import IntegrityFailure, KeyRingError, UnknownKeyId
from roi.vault.keyring import KeyRing

logger = logging.getLogger(__name__)

VERSION = 1
NONCE_BYTES = 12


@dataclass(frozen=True)
class Place:
    """Where a ciphertext lives: table, column and the row's uuid."""

    table: str
    column: str
    row: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column}[{self.row}]"

    def associated_data(self, kid: str) -> bytes:
        return f"roi/v{VERSION}|{self.table}|{self.column}|{self.row}|{kid}".encode()


class _Active:
    ring: KeyRing | None = None


def use(ring: KeyRing) -> None:
    """Make `ring` the key ring of this process (called once by create_app or the CLI)."""
    _Active.ring = ring


def ring() -> KeyRing:
    if _Active.ring is None:
        raise KeyRingError("no key ring is loaded: run `roi init`")
    return _Active.ring


def seal(plaintext: bytes, place: Place) -> bytes:
    """Encrypt `plaintext` for `place` under the primary key."""
    keys = ring()
    kid = keys.primary
    nonce = os.urandom(NONCE_BYTES)
    body = AESGCM(keys.data_keys[kid]).encrypt(nonce, plaintext, place.associated_data(kid))
    kid_bytes = kid.encode("ascii")
    return bytes([VERSION, len(kid_bytes)]) + kid_bytes + nonce + body


def open_sealed(blob: bytes, place: Place) -> bytes:
    """Decrypt a blob sealed for `place`.

    Raises:
        UnknownKeyId: the blob names a key the ring does not hold.
        IntegrityFailure: the blob was changed, truncated, or belongs to another place.
    """
    kid = key_id_of(blob, place)
    key = ring().data_keys.get(kid)
    if key is None:
        # Fail closed and loudly: an unknown key is an operations incident, not a retry.
        logger.critical("ciphertext at %s names unknown key id %r", place, kid)
        raise UnknownKeyId(kid, place)
    start = 2 + len(kid)
    nonce, body = blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, place.associated_data(kid))
    except InvalidTag:
        logger.critical("ciphertext at %s failed its integrity check", place)
        raise IntegrityFailure(place) from None


def self_test() -> None:
    """Seal a random value under the primary key and open it again: the ring is loaded and works.

    Raises:
        KeyRingError: no key ring is loaded.
        IntegrityFailure: the sealed value did not open to what was sealed.
    """
    place = Place("vault", "self_test", "-")
    probe = os.urandom(16)
    if open_sealed(seal(probe, place), place) != probe:
        raise IntegrityFailure(place)


def key_id_of(blob: bytes, place: Place) -> str:
    """The key id a blob names, from its header.

    Raises:
        IntegrityFailure: the header is not a version-1 header.
    """
    if len(blob) < 2 or blob[0] != VERSION:
        raise IntegrityFailure(place)
    size = blob[1]
    if len(blob) < 2 + size + NONCE_BYTES + 16:
        raise IntegrityFailure(place)
    try:
        return blob[2 : 2 + size].decode("ascii")
    except UnicodeDecodeError:
        raise IntegrityFailure(place) from None


def reseal(blob: bytes, place: Place) -> bytes | None:
    """The blob re-encrypted under the primary key, or None when it already is."""
    if key_id_of(blob, place) == ring().primary:
        return None
    return seal(open_sealed(blob, place), place)


def audit_mac(message: bytes) -> bytes:
    """HMAC-SHA256 with the audit chain key: only holders of the key ring can extend the chain."""
    return hmac.new(ring().audit_mac_key, message, hashlib.sha256).digest()


def sign_checkpoint(message: bytes) -> bytes:
    """An Ed25519 signature over a checkpoint, verifiable with `checkpoint_public_key()`."""
    return Ed25519PrivateKey.from_private_bytes(ring().checkpoint_key).sign(message)


def checkpoint_public_key() -> bytes:
    private = Ed25519PrivateKey.from_private_bytes(ring().checkpoint_key)
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def verify_checkpoint(message: bytes, signature: bytes, public_key: bytes) -> bool:
    """Whether `signature` is the checkpoint key's signature over `message`."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
