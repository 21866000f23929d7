"""F7: key material never reaches logs, exception messages or reprs; key ring files and errors."""

from __future__ import annotations

import base64
import json
import logging
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from roi import vault
from roi.config import Settings
from roi.vault import (
    IntegrityFailure,
    KeyInUse,
    KeyRing,
    KeyRingError,
    Place,
    UnknownKeyId,
    VaultError,
)
from roi.vault import keyring as keyring_module
from roi.vault.keyring import KEY_FILE, EnvKeyProvider, FileKeyProvider, provider_for
from roi.vault.rotate import retire_key, rotate
from tests.vault import tables

PLACE = Place("sealed_notes", "body", "5f0e2a54-0000-4000-8000-000000000009")


def secrets_of(*rings: KeyRing) -> list[bytes]:
    found = []
    for ring in rings:
        found += [*ring.data_keys.values(), ring.audit_mac_key, ring.checkpoint_key]
    return found


def leaked_forms(secret: bytes) -> list[str]:
    """The ways a key could be written into text."""
    return [
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode(),
        base64.b64encode(secret).decode().rstrip("="),
        base64.urlsafe_b64encode(secret).decode().rstrip("="),
        repr(secret)[2:-1],
        secret.decode("latin-1"),
    ]


def assert_no_key_material(text: str, *rings: KeyRing) -> None:
    for secret in secrets_of(*rings):
        for form in leaked_forms(secret):
            assert form not in text


def test_f7_no_key_material_in_logs_or_errors(
    notes: Engine, keyring: KeyRing, instance_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given everything logged at DEBUG, including SQLAlchemy's statements
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []

    def expect_failure(kind: type[Exception], call: object, *args: object) -> None:
        with pytest.raises(kind) as caught:
            call(*args)  # type: ignore[operator]
        messages.extend([str(caught.value), repr(caught.value)])

    # When the vault seals, opens, fails, rotates and refuses
    uuids = tables.insert_notes(notes, [b"a", b"b", b"c"], titles=True)
    tables.read_all(notes)
    other = KeyRing.generate()
    vault.use(other)
    foreign = vault.seal(b"x", PLACE)
    vault.use(keyring)
    expect_failure(UnknownKeyId, vault.open_sealed, foreign, PLACE)
    expect_failure(IntegrityFailure, vault.open_sealed, vault.seal(b"x", PLACE)[:-1], PLACE)
    t = tables.sealed_notes
    with notes.begin() as conn:
        blob = bytearray(conn.execute(select(t.c.body).where(t.c.uuid == uuids[0])).scalar_one())
        blob[-3] ^= 1
        conn.execute(update(t).where(t.c.uuid == uuids[0]).values(body=bytes(blob)))
    ring2 = keyring.with_new_primary()
    vault.use(ring2)
    report = rotate(notes, tables.columns(), batch_size=2)
    messages.append(repr(report))
    expect_failure(KeyInUse, retire_key, notes, tables.columns(), keyring.primary)
    expect_failure(KeyRingError, retire_key, notes, tables.columns(), ring2.primary)
    expect_failure(KeyRingError, retire_key, notes, tables.columns(), "knothere")
    provider = FileKeyProvider(instance_path / KEY_FILE)
    provider.store(ring2)
    expect_failure(KeyRingError, EnvKeyProvider(ring2.to_json()).store, ring2)
    (instance_path / KEY_FILE).write_text(ring2.to_json()[:-40])
    expect_failure(KeyRingError, provider.load)
    expect_failure(KeyRingError, EnvKeyProvider(ring2.to_json()[:-40]).load)
    # Then no key, in any encoding, is in the log records or the error messages
    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert_no_key_material(caplog.text, keyring, ring2, other)
    for record in caplog.records:
        assert_no_key_material(f"{record.getMessage()} {record.args!r}", keyring, ring2, other)
    assert_no_key_material("\n".join(messages), keyring, ring2, other)


def test_f7_reprs_mask_secrets(keyring: KeyRing, tmp_path: Path) -> None:
    ring = keyring.with_new_primary()
    settings = Settings.from_env(
        {"ROI_KEYS": ring.to_json(), "ROI_SMTP_URL": "smtp://mailer:smtp-pass-123@mail"},
        {"instance_path": tmp_path, "secret_key": "flask-secret-value-456"},
    )
    shown = " ".join(
        [
            repr(ring),
            str(ring),
            repr(settings),
            str(settings),
            repr(EnvKeyProvider(ring.to_json())),
            repr(provider_for(tmp_path, ring.to_json())),
        ]
    )
    assert_no_key_material(shown, ring)
    assert "flask-secret-value-456" not in shown
    assert "smtp-pass-123" not in shown
    assert ring.primary in repr(ring)  # key ids are not secret, and operators need them


def test_f7_settings_repr_masks_the_database_password(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": "postgresql+psycopg://roi:db-pass-789@db.internal/roi"},
        {"instance_path": tmp_path, "secret_key": "s"},
    )
    assert "db-pass-789" not in repr(settings)


# --- the key ring file ------------------------------------------------------------------------


def test_key_file_is_written_0600_atomically(tmp_path: Path, keyring: KeyRing) -> None:
    provider = FileKeyProvider(tmp_path / KEY_FILE)
    provider.store(keyring)
    provider.store(keyring.with_new_primary())
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]  # no temporary copy left behind
    assert provider.load().primary != keyring.primary


def _broken(ring: KeyRing) -> dict[str, str]:
    good = json.loads(ring.to_json())
    key = good["data_keys"][ring.primary]
    return {
        "truncated": ring.to_json()[:-30],
        "not json": "primary = " + key,
        "not an object": json.dumps([key]),
        "wrong version": json.dumps({**good, "version": 99}),
        "missing audit key": json.dumps({k: v for k, v in good.items() if k != "audit_mac_key"}),
        "bad base64": json.dumps({**good, "audit_mac_key": key[:-2] + "!!"}),
        "short key": json.dumps({**good, "data_keys": {ring.primary: key[:20]}}),
        "primary not a key": json.dumps({**good, "primary": "kmissing"}),
        "binary": "\udcff\udcfe" + key,
    }


@pytest.mark.parametrize(
    "case",
    [
        "truncated",
        "not json",
        "not an object",
        "wrong version",
        "missing audit key",
        "bad base64",
        "short key",
        "primary not a key",
        "binary",
    ],
)
def test_a_malformed_key_ring_is_one_line_without_key_material(
    tmp_path: Path, keyring: KeyRing, case: str
) -> None:
    text = _broken(keyring)[case]
    path = tmp_path / KEY_FILE
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    for provider in (FileKeyProvider(path), EnvKeyProvider(text)):
        with pytest.raises(KeyRingError) as caught:
            provider.load()
        message = str(caught.value)
        assert "\n" not in message
        assert caught.value.__cause__ is None
        assert_no_key_material(message, keyring)


def test_a_missing_key_ring_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(KeyRingError, match="no key ring at .*run `roi init`") as caught:
        FileKeyProvider(tmp_path / KEY_FILE).load()
    assert "\n" not in str(caught.value)


def test_no_ring_loaded_is_a_key_ring_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vault.aead._Active, "ring", None)
    with pytest.raises(KeyRingError):
        vault.seal(b"x", PLACE)


def test_a_new_primary_never_reuses_a_key_id(
    keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = iter([keyring.primary, keyring.primary, "kfresh001"])
    monkeypatch.setattr(keyring_module, "new_key_id", lambda: next(ids))
    ring = keyring.with_new_primary()
    assert ring.primary == "kfresh001"
    assert ring.data_keys[keyring.primary] == keyring.data_keys[keyring.primary]


def test_vault_errors_carry_stable_codes(keyring: KeyRing) -> None:
    assert issubclass(KeyInUse, VaultError)
    assert KeyInUse("k").http_status == 409
