"""The append-only, hash-chained audit log: `record()` writes it, `verify()` checks it.

`record` is the only way an entry is written; it joins the caller's transaction and never commits.
"""

from __future__ import annotations

from roi.audit.actions import Action, Outcome
from roi.audit.chain import (
    ChainBroken,
    Verification,
    canonical_encoding,
    canonical_fields,
    canonical_json,
    newest_entry_authentic,
    verify,
)
from roi.audit.checkpoint import Checkpoint, InvalidCheckpoint, export_checkpoint, make_checkpoint
from roi.audit.models import AuditEntry, AuditHead
from roi.audit.record import record
from roi.audit.schema import GENESIS_HASH, install_statements

__all__ = [
    "GENESIS_HASH",
    "Action",
    "AuditEntry",
    "AuditHead",
    "ChainBroken",
    "Checkpoint",
    "InvalidCheckpoint",
    "Outcome",
    "Verification",
    "canonical_encoding",
    "canonical_fields",
    "canonical_json",
    "export_checkpoint",
    "install_statements",
    "make_checkpoint",
    "newest_entry_authentic",
    "record",
    "verify",
]
