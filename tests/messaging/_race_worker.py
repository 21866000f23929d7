"""A child process for the revocation race (SECURITY E2), one per sender or revoker:

    python -m tests.messaging._race_worker URL KEYFILE send|revoke|once PARAMS_JSON

It connects, prints `ready`, then reads one line per round, `round CONSENT_ID SEED`, and answers
with one JSON line. A sender sends `sends` messages under whatever the gate allows, each after a
random pause, and reports the ids sent, the reasons of each refusal and any other error. The
revoker waits until the first message of the round is stored, pauses at random, revokes the
consent as the client and reports when. A `once` sender (SECURITY E7) sends one message with no
pause, so that it meets the other senders of its round. `exit` (or end of input) ends the process.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from roi import vault
from roi.actor import Actor, Role
from roi.consent import lifecycle
from roi.consent.library import FormLibrary
from roi.db import configure_engine
from roi.errors import ConsentRequired
from roi.messaging import service
from roi.messaging.models import Message
from roi.models import import_all
from roi.vault.keyring import FileKeyProvider

FORMS = Path(__file__).resolve().parents[2] / "forms"


def send_round(
    session: Session, library: FormLibrary, params: dict[str, Any], rng: random.Random
) -> dict[str, Any]:
    actor = Actor(params["user_id"], Role.CLINICIAN, params["organization_id"])
    outgoing = service.Outgoing(
        client_id=params["client_id"],
        recipient_provider_id=params["recipient_provider_id"],
        categories=("diagnosis",),
        purpose="treatment",
        subject="Race",
        body="Sent while the client revokes.",
    )
    permitted: list[int] = []
    refused: list[list[dict[str, object]]] = []
    errors: list[str] = []
    for _ in range(params["sends"]):
        if params.get("pause", True):
            time.sleep(rng.uniform(0, 0.05))
        try:
            permitted.append(service.send(session, actor, library, outgoing).id)
        except ConsentRequired as refusal:
            refused.append(refusal.reasons)
        except Exception as error:  # reported to the test, which fails on it
            errors.append(repr(error))
            session.rollback()
    return {"permitted": permitted, "refused": refused, "errors": errors}


def revoke_round(
    session: Session, params: dict[str, Any], consent_id: int, rng: random.Random
) -> dict[str, Any]:
    actor = Actor(
        params["user_id"], Role.CLIENT, params["organization_id"], client_id=params["client_id"]
    )
    deadline = time.monotonic() + 30
    query = select(func.count()).select_from(Message).where(Message.consent_id == consent_id)
    while not session.scalar(query) and time.monotonic() < deadline:
        session.rollback()  # a fresh snapshot for the next look
        time.sleep(0.002)
    session.rollback()
    time.sleep(rng.uniform(0, 0.15))
    try:
        revoked = lifecycle.revoke(session, actor, consent_id, reason=None)
    except Exception as error:  # reported to the test, which fails on it
        return {"errors": [repr(error)]}
    assert revoked.revoked_at is not None
    return {"revoked_at": revoked.revoked_at.isoformat(), "errors": []}


def main(url: str, key_file: str, role: str, raw_params: str) -> None:
    import_all()
    vault.use(FileKeyProvider(Path(key_file)).load())
    params = json.loads(raw_params)
    engine = create_engine(url, hide_parameters=True)
    configure_engine(engine)
    library = FormLibrary.load(FORMS)
    with Session(engine) as session:
        session.connection()
        session.rollback()
        print("ready", flush=True)
        for line in sys.stdin:
            command = line.split()
            if not command or command[0] == "exit":
                break
            consent_id, seed = int(command[1]), int(command[2])
            rng = random.Random(seed)
            if role == "send":
                result = send_round(session, library, params, rng)
            elif role == "once":
                result = send_round(session, library, {**params, "sends": 1, "pause": False}, rng)
            else:
                result = revoke_round(session, params, consent_id, rng)
            print(json.dumps(result), flush=True)
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4])
