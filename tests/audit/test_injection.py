"""Log injection (SECURITY G5): hostile text is escaped in the canonical JSON, and verifies."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from roi import audit
from roi.actor import Actor, Role
from roi.audit import Action, AuditEntry, Outcome
from roi.db import unit_of_work

HOSTILE = [
    "line\nbreak",
    "carriage\rreturn",
    "\x1b[31mred\x1b[0m",
    'close"}{"action":"auth.login',
    "tab\tand \u2028 line separator and emoji \U0001f600",
]


def test_hostile_text_is_escaped_and_the_chain_verifies(session: Session) -> None:
    # Given entries whose free-form strings hold newlines, escapes and JSON-breaking quotes
    actor = Actor(
        user_id=1, role=Role.CLIENT, organization_id=None, ip="::1", request_id='r"}\n\x1b[0m'
    )
    with unit_of_work(session):
        audit.record(
            session,
            actor,
            Action.DISCLOSURE_DENIED,
            outcome=Outcome.DENY,
            purpose=HOSTILE[3],
            reasons=HOSTILE,
            categories=HOSTILE[:2],
            detail={"code": HOSTILE[2], "list": HOSTILE[:2]},
        )
    session.expire_all()
    entry = session.scalars(select(AuditEntry)).one()
    # Then the stored values come back exactly
    assert entry.reasons == HOSTILE
    assert entry.purpose == HOSTILE[3]
    assert entry.request_id == actor.request_id
    # And the canonical JSON is one line of printable ASCII that parses back to the same values
    encoded = audit.canonical_json(entry)
    assert encoded.isascii()
    assert all(32 <= ord(ch) < 127 for ch in encoded)
    parsed = json.loads(encoded)
    assert parsed["reasons"] == HOSTILE
    assert parsed["action"] == "disclosure.denied"
    assert parsed["detail"] == {"code": HOSTILE[2], "list": HOSTILE[:2]}
    assert encoded == json.dumps(parsed, sort_keys=True, separators=(",", ":"))
    # And the chain verifies
    assert audit.verify(session).ok
