"""Verifying the audit chain on an officer's request, and the last verification recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from roi import audit
from roi.accounts.policy import Permission, require
from roi.actor import Actor
from roi.audit import Action, Outcome, Verification, search
from roi.db import unit_of_work


@dataclass(frozen=True)
class LastVerification:
    """The newest recorded chain verification (for the compliance overview)."""

    seq: int
    at: datetime
    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None


def verify_chain(session: Session, actor: Actor) -> Verification:
    """Verify the whole audit chain now and record that it was done, and the answer.

    Raises:
        Forbidden: the actor may not verify the chain.
    """
    require(actor, Permission.VERIFY_AUDIT_CHAIN)
    # The walk reads outside the write transaction: on SQLite a write transaction holds the
    # database's one write lock, and a million entries take about 25 s to walk.
    result = audit.verify(session)
    with unit_of_work(session):
        audit.record(
            session,
            actor,
            Action.AUDIT_VERIFIED,
            outcome=Outcome.SUCCESS if result.ok else Outcome.FAILURE,
            detail={
                "ok": result.ok,
                "entries": result.entries,
                "head_hash": result.head_hash,
                "first_bad_seq": result.first_bad_seq,
            },
        )
    return result


def last_verification(session: Session, actor: Actor) -> LastVerification | None:
    """The newest chain verification anyone recorded (the chain is one for the installation).

    Raises:
        Forbidden: the actor may not verify the chain.
    """
    require(actor, Permission.VERIFY_AUDIT_CHAIN)
    entry = search.newest(session, Action.AUDIT_VERIFIED)
    if entry is None:
        return None
    detail = entry.detail or {}
    first_bad = detail.get("first_bad_seq")
    return LastVerification(
        seq=entry.seq,
        at=entry.at,
        ok=detail.get("ok") is True,
        entries=int(detail.get("entries") or 0),
        head_hash=str(detail.get("head_hash") or ""),
        first_bad_seq=first_bad if isinstance(first_bad, int) else None,
    )
