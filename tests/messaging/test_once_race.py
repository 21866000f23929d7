"""SECURITY E7: "once" means once. A release that expires after its first disclosure; 16 threads
and 2 processes send under it at the same moment. Exactly one message is stored, and every other
send is refused with `consent_expired` (on SQLite BEGIN IMMEDIATE serializes the senders, on
PostgreSQL the consent row's lock does; `gate.use` expires the consent in the winner's
transaction). Everyone starts on one barrier, never on a sleep. A few rounds, each on a fresh
release, keep it under a few seconds per database.
"""

from __future__ import annotations

import subprocess
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from roi import audit
from roi.audit import AuditEntry
from roi.consent.models import Consent, ConsentStatus, ExpiryEventKind
from roi.errors import ConsentRequired
from roi.messaging import service
from roi.messaging.models import Message
from tests.messaging.test_revocation_race import answer, tell, worker

THREADS = 16
PROCESSES = 2
ROUNDS = 2
pytestmark = [pytest.mark.xdist_group("concurrency"), pytest.mark.subprocess]


def one_round(engine, referral, children: list[subprocess.Popen[str]]) -> list[dict[str, object]]:
    """Every sender at once; what each of them saw (a process reports its one send's lists)."""
    results: list[dict[str, object]] = []
    record = threading.Lock()
    start = threading.Barrier(THREADS + 1)
    outgoing = service.Outgoing(
        client_id=referral.client_id,
        recipient_provider_id=referral.recipient_id,
        categories=("diagnosis",),
        purpose="treatment",
        subject="Once",
        body="Sent by one of many at once.",
    )

    def sender() -> None:
        with Session(engine) as own:
            start.wait(timeout=60)
            try:
                result: dict[str, object] = {
                    "permitted": service.send(
                        own, referral.therapist.actor, referral.library, outgoing
                    ).id
                }
            except ConsentRequired as refusal:
                result = {"refused": refusal.reasons}
            except Exception as error:  # reported by the assertions
                result = {"error": repr(error)}
            with record:
                results.append(result)

    threads = [threading.Thread(target=sender) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for child in children:
        tell(child, "round 0 0")
    start.wait(timeout=60)
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a sender hung"
    for child in children:
        seen = answer(child)
        results += [{"permitted": message_id} for message_id in seen["permitted"]]  # type: ignore[attr-defined]
        results += [{"refused": reasons} for reasons in seen["refused"]]  # type: ignore[attr-defined]
        results += [{"error": error} for error in seen["errors"]]  # type: ignore[attr-defined]
    return results


def test_e7_a_release_for_one_disclosure_discloses_once_under_concurrent_sends(
    engine, session, database_url, instance_path, referral
):
    therapist = referral.therapist.actor
    params = {
        "user_id": therapist.user_id,
        "organization_id": therapist.organization_id,
        "client_id": referral.client_id,
        "recipient_provider_id": referral.recipient_id,
    }
    children = [worker(database_url, instance_path, "once", params) for _ in range(PROCESSES)]
    try:
        for n in range(ROUNDS):
            # Given a fresh release that expires after its first disclosure
            consent = referral.signed(
                session, expiry_event_kind=ExpiryEventKind.AFTER_FIRST_DISCLOSURE, expires_on=None
            )
            # When 16 threads and 2 processes send under it at once
            results = one_round(engine, referral, children)
            # Then exactly one message went out, and every other send was refused as expired
            label = f"round {n}"
            assert [r for r in results if "error" in r] == [], label
            permitted = [r["permitted"] for r in results if "permitted" in r]
            refused = [r["refused"] for r in results if "refused" in r]
            assert len(permitted) == 1, label
            assert len(refused) == THREADS + PROCESSES - 1, label
            for reasons in refused:
                assert [(x["code"], x["consent_id"]) for x in reasons] == [  # type: ignore[index]
                    ("consent_expired", consent.id)
                ], label
            session.rollback()
            stored = session.scalars(select(Message.id).where(Message.consent_id == consent.id))
            assert stored.all() == permitted, label
            assert session.get(Consent, consent.id).status is ConsentStatus.EXPIRED, label
            expired = session.scalars(
                select(AuditEntry.message_id).where(
                    AuditEntry.action == "consent.expired", AuditEntry.consent_id == consent.id
                )
            ).all()
            assert expired == permitted, label
    finally:
        for child in children:
            if child.poll() is None:
                tell(child, "exit")
        for child in children:
            child.communicate(timeout=60)
    assert [child.returncode for child in children] == [0] * PROCESSES
    assert audit.verify(session).ok
