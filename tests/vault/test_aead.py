"""Sealing and opening: round trip, F2 ciphertext swap, F3 bit flips, F5 unknown key, F6 nonces."""

from __future__ import annotations

import logging
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, update

from roi import vault
from roi.vault import IntegrityFailure, KeyRing, Place, UnknownKeyId, aead
from tests.vault import tables

PLACE = Place("sealed_notes", "body", "0b7d5b3e-0000-4000-8000-000000000001")


def test_round_trip(keyring: KeyRing) -> None:
    # Given a plaintext sealed for a place
    blob = vault.seal(b"session note", PLACE)
    # Then it opens for that place, names the primary key, and does not contain the plaintext
    assert vault.open_sealed(blob, PLACE) == b"session note"
    assert vault.key_id_of(blob, PLACE) == keyring.primary
    assert b"session note" not in blob


def test_round_trip_through_the_database(notes: Engine) -> None:
    bodies = [b"", b"x", secrets.token_bytes(5000), "Ünïcode ✓".encode()]
    uuids = tables.insert_notes(notes, bodies)
    assert tables.read_all(notes) == dict(zip(uuids, bodies, strict=True))


@settings(max_examples=50, deadline=None)
@given(
    plaintext=st.binary(max_size=2048),
    table=st.text(min_size=1, max_size=20),
    row=st.uuids().map(str),
)
def test_round_trip_any_plaintext_any_place(plaintext: bytes, table: str, row: str) -> None:
    vault.use(KeyRing.generate())
    place = Place(table, "body", row)
    assert vault.open_sealed(vault.seal(plaintext, place), place) == plaintext


@pytest.mark.parametrize(
    "other",
    [
        Place("sealed_notes", "body", "0b7d5b3e-0000-4000-8000-000000000002"),  # another row
        Place("sealed_notes", "title", PLACE.row),  # another column
        Place("other_table", "body", PLACE.row),  # another table
    ],
)
def test_ciphertext_opens_only_at_its_place(keyring: KeyRing, other: Place) -> None:
    blob = vault.seal(b"secret", PLACE)
    with pytest.raises(IntegrityFailure):
        vault.open_sealed(blob, other)


def test_f2_swapped_ciphertext_fails_naming_the_place(notes: Engine) -> None:
    # Given client A's and client B's rows
    sentinel_a = secrets.token_hex(32).encode()
    uuid_a, uuid_b = tables.insert_notes(notes, [sentinel_a, b"B's own note"])
    # When raw SQL copies A's ciphertext into B's row
    t = tables.sealed_notes
    with notes.begin() as conn:
        blob_a = conn.execute(select(t.c.body).where(t.c.uuid == uuid_a)).scalar_one()
        conn.execute(update(t).where(t.c.uuid == uuid_b).values(body=blob_a))
        blob_b = conn.execute(select(t.c.body).where(t.c.uuid == uuid_b)).scalar_one()
    # Then reading B fails with an integrity error that names B's place, never A's data
    with pytest.raises(IntegrityFailure) as caught:
        vault.open_sealed(blob_b, tables.place(uuid_b))
    assert caught.value.place == tables.place(uuid_b)
    assert caught.value.code == "crypto_integrity_failure"
    assert str(tables.place(uuid_b)) in str(caught.value)
    assert sentinel_a.decode() not in str(caught.value)
    assert uuid_a not in str(caught.value)
    # And A still reads as itself
    assert vault.open_sealed(blob_a, tables.place(uuid_a)) == sentinel_a


def _regions(blob: bytes) -> dict[str, list[int]]:
    kid_len = blob[1]
    nonce_at = 2 + kid_len
    body_at = nonce_at + aead.NONCE_BYTES
    tag_at = len(blob) - 16
    return {
        "version": [0],
        "kid length": [1],
        "kid": list(range(2, nonce_at)),
        "nonce": list(range(nonce_at, body_at)),
        "body": list(range(body_at, tag_at)),
        "tag": list(range(tag_at, len(blob))),
    }


@pytest.mark.parametrize("region", ["version", "kid length", "kid", "nonce", "body", "tag"])
def test_f3_any_bit_flip_fails_closed(keyring: KeyRing, region: str) -> None:
    # Given a sealed value
    plaintext = b"psychotherapy note " * 3
    blob = vault.seal(plaintext, PLACE)
    # When any single bit in the region is flipped, Then opening raises: never a plaintext
    for position in _regions(blob)[region]:
        for bit in range(8):
            tampered = bytearray(blob)
            tampered[position] ^= 1 << bit
            with pytest.raises((IntegrityFailure, UnknownKeyId)):
                vault.open_sealed(bytes(tampered), PLACE)


def test_f3_truncated_or_extended_blob_fails_closed(keyring: KeyRing) -> None:
    blob = vault.seal(b"note", PLACE)
    for size in range(len(blob)):
        with pytest.raises(IntegrityFailure):
            vault.open_sealed(blob[:size], PLACE)
    with pytest.raises(IntegrityFailure):
        vault.open_sealed(blob + b"\x00", PLACE)


def test_f3_bit_flip_in_the_database_fails_closed(notes: Engine) -> None:
    (row_uuid,) = tables.insert_notes(notes, [b"stored note"])
    t = tables.sealed_notes
    with notes.begin() as conn:
        blob = bytearray(conn.execute(select(t.c.body)).scalar_one())
        blob[-20] ^= 0x01  # a body byte, just before the tag
        conn.execute(update(t).values(body=bytes(blob)))
    with pytest.raises(IntegrityFailure):
        tables.read_all(notes)


def test_f5_unknown_key_id_is_explicit_and_alerts(
    keyring: KeyRing, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a blob sealed under a key that is not in the ring
    vault.use(KeyRing.generate())
    foreign = vault.seal(b"note", PLACE)
    foreign_kid = vault.key_id_of(foreign, PLACE)
    vault.use(keyring)

    # No other key may be tried: any use of AES-GCM while opening it fails the test
    def no_cipher(key: bytes) -> None:
        raise AssertionError("open_sealed tried a key for an unknown key id")

    monkeypatch.setattr(aead, "AESGCM", no_cipher)
    # When it is opened
    caplog.set_level(logging.DEBUG)
    with pytest.raises(UnknownKeyId) as caught:
        vault.open_sealed(foreign, PLACE)
    # Then the error names the key id and the place, and a CRITICAL record alerts operations
    assert caught.value.key_id == foreign_kid
    assert caught.value.code == "crypto_unknown_key"
    assert foreign_kid in str(caught.value)
    assert str(PLACE) in str(caught.value)
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1
    assert foreign_kid in critical[0].getMessage()
    for key in keyring.data_keys.values():
        assert key.hex() not in caplog.text


def test_f6_nonces_are_unique_across_100k_seals(keyring: KeyRing) -> None:
    # Given one plaintext sealed 100,000 times for the same place under one key
    start = 2 + len(keyring.primary)
    nonces = {vault.seal(b"same", PLACE)[start : start + aead.NONCE_BYTES] for _ in range(100_000)}
    # Then every nonce is distinct (random 96-bit nonces)
    assert len(nonces) == 100_000
