"""The chain: what record() writes, and that verify() names the first bad seq (SECURITY G2)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from roi import audit
from roi.accounts.models import Organization
from roi.actor import Actor
from roi.audit import GENESIS_HASH, Action, AuditEntry, AuditHead, Outcome
from roi.audit.chain import canonical_encoding, canonical_fields
from roi.db import unit_of_work
from roi.vault.keyring import KeyRing
from tests.audit.helpers import CLINICIAN, append, count_entries, tamper


def test_empty_log_verifies(session: Session) -> None:
    result = audit.verify(session)
    assert result == audit.Verification(ok=True, entries=0, head_hash=GENESIS_HASH)


def test_entries_form_a_gapless_linked_chain(session: Session, keyring: KeyRing) -> None:
    # Given three entries
    entries = append(session, 3)
    # Then seq runs 1..3, each links to the one before, and each hash is the MAC it should be
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [e.seq for e in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS_HASH
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    first = rows[0]
    values = {name: getattr(first, name) for name in audit.chain.CHAINED_FIELDS}
    message = canonical_encoding(canonical_fields(values)) + GENESIS_HASH.encode()
    assert first.hash == hmac.new(keyring.audit_mac_key, message, hashlib.sha256).hexdigest()
    # And the head row points at the last entry
    head = session.get(AuditHead, 1)
    assert head is not None
    assert (head.seq, head.hash) == (3, entries[-1].hash)
    assert audit.verify(session) == audit.Verification(True, 3, entries[-1].hash)


def test_entry_carries_actor_and_references(session: Session) -> None:
    actor = Actor(
        user_id=5,
        role=CLINICIAN.role,
        organization_id=2,
        ip="198.51.100.4",
        request_id="req-9",
        client_id=None,
    )
    with unit_of_work(session):
        audit.record(
            session,
            actor,
            Action.DISCLOSURE_DENIED,
            outcome=Outcome.DENY,
            client_id=11,
            consent_id=12,
            recipient_provider_id=13,
            message_id=None,
            categories={"substance_use", "diagnosis"},
            purpose="treatment",
            reasons=["consent_revoked"],
            detail={"consent_ids": [12]},
        )
    session.expire_all()
    entry = session.scalars(select(AuditEntry)).one()
    assert (entry.actor_id, entry.actor_role, entry.organization_id) == (5, "clinician", 2)
    assert (entry.ip, entry.request_id) == ("198.51.100.4", "req-9")
    assert entry.action is Action.DISCLOSURE_DENIED
    assert entry.outcome is Outcome.DENY
    assert (entry.client_id, entry.consent_id, entry.recipient_provider_id) == (11, 12, 13)
    assert entry.categories == ["diagnosis", "substance_use"]
    assert entry.reasons == ["consent_revoked"]
    assert entry.detail == {"consent_ids": [12]}
    assert entry.at.tzinfo is UTC


def test_several_entries_in_one_transaction_chain_in_order(session: Session) -> None:
    with unit_of_work(session):
        first = audit.record(session, CLINICIAN, Action.CONSENT_SIGNED, consent_id=1)
        second = audit.record(session, CLINICIAN, Action.DISCLOSURE_PERMITTED, consent_id=1)
    assert (first.seq, second.seq, second.prev_hash) == (1, 2, first.hash)
    assert audit.verify(session).entries == 2


def test_an_entry_written_with_new_rows_names_them_and_the_chain_holds(session: Session) -> None:
    # Given an entry before, and a new row the next entry names (any row with an id will do)
    audit.record(session, CLINICIAN, Action.AUTH_LOGIN)
    practice = Organization(name="North Clinic")
    # When the entry is recorded with the row written in its step (a send's message)
    with unit_of_work(session):
        entry = audit.record(
            session, CLINICIAN, Action.DISCLOSURE_PERMITTED, message_id=practice, writing=[practice]
        )
    # Then the row is written, the entry names it and follows the one before, and the log verifies
    assert session.get(Organization, practice.id) is not None
    stored = session.scalars(select(AuditEntry).where(AuditEntry.seq == 2)).one()
    assert stored.message_id == entry.message_id == practice.id
    assert audit.verify(session).ok
    # and the head moved once: the next entry is the third
    assert audit.record(session, CLINICIAN, Action.AUTH_LOGIN).seq == 3


def test_an_entry_naming_a_row_it_does_not_write_is_refused_before_the_head_moves(
    session: Session,
) -> None:
    # When an entry names a row by itself that it is not given to write
    practice = Organization(name="North Clinic")
    with pytest.raises(ValueError, match="only when it writes it"):
        audit.record(session, CLINICIAN, Action.DISCLOSURE_PERMITTED, message_id=practice)
    session.rollback()
    # Then nothing was written and the next entry is the first
    assert count_entries(session) == 0
    assert audit.record(session, CLINICIAN, Action.AUTH_LOGIN).seq == 1


def test_an_entry_written_with_new_rows_recreates_a_missing_head_row(session: Session) -> None:
    # Given a log whose head row has gone
    append(session, 2)
    session.execute(text("DELETE FROM audit_head"))
    session.commit()
    # When an entry is recorded with a new row, then the row is written once and the chain goes on
    practice = Organization(name="North Clinic")
    with unit_of_work(session):
        entry = audit.record(session, CLINICIAN, Action.AUTH_LOGIN, writing=[practice])
    assert entry.seq == 3
    assert session.scalars(select(Organization.id)).all() == [practice.id]
    assert audit.verify(session).ok


def test_system_actor_is_recorded_as_such(session: Session) -> None:
    with unit_of_work(session):
        entry = audit.record(session, Actor.system(request_id="cli-1"), Action.KEYS_ROTATED)
    assert (entry.actor_id, entry.actor_role, entry.request_id) == (None, "system", "cli-1")


def test_record_never_commits(session: Session) -> None:
    # Given an entry recorded in a transaction that is then rolled back
    audit.record(session, CLINICIAN, Action.AUTH_LOGIN)
    session.rollback()
    # Then neither the entry nor the head's move survives, and the next entry is seq 1
    assert count_entries(session) == 0
    assert append(session, 1)[0].seq == 1


@pytest.mark.parametrize(
    "detail",
    [{"note": 1.5}, {"nested": {"a": 1}}, {"text": "x" * 3000}, {1: "id"}, {"s": "a\x00b"}],
)
def test_detail_refuses_anything_but_small_ids_and_codes(session: Session, detail: dict) -> None:
    with pytest.raises(ValueError, match="audit"):
        audit.record(session, CLINICIAN, Action.AUTH_LOGIN, detail=detail)


def test_verify_walks_in_batches(session: Session) -> None:
    append(session, 7)
    assert audit.verify(session, batch_size=2).entries == 7


def test_record_recreates_a_missing_head_row(session: Session) -> None:
    # Given a log whose head row has gone (a truncated or hand-built schema)
    append(session, 2)
    session.execute(text("DELETE FROM audit_head"))
    session.commit()
    # When another entry is recorded, then it continues the chain
    assert append(session, 1)[0].seq == 3
    assert audit.verify(session).ok


# --- G2: tampering through raw SQL, past the triggers ----------------------------------------


def _forged_hash() -> str:
    return hmac.new(b"not the key", b"forged", hashlib.sha256).hexdigest()


TAMPERING = {
    "modified field": (["UPDATE audit_entries SET client_id = 999 WHERE seq = 5"], 5),
    "modified outcome": (["UPDATE audit_entries SET outcome = 'permit' WHERE seq = 4"], 4),
    "unknown action": (["UPDATE audit_entries SET action = 'bogus' WHERE seq = 6"], 6),
    "malformed json": (["UPDATE audit_entries SET detail = '{not json' WHERE seq = 6"], 6),
    "malformed time": (["UPDATE audit_entries SET at = 'yesterday' WHERE seq = 7"], 7),
    "deleted middle row": (["DELETE FROM audit_entries WHERE seq = 5"], 5),
    "swapped rows": (
        [
            "UPDATE audit_entries SET seq = -1 WHERE seq = 4",
            "UPDATE audit_entries SET seq = 4 WHERE seq = 5",
            "UPDATE audit_entries SET seq = 5 WHERE seq = -1",
        ],
        4,
    ),
    "relinked after delete": (
        [
            "DELETE FROM audit_entries WHERE seq = 5",
            "UPDATE audit_entries SET prev_hash = "
            "(SELECT hash FROM audit_entries WHERE seq = 4) WHERE seq = 6",
        ],
        5,
    ),
}


@pytest.mark.parametrize("kind", sorted(TAMPERING))
def test_tampering_names_the_first_bad_seq(session: Session, is_postgres: bool, kind: str) -> None:
    # Given ten intact entries
    append(session, 10)
    statements, bad_seq = TAMPERING[kind]
    if is_postgres and kind.startswith("malformed"):
        pytest.skip("PostgreSQL's column types refuse malformed values on write")
    # When an attacker with owner access changes them
    tamper(session, is_postgres, *statements)
    # Then the verifier names the first bad seq, in small batches as in one
    for batch_size in (3, 1000):
        result = audit.verify(session, batch_size=batch_size)
        assert (result.ok, result.first_bad_seq) == (False, bad_seq), result
        assert result.entries == bad_seq - 1
        assert result.reason


def test_forged_row_at_the_end_is_found(session: Session, is_postgres: bool) -> None:
    # Given ten entries, and a forged eleventh made without the key but linked and in the head
    entries = append(session, 10)
    forged = _forged_hash()
    tamper(
        session,
        is_postgres,
        "INSERT INTO audit_entries (seq, at, actor_role, action, outcome, prev_hash, hash) "
        f"VALUES (11, '2026-11-23 10:00:00', 'admin', 'auth.login', 'success', "
        f"'{entries[-1].hash}', '{forged}')",
        f"UPDATE audit_head SET seq = 11, hash = '{forged}'",
    )
    # Then it is named
    result = audit.verify(session)
    assert (result.ok, result.first_bad_seq, result.entries) == (False, 11, 10)


def test_row_written_past_the_head_is_found(session: Session, is_postgres: bool) -> None:
    # Given a correctly chained entry whose head update was rolled back by hand
    append(session, 3)
    tamper(
        session,
        is_postgres,
        "UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_entries WHERE seq = 2)",
    )
    result = audit.verify(session)
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_cut_tail_is_found_against_the_head(session: Session, is_postgres: bool) -> None:
    # Given ten entries of which the last five are deleted (the head is left alone)
    append(session, 10)
    tamper(session, is_postgres, "DELETE FROM audit_entries WHERE seq > 5")
    # Then the verifier names seq 6
    result = audit.verify(session)
    assert (result.ok, result.first_bad_seq) == (False, 6)


# --- checkpoints ------------------------------------------------------------------------------


def _cut_tail_and_head(session: Session, is_postgres: bool, keep: int) -> None:
    tamper(
        session,
        is_postgres,
        f"DELETE FROM audit_entries WHERE seq > {keep}",
        "UPDATE audit_head SET seq = COALESCE((SELECT max(seq) FROM audit_entries), 0), "
        f"hash = COALESCE((SELECT hash FROM audit_entries WHERE seq = "
        f"(SELECT max(seq) FROM audit_entries)), '{GENESIS_HASH}')",
    )


def test_checkpoint_round_trips_through_json(session: Session) -> None:
    append(session, 4)
    checkpoint = audit.make_checkpoint(session)
    assert (checkpoint.seq, checkpoint.hash) == (4, audit.verify(session).head_hash)
    again = audit.Checkpoint.from_json(checkpoint.to_json())
    assert again == checkpoint
    assert again.signature_valid()


def test_checkpoint_finds_a_cut_tail_even_when_the_head_was_moved(
    session: Session, is_postgres: bool
) -> None:
    # Given a checkpoint at seq 10, then five more entries, then the last five cut (head too)
    append(session, 10)
    checkpoint = audit.make_checkpoint(session)
    append(session, 5)
    _cut_tail_and_head(session, is_postgres, keep=5)
    # Then the chain alone looks intact, but against the checkpoint seq 6 is named
    assert audit.verify(session).ok
    result = audit.verify(session, checkpoint=checkpoint)
    assert (result.ok, result.first_bad_seq, result.entries) == (False, 6, 5)


def test_checkpoint_passes_on_an_extended_log(session: Session) -> None:
    append(session, 3)
    checkpoint = audit.make_checkpoint(session)
    append(session, 3)
    assert audit.verify(session, checkpoint=checkpoint) == audit.Verification(
        True, 6, audit.verify(session).head_hash
    )


def test_checkpoint_finds_a_rewritten_history(
    session: Session, is_postgres: bool, keyring: KeyRing
) -> None:
    # Given a checkpoint at seq 3, after which history is rewritten by someone holding the key
    append(session, 3)
    checkpoint = audit.make_checkpoint(session)
    _cut_tail_and_head(session, is_postgres, keep=0)
    append(session, 4)
    # Then the chain verifies, but not against the checkpoint
    assert audit.verify(session).ok
    result = audit.verify(session, checkpoint=checkpoint)
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_forged_checkpoint_is_refused(session: Session) -> None:
    append(session, 3)
    checkpoint = audit.make_checkpoint(session)
    # A checkpoint claiming less than was signed
    lowered = audit.Checkpoint(
        2, checkpoint.hash, checkpoint.at, checkpoint.signature, checkpoint.public_key
    )
    with pytest.raises(audit.InvalidCheckpoint):
        audit.verify(session, checkpoint=lowered)


def test_checkpoint_signed_by_another_key_ring_is_refused(session: Session) -> None:
    from roi import vault

    # Given a checkpoint over our chain, signed with another installation's key
    append(session, 3)
    ours = audit.make_checkpoint(session)
    own_ring = vault.ring()
    vault.use(KeyRing.generate())
    try:
        message = audit.Checkpoint.message(ours.seq, ours.hash, ours.at)
        signature, public_key = vault.sign_checkpoint(message), vault.checkpoint_public_key()
    finally:
        vault.use(own_ring)
    # Then it is refused, whether it names the other key or claims ours
    for key in (public_key, ours.public_key):
        foreign = audit.Checkpoint(ours.seq, ours.hash, ours.at, signature, key)
        with pytest.raises(audit.InvalidCheckpoint):
            audit.verify(session, checkpoint=foreign)


@pytest.mark.parametrize(
    "text_",
    [
        "",
        "[]",
        '{"version": 2}',
        '{"version": 1, "seq": 1}',
        '{"version":1,"seq":-1,"hash":"' + "0" * 64 + '","at":"2026-11-23T00:00:00Z",'
        '"signature":"","public_key":""}',
    ],
)
def test_malformed_checkpoint_is_refused(text_: str) -> None:
    with pytest.raises(audit.InvalidCheckpoint):
        audit.Checkpoint.from_json(text_)


def test_checkpoint_is_refused_on_a_broken_chain(session: Session, is_postgres: bool) -> None:
    append(session, 3)
    tamper(session, is_postgres, "UPDATE audit_entries SET purpose = 'x' WHERE seq = 2")
    with pytest.raises(audit.ChainBroken, match="seq 2"):
        audit.make_checkpoint(session)


def test_export_checkpoint_records_its_own_entry(session: Session) -> None:
    append(session, 2)
    checkpoint = audit.export_checkpoint(session, actor=Actor.system())
    entry = session.scalars(select(AuditEntry).where(AuditEntry.seq == 3)).one()
    assert entry.action is Action.AUDIT_CHECKPOINT
    assert entry.detail == {"checkpoint_seq": 2, "checkpoint_hash": checkpoint.hash}
    assert audit.verify(session, checkpoint=checkpoint).ok
