"""SECURITY E2: messages sent while the client revokes the consent they go out under.

Each round signs a fresh consent K (therapist → psychiatrist), then 32 threads, each with its own
Session, send under it at random moments while another thread revokes K once the first message
is out (random pause first). After every round:

  (a) no `disclosure.permitted` entry for K has a seq after the `consent.revoked` entry's seq;
  (b) every successful send has exactly one audit entry, which references K, and its message;
  (c) every refused send has its `disclosure.denied` entry (reason `consent_revoked`, after the
      revocation), and nothing else was refused or failed;
  (d) no message under K has `sent_at` at or after K's `revoked_at`.

Run it with `ROI_TEST_DATABASE_URL` empty (SQLite: BEGIN IMMEDIATE serializes the writers) and
set to PostgreSQL (the send share-locks K's row, the revocation locks it for update). The spec
asks 200 rounds; `ROI_RACE_ROUNDS` sets the count and defaults to 20, which keeps each database
under a minute. A second test runs the same race between processes (4 senders, 1 revoker, a
quarter as many rounds, at least 2).

Under pytest-xdist both tests run in the `concurrency` group (one worker, one after another, as
the other race tests do), so two races never share the 2 cores: each round keeps its 33 threads
or 5 processes contending for K's row, not waiting for another test's.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from roi import audit
from roi.audit import AuditEntry
from roi.consent import lifecycle
from roi.consent.models import Consent
from roi.errors import ConsentRequired
from roi.messaging import service
from roi.messaging.models import Message
from roi.vault.keyring import KEY_FILE
from tests.consent.conftest import Referral

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = int(os.environ.get("ROI_RACE_ROUNDS", "20"))
PROCESS_ROUNDS = max(2, ROUNDS // 4)
pytestmark = pytest.mark.xdist_group("concurrency")
SENDERS = 32
SENDS_PER_SENDER = 2
PROCESSES = 4
SENDS_PER_PROCESS = 8


@dataclass
class Outcome:
    """What the senders saw in one round."""

    permitted: list[int] = field(default_factory=list)
    refused: list[list[dict[str, object]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def last_seq(session: Session) -> int:
    session.rollback()
    return session.scalar(select(func.max(AuditEntry.seq))) or 0


def check_round(session: Session, consent_id: int, since_seq: int, outcome: Outcome, label: str):
    """(a)–(d) for one round; returns the number of permitted and refused sends."""
    assert outcome.errors == [], label
    session.rollback()
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.seq > since_seq).order_by(AuditEntry.seq)
    ).all()
    revocations = [r for r in rows if r.action == "consent.revoked"]
    assert [r.consent_id for r in revocations] == [consent_id], label
    revoked_seq = revocations[0].seq
    permitted = [r for r in rows if r.action == "disclosure.permitted"]
    denied = [r for r in rows if r.action == "disclosure.denied"]
    # (a) nothing was disclosed under K after the revocation was logged
    late = [r.seq for r in permitted if r.consent_id == consent_id and r.seq > revoked_seq]
    assert late == [], f"{label}: permits after revocation seq {revoked_seq}: {late}"
    # (b) each successful send: exactly one entry, referencing K and its message
    assert all(r.consent_id == consent_id for r in permitted), label
    per_message = Counter(r.message_id for r in permitted)
    assert sorted(per_message) == sorted(outcome.permitted), label
    assert set(per_message.values()) <= {1}, label
    # (c) each refused send: one denial, for the revocation, logged after it
    assert len(denied) == len(outcome.refused), label
    assert all(r.reasons == ["consent_revoked"] for r in denied), label
    assert all(r.seq > revoked_seq for r in denied), label
    for reasons in outcome.refused:
        assert [(r["code"], r["consent_id"]) for r in reasons] == [
            ("consent_revoked", consent_id)
        ], label
    # (d) no message under K was sent at or after the revocation
    revoked_at = session.scalar(select(Consent.revoked_at).where(Consent.id == consent_id))
    assert revoked_at is not None, label
    messages = session.execute(
        select(Message.id, Message.sent_at).where(Message.consent_id == consent_id)
    ).all()
    assert sorted(m.id for m in messages) == sorted(outcome.permitted), label
    too_late = [(m.id, m.sent_at) for m in messages if m.sent_at >= revoked_at]
    assert too_late == [], f"{label}: revoked at {revoked_at}, sent after: {too_late}"
    return len(outcome.permitted), len(outcome.refused)


def race_threads(
    engine: Engine, referral: Referral, consent_id: int, rng: random.Random
) -> Outcome:
    """32 senders and one revoker, each in its own thread with its own Session."""
    outcome = Outcome()
    record = threading.Lock()
    start = threading.Barrier(SENDERS + 1)
    first_sent = threading.Event()
    outgoing = service.Outgoing(
        client_id=referral.client_id,
        recipient_provider_id=referral.recipient_id,
        categories=("diagnosis",),
        purpose="treatment",
        subject="Race",
        body="Sent while the client revokes.",
    )
    seeds = [rng.randrange(2**32) for _ in range(SENDERS + 1)]

    def sender(seed: int) -> None:
        pauses = random.Random(seed)
        with Session(engine) as own:
            start.wait(timeout=60)
            for _ in range(SENDS_PER_SENDER):
                # spread over a fraction of a second, so that on PostgreSQL the revocation finds
                # moments when no send holds K's share lock (else it waits for them all)
                time.sleep(pauses.uniform(0, 0.2))
                try:
                    message = service.send(
                        own, referral.therapist.actor, referral.library, outgoing
                    )
                    with record:
                        outcome.permitted.append(message.id)
                    first_sent.set()
                except ConsentRequired as refusal:
                    with record:
                        outcome.refused.append(refusal.reasons)
                except Exception as error:  # reported by check_round
                    with record:
                        outcome.errors.append(repr(error))

    def revoker(seed: int) -> None:
        with Session(engine) as own:
            start.wait(timeout=60)
            first_sent.wait(timeout=60)
            time.sleep(random.Random(seed).uniform(0, 0.1))
            try:
                lifecycle.revoke(own, referral.client_person.actor, consent_id, reason=None)
            except Exception as error:  # reported by check_round
                with record:
                    outcome.errors.append(f"revocation: {error!r}")

    threads = [threading.Thread(target=sender, args=(seed,)) for seed in seeds[:-1]]
    threads.append(threading.Thread(target=revoker, args=(seeds[-1],)))
    rng.shuffle(threads)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return outcome


def test_e2_no_message_goes_out_after_a_concurrent_revocation(engine, session, referral):
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    permitted_total = refused_total = 0
    for n in range(ROUNDS):
        # Given a freshly signed consent K
        consent = referral.signed(session)
        since = last_seq(session)
        # When 32 threads send under K while the client revokes it
        outcome = race_threads(engine, referral, consent.id, rng)
        # Then (a)-(d) hold
        label = f"round {n}, seed {seed}"
        permitted, refused = check_round(session, consent.id, since, outcome, label)
        assert permitted + refused == SENDERS * SENDS_PER_SENDER, label
        permitted_total += permitted
        refused_total += refused
    # And the race was real: sends both before and after revocations
    assert permitted_total > 0
    assert refused_total > 0, "no send ever lost the race: the revocation always came last"
    assert audit.verify(session).ok


# --- between processes ------------------------------------------------------------------------


def worker(
    database_url: str, instance_path: Path, role: str, params: dict[str, object]
) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.messaging._race_worker",
            database_url,
            str(instance_path / KEY_FILE),
            role,
            json.dumps(params),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    return child


def tell(child: subprocess.Popen[str], line: str) -> None:
    assert child.stdin is not None
    child.stdin.write(line + "\n")
    child.stdin.flush()


def answer(child: subprocess.Popen[str]) -> dict[str, object]:
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line, "a worker process died"
    result: dict[str, object] = json.loads(line)
    return result


@pytest.mark.subprocess
def test_e2_the_same_holds_between_processes(database_url, instance_path, session, referral):
    # Given 4 sender processes (as the therapist) and 1 revoker process (as the client)
    therapist, client = referral.therapist.actor, referral.client_person.actor
    senders = [
        worker(
            database_url,
            instance_path,
            "send",
            {
                "user_id": therapist.user_id,
                "organization_id": therapist.organization_id,
                "client_id": referral.client_id,
                "recipient_provider_id": referral.recipient_id,
                "sends": SENDS_PER_PROCESS,
            },
        )
        for _ in range(PROCESSES)
    ]
    revoker = worker(
        database_url,
        instance_path,
        "revoke",
        {
            "user_id": client.user_id,
            "organization_id": client.organization_id,
            "client_id": client.client_id,
        },
    )
    everyone = [*senders, revoker]
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    permitted_total = refused_total = 0
    try:
        for n in range(PROCESS_ROUNDS):
            # When, round after round, they send under a fresh consent K while it is revoked
            consent = referral.signed(session)
            since = last_seq(session)
            for child in rng.sample(everyone, len(everyone)):
                tell(child, f"round {consent.id} {rng.randrange(2**32)}")
            results = [answer(child) for child in senders]
            revocation = answer(revoker)
            outcome = Outcome(errors=list(revocation["errors"]))  # type: ignore[call-overload]
            for result in results:
                outcome.permitted += result["permitted"]  # type: ignore[arg-type]
                outcome.refused += result["refused"]  # type: ignore[arg-type]
                outcome.errors += result["errors"]  # type: ignore[arg-type]
            # Then (a)-(d) hold
            label = f"process round {n}, seed {seed}"
            permitted, refused = check_round(session, consent.id, since, outcome, label)
            assert permitted + refused == PROCESSES * SENDS_PER_PROCESS, label
            revoked_at = datetime.fromisoformat(str(revocation["revoked_at"]))
            assert session.get(Consent, consent.id).revoked_at == revoked_at, label
            permitted_total += permitted
            refused_total += refused
    finally:
        for child in everyone:
            if child.poll() is None:
                tell(child, "exit")
        for child in everyone:
            child.communicate(timeout=60)
    assert [child.returncode for child in everyone] == [0] * len(everyone)
    assert permitted_total > 0
    assert refused_total > 0
    assert audit.verify(session).ok
