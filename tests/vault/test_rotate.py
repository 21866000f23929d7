"""Rotation: the sealed-column convention, status counts, F4 rotation under crash and under
concurrent writes, and retiring a key only when nothing is under it."""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    insert,
    select,
    update,
)

from roi import vault
from roi.db import Base
from roi.vault import IntegrityFailure, KeyInUse, KeyRing, KeyRingError, Place, VaultError
from roi.vault.keyring import KEY_FILE, FileKeyProvider
from roi.vault.rotate import MALFORMED, retire_key, rotate, sealed_columns, status
from tests.vault import tables

ROOT = Path(__file__).resolve().parents[2]
T = tables.sealed_notes


def seal_with(ring: KeyRing, plaintext: bytes, place: Place) -> bytes:
    """Seal under `ring`'s primary without making it the process ring (a worker not restarted)."""
    kid = ring.primary.encode()
    nonce = os.urandom(12)
    body = AESGCM(ring.data_keys[ring.primary]).encrypt(
        nonce, plaintext, place.associated_data(ring.primary)
    )
    return bytes([1, len(kid)]) + kid + nonce + body


# --- the convention --------------------------------------------------------------------------


def test_sealed_columns_are_discovered() -> None:
    assert [c.name for c in tables.columns()] == ["sealed_notes.body", "sealed_notes.title"]
    assert tables.columns()[0].place("u") == Place("sealed_notes", "body", "u")


def test_application_metadata_follows_the_convention() -> None:
    # Every sealed column the application declares is LargeBinary on a table with id and uuid.
    for column in sealed_columns(Base.metadata):
        assert column.table.c.uuid is not None


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (
            [Column("id", Integer, primary_key=True), Column("body", String, info={"sealed": 1})],
            "must be LargeBinary",
        ),
        (
            [
                Column("id", Integer, primary_key=True),
                Column("body", LargeBinary, info={"sealed": True}),
            ],
            "needs `id` and `uuid`",
        ),
    ],
)
def test_a_sealed_column_breaking_the_convention_is_refused(
    columns: list[Column], message: str
) -> None:
    metadata = MetaData()
    Table("bad", metadata, *columns)
    with pytest.raises(VaultError, match=message):
        sealed_columns(metadata)


# --- status ----------------------------------------------------------------------------------


def test_status_counts_per_key_id(notes: Engine, keyring: KeyRing) -> None:
    # Given 3 rows (with titles) under K1, 2 under K2, one NULL body and one malformed blob
    tables.insert_notes(notes, [b"a", b"b", b"c"], titles=True)
    ring2 = keyring.with_new_primary()
    vault.use(ring2)
    tables.insert_notes(notes, [b"d", b"e"])
    with notes.begin() as conn:
        conn.execute(insert(T), [{"uuid": str(uuid.uuid4()), "body": None}])
        conn.execute(insert(T), [{"uuid": str(uuid.uuid4()), "body": b"\x07garbage"}])
    # Then status counts each, across both sealed columns, ignoring NULLs
    assert status(notes, tables.columns()) == {keyring.primary: 6, ring2.primary: 2, MALFORMED: 1}


def test_status_of_nothing_is_empty(notes: Engine, keyring: KeyRing) -> None:
    assert status(notes, tables.columns()) == {}
    assert status(notes, []) == {}


# --- rotation --------------------------------------------------------------------------------


def test_rotation_moves_everything_to_the_primary_and_is_idempotent(
    notes: Engine, keyring: KeyRing
) -> None:
    # Given 120 rows (body and title) under K1
    bodies = [f"note {i}".encode() for i in range(120)]
    uuids = tables.insert_notes(notes, bodies, titles=True)
    # When K2 becomes primary and rotation runs in small batches
    ring2 = keyring.with_new_primary()
    vault.use(ring2)
    report = rotate(notes, tables.columns(), batch_size=7)
    # Then every ciphertext is under K2 and still opens to the same plaintext
    assert report.resealed == 240
    assert report.remaining == {}
    assert report.failed == ()
    assert status(notes, tables.columns()) == {ring2.primary: 240}
    assert tables.read_all(notes) == dict(zip(uuids, bodies, strict=True))
    # And a second run changes nothing
    assert rotate(notes, tables.columns()).resealed == 0


def test_rotation_accepts_a_session_factory(notes: Engine, keyring: KeyRing) -> None:
    from sqlalchemy.orm import sessionmaker

    tables.insert_notes(notes, [b"x", b"y"])
    vault.use(keyring.with_new_primary())
    assert rotate(sessionmaker(notes), tables.columns()).resealed == 2


def test_a_tampered_row_is_reported_and_left_alone(notes: Engine, keyring: KeyRing) -> None:
    # Given three rows under K1, the second one tampered with
    uuids = tables.insert_notes(notes, [b"one", b"two", b"three"])
    with notes.begin() as conn:
        blob = bytearray(conn.execute(select(T.c.body).where(T.c.uuid == uuids[1])).scalar_one())
        blob[-1] ^= 0x80
        conn.execute(update(T).where(T.c.uuid == uuids[1]).values(body=bytes(blob)))
    # When rotation runs
    ring2 = keyring.with_new_primary()
    vault.use(ring2)
    report = rotate(notes, tables.columns())
    # Then the others move, the tampered one is named and stays under K1, which stays in use
    assert report.resealed == 2
    assert report.failed == (str(tables.place(uuids[1])),)
    assert report.remaining == {keyring.primary: 1}
    with pytest.raises(KeyInUse):
        retire_key(notes, tables.columns(), keyring.primary)
    with pytest.raises(IntegrityFailure):
        tables.read_all(notes)


def test_a_key_leaves_the_ring_only_when_nothing_uses_it(
    notes: Engine, keyring: KeyRing, instance_path: Path
) -> None:
    tables.insert_notes(notes, [b"a", b"b"], titles=True)
    ring2 = keyring.with_new_primary()
    vault.use(ring2)
    # The old key protects 4 ciphertexts: it may not go; the primary may never go
    with pytest.raises(KeyInUse, match="4 ciphertext"):
        retire_key(notes, tables.columns(), keyring.primary)
    with pytest.raises(KeyRingError):
        retire_key(notes, tables.columns(), ring2.primary)
    rotate(notes, tables.columns())
    # Once rotation is done it may; stored and reloaded, everything still opens
    smaller = retire_key(notes, tables.columns(), keyring.primary)
    assert set(smaller.data_keys) == {ring2.primary}
    provider = FileKeyProvider(instance_path / KEY_FILE)
    provider.store(smaller)
    vault.use(provider.load())
    assert sorted(tables.read_all(notes).values()) == [b"a", b"b"]


#: how long a test waits for the writer thread before calling it hung (a failure, never a pass)
HANG = 60.0


class Writer(threading.Thread):
    """The application writing while rotation runs: updates and inserts, some of them by a
    worker that still holds the old ring (sealing under the old key).

    Tests synchronize with it on its count of writes (`wait_for_writes`), never on the clock."""

    def __init__(self, engine: Engine, old: KeyRing, uuids: list[str]) -> None:
        super().__init__(daemon=True)
        self.engine, self.old, self.uuids = engine, old, list(uuids)
        self.expected: dict[str, bytes] = {}
        self.writes = 0
        self.wrote = threading.Condition()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.rng = random.Random(4)

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.write_once()
        except BaseException as exc:  # reported by the test
            with self.wrote:
                self.error = exc
                self.wrote.notify_all()

    def write_once(self) -> None:
        stale = self.rng.random() < 0.3
        plaintext = f"app write {self.writes}".encode()
        if self.rng.random() < 0.2:
            row_uuid = str(uuid.uuid4())
            blob = self.seal(plaintext, row_uuid, stale)
            with self.engine.begin() as conn:
                conn.execute(insert(T).values(uuid=row_uuid, body=blob))
            self.uuids.append(row_uuid)
        else:
            row_uuid = self.rng.choice(self.uuids)
            blob = self.seal(plaintext, row_uuid, stale)
            with self.engine.begin() as conn:
                conn.execute(update(T).where(T.c.uuid == row_uuid).values(body=blob))
        self.expected[row_uuid] = plaintext
        with self.wrote:
            self.writes += 1
            self.wrote.notify_all()

    def seal(self, plaintext: bytes, row_uuid: str, stale: bool) -> bytes:
        place = tables.place(row_uuid)
        return seal_with(self.old, plaintext, place) if stale else vault.seal(plaintext, place)

    def wait_for_writes(self, more: int) -> None:
        """Return once the writer has committed `more` further writes."""
        with self.wrote:
            target = self.writes + more
            done = self.wrote.wait_for(
                lambda: self.writes >= target or self.error is not None, timeout=HANG
            )
        if self.error is not None:
            raise self.error
        assert done, f"the writer made no write in {HANG} s"

    def __enter__(self) -> Writer:
        self.start()
        self.wait_for_writes(20)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join(timeout=HANG)
        assert not self.is_alive(), "the writer did not stop"
        if self.error is not None:
            raise self.error


def writes_between_batches(monkeypatch: pytest.MonkeyPatch, writer: Writer, batch: int) -> None:
    """Make rotation wait, before re-encrypting each batch, until the application has written
    3 more times: the writes land while rotation is part-way, however the threads are scheduled
    (a busy machine once let rotation finish before the writer wrote at all)."""
    import roi.vault.rotate as rotate_module

    real_reseal = rotate_module.reseal
    calls = itertools.count()

    def reseal(blob: bytes, place: Place) -> bytes | None:
        if next(calls) % batch == 0:
            writer.wait_for_writes(3)
        return real_reseal(blob, place)

    monkeypatch.setattr(rotate_module, "reseal", reseal)


@pytest.mark.xdist_group("concurrency")
def test_concurrent_application_writes_are_never_lost(
    notes: Engine, keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 2,000 rows under K1 and K2 as the new primary
    uuids = tables.insert_notes(notes, [f"original {i}".encode() for i in range(2000)])
    expected = {u: f"original {i}".encode() for i, u in enumerate(uuids)}
    ring2 = keyring.with_new_primary()
    vault.use(ring2)
    # When rotation runs in batches of 100 while the application updates and inserts rows,
    # at least 3 writes before each batch is re-encrypted
    with Writer(notes, keyring, uuids) as writer:
        writes_between_batches(monkeypatch, writer, 100)
        during = writer.writes
        first = rotate(notes, tables.columns(), batch_size=100)
        during = writer.writes - during
        monkeypatch.undo()
    assert during >= 3 * 20
    # Then a second run (after stale workers restarted) finishes what they wrote under K1
    second = rotate(notes, tables.columns())
    assert rotate(notes, tables.columns()).resealed == 0
    # And nothing the application wrote was overwritten, and everything is under K2
    expected.update(writer.expected)
    assert tables.read_all(notes) == expected
    assert tables.kids(notes) == {ring2.primary: len(expected)}
    assert first.failed == second.failed == ()


CHILD = """
import sys, threading
from pathlib import Path
from sqlalchemy import create_engine, event
from roi import vault
from roi.db import configure_engine
from roi.vault.keyring import FileKeyProvider
from roi.vault.rotate import rotate
from tests.vault import tables

vault.use(FileKeyProvider(Path(sys.argv[1])).load())
engine = create_engine(sys.argv[2], hide_parameters=True)
configure_engine(engine)
kill_at = int(sys.argv[3])
updates = 0

@event.listens_for(engine, "before_cursor_execute")
def _pause(conn, cursor, statement, *args):
    # Before its kill_at-th UPDATE, part-way through a batch's transaction, wait to be killed
    global updates
    if statement.lstrip().upper().startswith("UPDATE"):
        updates += 1
        if updates == kill_at:
            print("paused", flush=True)
            threading.Event().wait()

report = rotate(engine, tables.columns(), batch_size=BATCH)
print("finished", report.resealed, flush=True)
"""


@pytest.mark.xdist_group("concurrency")
@pytest.mark.subprocess
def test_f4_rotation_survives_sigkill_and_concurrent_writes(
    notes: Engine, keyring: KeyRing, instance_path: Path
) -> None:
    # Given 10,000 rows under K1, and K2 stored as the new primary
    count, batch = 10_000, 50
    uuids = tables.insert_notes(notes, [f"row {i}".encode() for i in range(count)])
    expected = {u: f"row {i}".encode() for i, u in enumerate(uuids)}
    ring2 = keyring.with_new_primary()
    FileKeyProvider(instance_path / KEY_FILE).store(ring2)
    vault.use(ring2)
    k1, k2 = keyring.primary, ring2.primary
    columns = tables.columns()[:1]  # body only: titles are NULL here
    # When a rotation process is SIGKILLed before a random row's UPDATE, inside its batch
    kill_at = random.randint(500, count - 2000)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD.replace("BATCH", str(batch)),
            str(instance_path / KEY_FILE),
            str(notes.url),
            str(kill_at),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line == b"paused\n", (line, child.communicate(timeout=HANG))
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=HANG)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    # Then the batches before it committed and the one it was in did not: every row opens,
    # under K1 or K2, and K1 may not leave the ring
    committed = (kill_at - 1) // batch * batch
    part_way = status(notes, columns)
    assert part_way == {k1: count - committed, k2: committed}
    assert tables.read_all(notes) == expected
    with pytest.raises(KeyInUse):
        retire_key(notes, columns, k1)
    # When it runs again while the application writes (some workers still on K1)
    with Writer(notes, keyring, uuids) as writer:
        resumed = rotate(notes, columns)
    assert resumed.resealed >= part_way[k1] - writer.writes
    # And once more after the stale workers restarted; then a further run changes nothing
    rotate(notes, columns)
    assert rotate(notes, columns).resealed == 0
    # Then every row decrypts to its latest value and is under K2
    expected.update(writer.expected)
    assert tables.read_all(notes) == expected
    assert tables.kids(notes) == {k2: len(expected)}
    # And K1 can now leave the ring, after which everything still decrypts
    smaller = retire_key(notes, columns, k1)
    FileKeyProvider(instance_path / KEY_FILE).store(smaller)
    vault.use(FileKeyProvider(instance_path / KEY_FILE).load())
    assert k1 not in vault.ring().data_keys
    assert tables.read_all(notes) == expected


def test_a_row_written_between_read_and_write_keeps_the_application_value(
    notes: Engine, keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two rows under K1 and K2 as primary
    uuids = tables.insert_notes(notes, [b"first", b"second"])
    vault.use(keyring.with_new_primary())
    import roi.vault.rotate as rotate_module

    real_reseal = rotate_module.reseal

    def reseal_racing_the_app(blob: bytes, place: Place) -> bytes | None:
        # When the application rewrites the first row after rotation read it
        if place.row == uuids[0]:
            with notes.begin() as conn:
                new = vault.seal(b"edited by the app", place)
                conn.execute(update(T).where(T.c.uuid == uuids[0]).values(body=new))
        return real_reseal(blob, place)

    monkeypatch.setattr(rotate_module, "reseal", reseal_racing_the_app)
    report = rotate(notes, tables.columns())
    # Then rotation's stale write matches nothing, and the application's value stays
    assert (report.resealed, report.skipped_concurrent) == (1, 1)
    assert tables.read_all(notes) == {uuids[0]: b"edited by the app", uuids[1]: b"second"}
