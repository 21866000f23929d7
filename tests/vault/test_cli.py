"""`roi keys rotate | status | remove`, through Flask's CLI runner on the real app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import Engine

from roi import vault
from roi.cli import keys as keys_cli
from roi.cli.keys import keys_group
from roi.vault import KeyRing
from roi.vault.keyring import KEY_FILE, FileKeyProvider
from tests.vault import tables
from tests.vault.test_secrets import assert_no_key_material


@pytest.fixture
def cli_app(app: Flask, notes: Engine, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The app, with the test-only sealed table standing in for the application's columns."""
    monkeypatch.setattr(keys_cli, "sealed_columns", lambda metadata: tables.columns())
    return app


def keys(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(keys_group, list(args))


def stored(instance_path: Path) -> KeyRing:
    return FileKeyProvider(instance_path / KEY_FILE).load()


def test_status_counts_per_key_and_marks_the_primary(
    cli_app: Flask, notes: Engine, keyring: KeyRing
) -> None:
    tables.insert_notes(notes, [b"a", b"b", b"c"])
    result = keys(cli_app, "status")
    assert result.exit_code == 0, result.output
    assert result.output.split() == [keyring.primary, "3", "primary"]
    as_json = json.loads(keys(cli_app, "status", "--json").output)
    assert as_json == {
        "primary": keyring.primary,
        "keys": {keyring.primary: {"ciphertexts": 3, "primary": True, "in_ring": True}},
    }


def test_rotate_adds_a_primary_and_re_encrypts_everything(
    cli_app: Flask, notes: Engine, keyring: KeyRing, instance_path: Path
) -> None:
    # Given 4 ciphertexts under K1
    uuids = tables.insert_notes(notes, [b"a", b"b"], titles=True)
    # When the operator rotates
    result = keys(cli_app, "rotate")
    # Then a new primary is stored beside K1, and everything is re-encrypted under it
    assert result.exit_code == 0, result.output
    ring = stored(instance_path)
    assert ring.primary != keyring.primary
    assert set(ring.data_keys) == {keyring.primary, ring.primary}
    assert vault.ring().primary == ring.primary
    assert result.output.splitlines()[-1] == (
        f"re-encrypted 4 ciphertexts; primary key {ring.primary}; 0 remain under old keys"
    )
    assert tables.kids(notes) == {ring.primary: 2}
    assert tables.read_all(notes) == dict(zip(uuids, [b"a", b"b"], strict=True))
    assert_no_key_material(result.output, ring)
    # And the old key can now be removed, after which everything still opens
    removed = keys(cli_app, "remove", keyring.primary)
    assert removed.exit_code == 0, removed.output
    assert set(stored(instance_path).data_keys) == {ring.primary}
    assert sorted(tables.read_all(notes).values()) == [b"a", b"b"]


def test_rotate_resumes_an_interrupted_rotation_without_adding_a_key(
    cli_app: Flask, notes: Engine, keyring: KeyRing, instance_path: Path
) -> None:
    # Given rows under K1 while the stored ring already has K2 as primary (a run was killed)
    tables.insert_notes(notes, [b"a", b"b", b"c"])
    ring2 = keyring.with_new_primary()
    FileKeyProvider(instance_path / KEY_FILE).store(ring2)
    # When the operator runs rotate again
    result = keys(cli_app, "rotate")
    # Then it finishes under K2 and adds no key
    assert result.exit_code == 0, result.output
    assert "resuming: 3 ciphertexts are under old keys" in result.output
    assert set(stored(instance_path).data_keys) == set(ring2.data_keys)
    assert tables.kids(notes) == {ring2.primary: 3}


def test_remove_refuses_while_the_key_is_in_use_or_primary(
    cli_app: Flask, notes: Engine, keyring: KeyRing, instance_path: Path
) -> None:
    tables.insert_notes(notes, [b"a"])
    ring2 = keyring.with_new_primary()
    FileKeyProvider(instance_path / KEY_FILE).store(ring2)
    for kid, reason in [
        (keyring.primary, "still protects 1 ciphertext"),
        (ring2.primary, "primary key cannot be removed"),
        ("knothere", "no key 'knothere'"),
    ]:
        result = keys(cli_app, "remove", kid)
        assert result.exit_code == 1
        assert len(result.output.strip().splitlines()) == 1
        assert reason in result.output
    assert set(stored(instance_path).data_keys) == set(ring2.data_keys)


@pytest.fixture
def env_keys_app(
    app_overrides: dict[str, object],
    notes: Engine,
    keyring: KeyRing,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Flask, KeyRing]]:
    """An app whose ring comes from ROI_KEYS, where the operator has made a new key primary."""
    from roi import create_app
    from roi.extensions import db

    ring2 = keyring.with_new_primary()
    app = create_app({**app_overrides, "keys": ring2.to_json()})
    monkeypatch.setattr(keys_cli, "sealed_columns", lambda metadata: tables.columns())
    yield app, ring2
    with app.app_context():
        db.engine.dispose()


def test_with_roi_keys_rotate_explains_and_re_encrypts_to_the_current_primary(
    env_keys_app: tuple[Flask, KeyRing], notes: Engine, keyring: KeyRing, instance_path: Path
) -> None:
    app, ring2 = env_keys_app
    # Given rows under K1, and K2 made primary in ROI_KEYS
    vault.use(keyring)
    tables.insert_notes(notes, [b"a", b"b"])
    before = (instance_path / KEY_FILE).read_text()
    # When rotate runs twice
    first, second = keys(app, "rotate"), keys(app, "rotate")
    # Then the first re-encrypts to K2, the second explains where keys are added; no file changes
    assert first.exit_code == 0, first.output
    assert first.output.splitlines()[-1].startswith("re-encrypted 2 ciphertexts")
    assert second.exit_code == 0, second.output
    assert second.output.splitlines()[0].startswith("ROI_KEYS is set: add a new key")
    assert (instance_path / KEY_FILE).read_text() == before
    assert tables.kids(notes) == {ring2.primary: 2}
    # And remove says where to remove it
    removed = keys(app, "remove", keyring.primary)
    assert removed.exit_code == 0
    assert "remove it from ROI_KEYS" in removed.output


def test_a_missing_key_ring_is_one_line(cli_app: Flask, instance_path: Path) -> None:
    (instance_path / KEY_FILE).unlink()
    result = keys(cli_app, "rotate")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: no key ring at {instance_path / KEY_FILE}: run `roi init`"
    ]
