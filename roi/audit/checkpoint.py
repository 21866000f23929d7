"""Signed checkpoints: an Ed25519 signature over (seq, hash, time) of a verified chain.

The HMAC chain shows that no entry was changed, removed from the middle or forged, but someone
with database access can cut entries from the end and move the head row back. A checkpoint
exported and kept elsewhere (SECURITY G2, I3) shows how far the log reached when it was made:
`verify(session, checkpoint=...)` then names the first missing seq.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from roi import vault
from roi.actor import Actor
from roi.audit.actions import Action
from roi.audit.chain import ChainBroken, iso_micro, verify
from roi.audit.record import record
from roi.clock import now
from roi.db import unit_of_work
from roi.errors import RoiError

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
#: domain separation: a checkpoint signature can never be mistaken for another signed message
_SIGNING_CONTEXT = b"roi-audit-checkpoint/v1\n"
_HEX = frozenset("0123456789abcdef")


class InvalidCheckpoint(RoiError):
    """A checkpoint file that is malformed or not signed by this installation's key."""

    code, http_status = "invalid_checkpoint", 400


@dataclass(frozen=True)
class Checkpoint:
    """How far the chain reached at `at`: its last seq and that entry's hash, signed."""

    seq: int
    hash: str
    at: datetime
    signature: bytes
    public_key: bytes

    @staticmethod
    def message(seq: int, hash_: str, at: datetime) -> bytes:
        """The bytes the signature covers (canonical JSON, like the chain's entries)."""
        body = json.dumps(
            {"at": iso_micro(at), "hash": hash_, "seq": seq, "v": FORMAT_VERSION},
            sort_keys=True,
            separators=(",", ":"),
        )
        return _SIGNING_CONTEXT + body.encode("ascii")

    def signature_valid(self) -> bool:
        """Whether this installation's checkpoint key signed exactly these fields."""
        return self.public_key == vault.checkpoint_public_key() and vault.verify_checkpoint(
            self.message(self.seq, self.hash, self.at), self.signature, self.public_key
        )

    def require_valid(self) -> None:
        """Refuse a checkpoint this installation did not sign.

        Raises:
            InvalidCheckpoint: the signature or the public key is not ours.
        """
        if not self.signature_valid():
            logger.warning("refused an audit checkpoint at seq %s: bad signature", self.seq)
            raise InvalidCheckpoint("the checkpoint's signature does not verify with this key ring")

    def to_json(self) -> str:
        """The checkpoint file's text; bytes are base64, the time is UTC with a `Z`."""
        return json.dumps(
            {
                "version": FORMAT_VERSION,
                "seq": self.seq,
                "hash": self.hash,
                "at": iso_micro(self.at),
                "signature": base64.b64encode(self.signature).decode("ascii"),
                "public_key": base64.b64encode(self.public_key).decode("ascii"),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        """Parse a checkpoint file; the signature is checked later, by `verify`.

        Raises:
            InvalidCheckpoint: the text is not a version-1 checkpoint.
        """
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict) or raw.get("version") != FORMAT_VERSION:
                raise InvalidCheckpoint("not a version-1 audit checkpoint")
            seq, hash_ = raw["seq"], raw["hash"]
            if type(seq) is not int or seq < 0:
                raise InvalidCheckpoint("the checkpoint's seq is not a count")
            if not isinstance(hash_, str) or len(hash_) != 64 or not set(hash_) <= _HEX:
                raise InvalidCheckpoint("the checkpoint's hash is not 64 hex digits")
            at = datetime.fromisoformat(raw["at"])
            if at.tzinfo is None:
                raise InvalidCheckpoint("the checkpoint's time has no offset")
            return cls(
                seq=seq,
                hash=hash_,
                at=at,
                signature=base64.b64decode(raw["signature"], validate=True),
                public_key=base64.b64decode(raw["public_key"], validate=True),
            )
        except InvalidCheckpoint:
            raise
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise InvalidCheckpoint("the checkpoint file is malformed") from None


def make_checkpoint(session: Session) -> Checkpoint:
    """Verify the chain and sign how far it reaches; reads only, so it takes no write lock.

    Signing only a verified chain means a checkpoint never vouches for a tampered log.

    Raises:
        ChainBroken: the chain does not verify.
        KeyRingError: no key ring is loaded.
    """
    result = verify(session)
    if not result.ok:
        raise ChainBroken(result)
    at = now()
    signature = vault.sign_checkpoint(Checkpoint.message(result.entries, result.head_hash, at))
    return Checkpoint(
        seq=result.entries,
        hash=result.head_hash,
        at=at,
        signature=signature,
        public_key=vault.checkpoint_public_key(),
    )


def export_checkpoint(session: Session, *, actor: Actor) -> Checkpoint:
    """Make a checkpoint and record that it was exported (`audit.checkpoint`), then commit.

    The entry names the checkpoint's seq and hash, so the log itself shows which checkpoints exist.

    Raises:
        ChainBroken: the chain does not verify; nothing is recorded.
        KeyRingError: no key ring is loaded.
    """
    checkpoint = make_checkpoint(session)
    with unit_of_work(session):
        record(
            session,
            actor,
            Action.AUDIT_CHECKPOINT,
            detail={"checkpoint_seq": checkpoint.seq, "checkpoint_hash": checkpoint.hash},
        )
    logger.info("audit checkpoint exported at seq %s", checkpoint.seq)
    return checkpoint
