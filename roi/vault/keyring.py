"""The key ring: data keys (one primary), the audit chain's MAC key, the checkpoint signing key.

Where keys come from is a `KeyProvider`: the instance file (`keys.json`, mode 0600, written by
`roi init`) or `ROI_KEYS` (the same JSON, injected by a secret manager). A cloud KMS would be a
third provider that stores each key wrapped by a KMS key and unwraps it in `load()`: nothing
outside this module would change, because everything else receives a `KeyRing`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from roi.vault.errors import KeyRingError

KEY_FILE = "keys.json"
KEY_BYTES = 32
FORMAT_VERSION = 1


@dataclass(frozen=True)
class KeyRing:
    primary: str
    data_keys: dict[str, bytes] = field(repr=False)
    audit_mac_key: bytes = field(repr=False)
    checkpoint_key: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"KeyRing(primary={self.primary!r}, key_ids={sorted(self.data_keys)!r})"

    def __post_init__(self) -> None:
        if self.primary not in self.data_keys:
            raise KeyRingError("the key ring's primary key id is not among its data keys")
        for kid, key in self.data_keys.items():
            if len(key) != KEY_BYTES or not kid.isascii() or not 0 < len(kid) < 64:
                raise KeyRingError("every data key must be 32 bytes with a short ASCII id")
        if len(self.audit_mac_key) != KEY_BYTES or len(self.checkpoint_key) != KEY_BYTES:
            raise KeyRingError("the audit and checkpoint keys must be 32 bytes each")

    @classmethod
    def generate(cls) -> KeyRing:
        kid = new_key_id()
        return cls(
            primary=kid,
            data_keys={kid: secrets.token_bytes(KEY_BYTES)},
            audit_mac_key=secrets.token_bytes(KEY_BYTES),
            checkpoint_key=secrets.token_bytes(KEY_BYTES),
        )

    def with_new_primary(self) -> KeyRing:
        """The same ring plus a fresh data key that becomes primary; old keys stay to decrypt."""
        kid = new_key_id()
        while kid in self.data_keys:
            # A colliding id would replace an old key that still protects data.
            kid = new_key_id()
        return KeyRing(
            primary=kid,
            data_keys={**self.data_keys, kid: secrets.token_bytes(KEY_BYTES)},
            audit_mac_key=self.audit_mac_key,
            checkpoint_key=self.checkpoint_key,
        )

    def without(self, kid: str) -> KeyRing:
        if kid == self.primary:
            raise KeyRingError("the primary key cannot be removed")
        if kid not in self.data_keys:
            raise KeyRingError(f"no key {kid!r} in the key ring")
        keys = {k: v for k, v in self.data_keys.items() if k != kid}
        return KeyRing(self.primary, keys, self.audit_mac_key, self.checkpoint_key)

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": FORMAT_VERSION,
                "primary": self.primary,
                "data_keys": {k: _b64(v) for k, v in sorted(self.data_keys.items())},
                "audit_mac_key": _b64(self.audit_mac_key),
                "checkpoint_key": _b64(self.checkpoint_key),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str, source: str) -> KeyRing:
        """Parse the ring; errors name the source, never its contents."""
        try:
            raw = json.loads(text)
            if raw.get("version") != FORMAT_VERSION:
                raise KeyRingError(f"{source}: unsupported key ring version")
            return cls(
                primary=str(raw["primary"]),
                data_keys={str(k): _unb64(v) for k, v in raw["data_keys"].items()},
                audit_mac_key=_unb64(raw["audit_mac_key"]),
                checkpoint_key=_unb64(raw["checkpoint_key"]),
            )
        except KeyRingError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
            raise KeyRingError(f"{source} is not a valid key ring") from None


class KeyProvider(Protocol):
    """Where the ring lives; `writable` says whether roi may store a changed ring there."""

    @property
    def writable(self) -> bool: ...

    def load(self) -> KeyRing: ...

    def store(self, ring: KeyRing) -> None: ...


@dataclass(frozen=True)
class FileKeyProvider:
    path: Path
    writable: bool = True

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> KeyRing:
        try:
            text = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise KeyRingError(f"{self.path} is not a valid key ring") from None
        except FileNotFoundError:
            raise KeyRingError(f"no key ring at {self.path}: run `roi init`") from None
        except OSError as exc:
            raise KeyRingError(f"cannot read the key ring {self.path}: {exc.strerror}") from None
        return KeyRing.from_json(text, str(self.path))

    def store(self, ring: KeyRing) -> None:
        """Write atomically with mode 0600: a crash leaves the old ring or the new, never half."""
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(ring.to_json())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            # Leave no stray copy of the keys behind a failed write (disk full, interrupted).
            tmp.unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@dataclass(frozen=True)
class EnvKeyProvider:
    """ROI_KEYS, injected by a secret manager; roi cannot write it back."""

    text: str = field(repr=False)
    writable: bool = False

    def load(self) -> KeyRing:
        return KeyRing.from_json(self.text, "ROI_KEYS")

    def store(self, ring: KeyRing) -> None:
        raise KeyRingError(
            "ROI_KEYS is set: add the new key in the secret manager and make it primary there"
        )


def provider_for(instance_path: Path, env_keys: str | None) -> KeyProvider:
    """ROI_KEYS when set, otherwise the instance folder's key file."""
    if env_keys:
        return EnvKeyProvider(env_keys)
    return FileKeyProvider(instance_path / KEY_FILE)


def new_key_id() -> str:
    return "k" + secrets.token_hex(4)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)
