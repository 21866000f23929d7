"""SECURITY I3: a backup of a running instance (database and key ring together), restored into a
fresh instance, verifies its chain up to the backup's head, opens its sealed data, and a
checkpoint taken after the backup names exactly the entries the restore lost."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from roi import vault
from roi.accounts.models import Provider
from roi.actor import Role
from roi.cli import roi_group
from roi.clock import now
from roi.extensions import db
from roi.vault.keyring import KEY_FILE, KeyRing
from tests.conftest import POSTGRES_URL
from tests.factories import make_client_user, make_user
from tests.helpers import api_token, bearer
from tests.instances import close, initialized_app, instance_app, new_postgres_database

NOTE = "Started sertraline 50 mg; follow-up in four weeks."


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as resources:
        yield resources


def roi(app: Flask, *args: str) -> tuple[int, str, str]:
    result = app.test_cli_runner().invoke(roi_group, list(args))
    return result.exit_code, result.stdout, result.stderr


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as pg_dump and pg_restore take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def back_up(app: Flask, url: str, folder: Path) -> None:
    """What README's "Backup and restore" says: the database online, then the key ring."""
    folder.mkdir(mode=0o700)
    if url.startswith("sqlite"):
        source = sqlite3.connect(make_url(url).database or "")
        target = sqlite3.connect(folder / "roi.db")
        with target:
            source.backup(target)
        source.close()
        target.close()
    else:
        dump = folder / "roi.dump"
        subprocess.run(
            ["pg_dump", "--format=custom", f"--file={dump}", f"--dbname={libpq_url(url)}"],
            check=True,
        )
    shutil.copy2(Path(app.instance_path) / KEY_FILE, folder / KEY_FILE)


def restore(folder: Path, instance: Path, url: str) -> None:
    """Into a fresh instance folder and an empty database: the saved ring, then the database."""
    instance.mkdir(mode=0o700)
    shutil.copy2(folder / KEY_FILE, instance / KEY_FILE)
    if url.startswith("sqlite"):
        shutil.copyfile(folder / "roi.db", make_url(url).database or "")
    else:
        subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                "--exit-on-error",
                f"--dbname={libpq_url(url)}",
                str(folder / "roi.dump"),
            ],
            check=True,
        )


def fresh_database(stack: ExitStack, tmp_path: Path) -> str:
    if POSTGRES_URL is None:
        return f"sqlite:///{tmp_path / 'restored.db'}"
    return stack.enter_context(new_postgres_database(POSTGRES_URL))


def signed_release(app: Flask, client: FlaskClient) -> dict[str, object]:
    """A therapist, a psychiatrist elsewhere and a client; a signed release; one message."""
    with app.app_context():
        session = db.session()
        therapist = make_user(session, Role.CLINICIAN)
        psychiatrist = make_user(session, Role.CLINICIAN, org="Northgate Psychiatry")
        record, person = make_client_user(session, therapist)
        recipient = session.scalar(
            select(Provider.id).where(Provider.user_id == psychiatrist.user.id)
        )
        client_id = record.id
        logins = {
            "therapist": (therapist.email, therapist.password),
            "psychiatrist": (psychiatrist.email, psychiatrist.password),
            "client": (person.email, person.password),
        }
    # Requests run outside the app context, as in production (`g` must not carry over).
    tokens = {who: api_token(client, *login) for who, login in logins.items()}
    created = client.post(
        "/api/v1/consents",
        headers=bearer(tokens["therapist"]),
        json={
            "client_id": client_id,
            "template_id": "general-authorization",
            "recipient_provider_id": recipient,
            "categories": ["diagnosis", "medications"],
            "purposes": ["treatment"],
            "information_description": "Diagnosis and current medications.",
            "expires_on": (now().date() + timedelta(days=180)).isoformat(),
        },
    ).get_json()
    client.post(f"/api/v1/consents/{created['id']}/send", headers=bearer(tokens["therapist"]))
    signed = client.post(
        f"/api/v1/consents/{created['id']}/signature",
        headers=bearer(tokens["client"]),
        json={"signer_name": "Jordan Avery", "signer_relationship": "self", "agree": True},
    )
    assert signed.status_code == 200, signed.get_json()
    message = send_note(client, tokens["therapist"], client_id, recipient)
    return {
        "tokens": tokens,
        "client_id": client_id,
        "recipient": recipient,
        "consent_id": created["id"],
        "document_sha256": signed.get_json()["document_sha256"],
        "message_id": message,
    }


def send_note(client: FlaskClient, token: str, client_id: int, recipient: int | None) -> int:
    response = client.post(
        "/api/v1/messages",
        headers=bearer(token),
        json={
            "client_id": client_id,
            "recipient_provider_id": recipient,
            "categories": ["medications"],
            "purpose": "treatment",
            "subject": "Medication update",
            "body": NOTE,
        },
    )
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def test_a_restored_backup_verifies_opens_and_names_what_it_lost(
    tmp_path: Path, empty_database_url: str, stack: ExitStack
) -> None:
    # Given a running instance with a signed release and a message
    live = initialized_app(tmp_path / "live", empty_database_url)
    stack.callback(close, live)
    client = live.test_client()
    seeded = signed_release(live, client)
    # When its database and key ring are backed up together while it runs
    back_up(live, empty_database_url, tmp_path / "backup")
    code, verified, _ = roi(live, "audit", "verify")
    assert code == 0
    backup_entries = int(verified.split()[1])
    backup_head = verified.split()[-1]
    # And the instance goes on working: another message, a revocation
    tokens: dict[str, str] = seeded["tokens"]  # type: ignore[assignment]
    send_note(client, tokens["therapist"], seeded["client_id"], seeded["recipient"])  # type: ignore[arg-type]
    revoked = client.post(
        f"/api/v1/consents/{seeded['consent_id']}/revocation",
        headers=bearer(tokens["client"]),
        json={},
    )
    assert revoked.status_code == 200
    # And a checkpoint is exported afterwards and kept outside the database
    checkpoint = tmp_path / "checkpoint.json"
    code, _, said = roi(live, "audit", "checkpoint", "--output", str(checkpoint))
    assert code == 0, said
    checkpoint_seq = int(said.split()[3])
    assert checkpoint_seq > backup_entries
    # When the backup is restored into a fresh instance that has only the saved key ring
    restored_url = fresh_database(stack, tmp_path)
    restore(tmp_path / "backup", tmp_path / "restored", restored_url)
    vault.use(KeyRing.generate())  # forget the live ring: the restored instance loads its own
    restored = instance_app(tmp_path / "restored", restored_url)
    stack.callback(close, restored)
    # Then the chain verifies up to the backup's head
    code, verified, _ = roi(restored, "audit", "verify")
    assert code == 0
    assert verified == f"ok {backup_entries} entries, head {backup_head}\n"
    # And the checkpoint names exactly the entries lost with the restore
    code, _, said = roi(restored, "audit", "verify", "--checkpoint", str(checkpoint))
    assert code == 1
    assert f"entries {backup_entries + 1}..{checkpoint_seq} are missing (cut from the end)" in said
    # And the sealed data opens: the signed PDF exactly as signed, the message's body
    reader = restored.test_client()
    document = reader.get(
        f"/api/v1/consents/{seeded['consent_id']}/document.pdf",
        headers=bearer(tokens["psychiatrist"]),
    )
    assert document.status_code == 200
    assert hashlib.sha256(document.data).hexdigest() == seeded["document_sha256"]
    message = reader.get(
        f"/api/v1/messages/{seeded['message_id']}", headers=bearer(tokens["psychiatrist"])
    )
    assert message.status_code == 200
    assert message.get_json()["body"] == NOTE
    # And the restored instance is ready to serve
    assert reader.get("/readyz").get_json() == {"database": "ok", "keys": "ok", "migrations": "ok"}
