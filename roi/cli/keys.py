"""`roi keys rotate | status | remove`: the operator's side of the key ring.

Every command reloads the ring from its provider (the instance file or ROI_KEYS), so it acts on
what is stored, not on what this process loaded at start-up. Output names key ids and counts,
never keys.
"""

from __future__ import annotations

import json
import logging

import click
from flask import current_app
from flask.cli import AppGroup

from roi import vault
from roi.config import Settings
from roi.extensions import db
from roi.vault.errors import VaultError
from roi.vault.keyring import KeyProvider, KeyRing
from roi.vault.rotate import MALFORMED, SealedColumn, retire_key, rotate, sealed_columns, status

logger = logging.getLogger(__name__)

keys_group = AppGroup(
    "keys",
    help="Rotate the data keys, count what each key protects, and remove unused old keys.",
)


@keys_group.command("rotate")
@click.option("--batch-size", default=500, show_default=True, help="Rows per transaction.")
def rotate_command(batch_size: int) -> None:
    """Make a new primary key and re-encrypt everything under it (resumes an interrupted run)."""
    provider, keys = _load()
    columns = _columns()
    counts = _status(columns)
    pending = sum(n for kid, n in counts.items() if kid != keys.primary and kid in keys.data_keys)
    if pending:
        # An earlier rotation stopped half-way (or a stale worker wrote under an old key):
        # finish it under the current primary rather than adding yet another key.
        click.echo(f"resuming: {pending} ciphertexts are under old keys")
    elif provider.writable:
        keys = keys.with_new_primary()
        # Store before re-encrypting: a crash after this line leaves work to resume, never a
        # ciphertext under a key that was not saved.
        _store(provider, keys)
        click.echo(f"added key {keys.primary} as primary; restart the app so new writes use it")
    else:
        click.echo(
            "ROI_KEYS is set: add a new key in the secret manager, make it primary and "
            "restart; now re-encrypting to the current primary"
        )
    try:
        report = rotate(db.engine, columns, batch_size=batch_size)
    except VaultError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"re-encrypted {report.resealed} ciphertexts; primary key {report.primary}; "
        f"{report.remaining_total} remain under old keys"
    )
    if report.failed:
        raise click.ClickException(
            f"{len(report.failed)} ciphertexts could not be opened, first at {report.failed[0]}; "
            "see the log"
        )


@keys_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status_command(as_json: bool) -> None:
    """How many ciphertexts each key id protects; the primary key is marked."""
    _, keys = _load()
    counts = _status(_columns())
    kids = sorted(set(keys.data_keys) | set(counts))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "primary": keys.primary,
                    "keys": {
                        kid: {
                            "ciphertexts": counts.get(kid, 0),
                            "primary": kid == keys.primary,
                            "in_ring": kid in keys.data_keys,
                        }
                        for kid in kids
                    },
                },
                indent=2,
            )
        )
        return
    width = max(len(kid) for kid in kids)
    for kid in kids:
        note = ""
        if kid == keys.primary:
            note = "  primary"
        elif kid == MALFORMED:
            note = "  (header unreadable)"
        elif kid not in keys.data_keys:
            note = "  (not in the key ring)"
        click.echo(f"{kid:<{width}}  {counts.get(kid, 0):>9}{note}")


@keys_group.command("remove")
@click.argument("kid")
def remove_command(kid: str) -> None:
    """Remove an old key from the ring once no ciphertext is under it."""
    provider, keys = _load()
    try:
        smaller = retire_key(db.engine, _columns(), kid, keys)
    except VaultError as exc:
        raise click.ClickException(str(exc)) from None
    if not provider.writable:
        click.echo(f"no ciphertext is under {kid}: remove it from ROI_KEYS in the secret manager")
        return
    _store(provider, smaller)
    click.echo(f"removed key {kid}; primary key {smaller.primary}")


def _load() -> tuple[KeyProvider, KeyRing]:
    settings: Settings = current_app.config["ROI_SETTINGS"]
    provider = vault.provider_for(settings.instance_path, settings.keys)
    try:
        keys = provider.load()
    except VaultError as exc:
        raise click.ClickException(str(exc)) from None
    vault.use(keys)
    return provider, keys


def _store(provider: KeyProvider, keys: KeyRing) -> None:
    try:
        provider.store(keys)
    except VaultError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write the key ring: {exc.strerror}") from None
    vault.use(keys)
    logger.info("key ring stored: primary %s, %d data keys", keys.primary, len(keys.data_keys))


def _columns() -> list[SealedColumn]:
    try:
        return sealed_columns(db.metadata)
    except VaultError as exc:
        raise click.ClickException(str(exc)) from None


def _status(columns: list[SealedColumn]) -> dict[str, int]:
    return status(db.engine, columns)
