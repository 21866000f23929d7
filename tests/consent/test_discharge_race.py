"""A discharge recorded while a release "until the end of treatment" is being signed ends it:
the two take the client's turn (`roi.consent.queries.hold_client`), so the discharge either ends
the release once signed, or the signing sees the discharge and refuses.

PostgreSQL only: SQLite runs one writer at a time.
"""

from __future__ import annotations

import threading
from unittest import mock

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from roi.clock import now
from roi.consent import lifecycle
from roi.consent.lifecycle import signing
from roi.consent.models import Consent, ConsentStatus, ExpiryEventKind
from tests.consent.test_gate import decide
from tests.helpers import PATIENCE, held_up


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("SQLite runs one writer at a time")


def test_a_discharge_recorded_while_the_client_signs_ends_the_release(engine, session, referral):
    # Given a release until the end of treatment, waiting for the client's signature
    waiting = referral.sent(
        session, expiry_event_kind=ExpiryEventKind.END_OF_TREATMENT, expires_on=None
    )
    discharge_pid: list[int] = []
    discharged: list[object] = []

    def record_discharge() -> None:
        with Session(engine) as other:
            discharge_pid.append(other.scalar(text("SELECT pg_backend_pid()")))
            other.rollback()
            try:
                discharged.append(
                    lifecycle.record_discharge(
                        other, referral.therapist.actor, referral.client_id, now().date()
                    )
                )
            except BaseException as failed:  # reported below
                discharged.append(failed)

    thread = threading.Thread(target=record_discharge)
    checks = []
    ended_by_discharge = signing.ended_by_discharge

    def check_then_discharge(*args: object, **kwargs: object) -> object:
        found = ended_by_discharge(*args, **kwargs)
        checks.append(found)
        if len(checks) == 2:  # the check inside the signing's write transaction
            # When, on another server, the therapist records today's discharge just then
            held_up(engine, thread, discharge_pid, "the discharge wait for the signing, or finish")
        return found

    with mock.patch.object(signing, "ended_by_discharge", check_then_discharge):
        referral.sign(session, waiting)
    thread.join(PATIENCE)
    assert not thread.is_alive()
    # Then the discharge, which waited for the signature, ended the release it signed
    assert discharged == [[waiting.id]]
    session.rollback()
    assert session.get(Consent, waiting.id).status is ConsentStatus.EXPIRED
    assert not decide(session, referral).permitted
