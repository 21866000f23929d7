"""F1: no plaintext at rest, in the database files, in pg_dump output, or in the logs."""

from __future__ import annotations

import logging
import secrets
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine, text, update
from sqlalchemy.engine import make_url

from roi import vault
from roi.vault import KeyRing
from roi.vault.rotate import rotate
from tests.vault import tables

PG_DUMP = "/usr/bin/pg_dump"


def _raw_sqlite(engine: Engine) -> bytes:
    """The bytes of the database file and its -wal and -shm companions, as they are on disk."""
    path = Path(str(engine.url.database))
    parts = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return b"".join(part.read_bytes() for part in parts if part.exists())


def _pg_dump(engine: Engine) -> bytes:
    url = make_url(str(engine.url))
    command = [PG_DUMP, "--no-owner", "--no-privileges"]
    if url.query.get("host"):
        command += ["--host", str(url.query["host"])]
    if url.host:
        command += ["--host", url.host]
    command.append(str(url.database))
    return subprocess.run(command, capture_output=True, check=True, timeout=60).stdout


def _at_rest(engine: Engine) -> list[bytes]:
    """Every raw form of the stored data this test can see."""
    if engine.dialect.name == "sqlite":
        before = _raw_sqlite(engine)  # pages still in the WAL
        with engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        return [before, _raw_sqlite(engine)]
    return [_pg_dump(engine)]


def _forms(sentinel: str) -> list[bytes]:
    # As written, and as pg_dump renders bytea (hex of the bytes).
    return [sentinel.encode(), sentinel.encode().hex().encode()]


@pytest.mark.subprocess
def test_f1_no_plaintext_at_rest_or_in_logs(
    notes: Engine, keyring: KeyRing, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Given rows holding a random 32-byte sentinel, sealed, then read back and rotated
    sentinel = secrets.token_hex(32)
    uuids = tables.insert_notes(notes, [f"note {i} {sentinel}".encode() for i in range(50)])
    assert all(sentinel.encode() in body for body in tables.read_all(notes).values())
    vault.use(keyring.with_new_primary())
    assert rotate(notes, tables.columns()).resealed == 50
    # And, as a control that the search works, one value stored without sealing
    control = secrets.token_hex(32)
    with notes.begin() as conn:
        conn.execute(
            update(tables.sealed_notes)
            .where(tables.sealed_notes.c.uuid == uuids[0])
            .values(title=control.encode())
        )
    # When the raw database is read
    dumps = _at_rest(notes)
    # Then the sentinel is never found, though the unsealed control is
    assert any(form in dump for dump in dumps for form in _forms(control))
    for dump in dumps:
        for form in _forms(sentinel):
            assert form not in dump
    # And the logs never carry it
    assert sentinel not in caplog.text
    assert all(sentinel not in str(record.args) for record in caplog.records)
