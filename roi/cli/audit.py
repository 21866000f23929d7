"""`roi audit verify` and `roi audit checkpoint` (CONTRACT.md)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import click
from flask.cli import AppGroup

from roi import audit
from roi.actor import Actor
from roi.errors import RoiError
from roi.extensions import db

audit_group = AppGroup(
    "audit", help="Verify the audit log's hash chain and export signed checkpoints."
)


@audit_group.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A checkpoint exported earlier: also detect entries cut from the end since then.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def verify_command(checkpoint_file: Path | None, as_json: bool) -> None:
    """Verify the whole chain: exit 0 with `ok N entries`, exit 1 naming the first bad entry."""
    try:
        checkpoint = (
            audit.Checkpoint.from_json(checkpoint_file.read_text()) if checkpoint_file else None
        )
        result = audit.verify(db.session(), checkpoint=checkpoint)
    except (RoiError, OSError) as exc:
        raise click.ClickException(_one_line(exc)) from None
    finally:
        db.session.rollback()
    if as_json:
        click.echo(json.dumps(result.as_dict()))
        if not result.ok:
            raise SystemExit(1)
        return
    if not result.ok:
        raise click.ClickException(
            f"audit chain broken at seq {result.first_bad_seq}: {result.reason}"
        )
    click.echo(f"ok {result.entries} entries, head {result.head_hash}")


@audit_group.command("checkpoint")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the signed checkpoint here (mode 0600) instead of to stdout.",
)
def checkpoint_command(output: Path | None) -> None:
    """Verify the chain, sign how far it reaches, and record that a checkpoint was exported."""
    actor = Actor.system(request_id=f"cli-{secrets.token_hex(8)}")
    try:
        checkpoint = audit.export_checkpoint(db.session(), actor=actor)
    except RoiError as exc:
        raise click.ClickException(_one_line(exc)) from None
    text = checkpoint.to_json() + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        write_private(output, text)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"checkpoint at seq {checkpoint.seq} written to {output}", err=True)


def write_private(path: Path, text: str) -> None:
    """Write `text` atomically with mode 0600: readers see the old file or the new, never half.

    Raises:
        OSError: the folder is not writable.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _one_line(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return " ".join(message.split())
