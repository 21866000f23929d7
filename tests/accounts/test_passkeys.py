"""Passkey answers at the second step, checked without a browser: a small software authenticator
(tests/authenticator.py) signs answers the way a browser's would, so each refusal of SECURITY A11
can be made exactly."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from webauthn.helpers import bytes_to_base64url

from roi.accounts import passkeys, sessions
from roi.accounts.mfa import SecondStep
from roi.accounts.models import PasskeyCredential
from roi.actor import Role
from roi.audit import Action, AuditEntry
from roi.errors import WrongState
from tests.authenticator import RP, SoftAuthenticator, add_passkey
from tests.factories import make_user
from tests.helpers import PATIENCE, held_up


@pytest.fixture
def at_second_step(session):
    """A clinician with a passkey, half-signed-in: (person, session token, authenticator)."""
    person = make_user(session, Role.CLINICIAN)
    authenticator = add_passkey(session, person.user.id)
    token = sessions.start_session(session, person.user, SecondStep.VERIFY)
    return person, token, authenticator


def _refusals(session) -> list[list[str] | None]:
    return [
        entry.reasons
        for entry in session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == Action.AUTH_MFA_FAILED)
            .order_by(AuditEntry.seq)
        )
    ]


def test_a_genuine_answer_passes_once(session, at_second_step):
    person, token, authenticator = at_second_step
    options = passkeys.authentication_options(session, person.user, token, RP)
    answer = authenticator.answer(options)
    assert passkeys.verify(session, person.actor, token, RP, answer)
    # the same answer again: its challenge is used up
    assert not passkeys.verify(session, person.actor, token, RP, answer)
    assert _refusals(session) == [["passkey_no_challenge"]]


def test_an_answer_signed_for_another_origin_is_refused_and_audited(session, at_second_step):
    person, token, authenticator = at_second_step
    options = passkeys.authentication_options(session, person.user, token, RP)
    relayed = authenticator.answer(options, origin="https://evil.example")
    assert not passkeys.verify(session, person.actor, token, RP, relayed)
    assert _refusals(session) == [["passkey_wrong_origin"]]
    assert session.scalar(select(PasskeyCredential.sign_count)) == 0


def test_a_counter_that_went_back_is_refused_and_audited(session, at_second_step):
    person, token, authenticator = at_second_step
    options = passkeys.authentication_options(session, person.user, token, RP)
    assert passkeys.verify(session, person.actor, token, RP, authenticator.answer(options))
    # a clone of the authenticator, copied before that sign-in: its counter is behind
    authenticator.sign_count = 0
    options = passkeys.authentication_options(session, person.user, token, RP)
    assert not passkeys.verify(session, person.actor, token, RP, authenticator.answer(options))
    assert _refusals(session) == [["passkey_counter_went_back"]]


def test_unreadable_unknown_and_forged_answers_are_refused_with_their_reasons(
    session, at_second_step
):
    person, token, authenticator = at_second_step
    stranger = SoftAuthenticator()
    stranger.credential_id = bytes_to_base64url(b"someone-else")
    forger = SoftAuthenticator()  # the right credential id, the wrong key
    for answer_to in (lambda _: "[" * 5000, stranger.answer, forger.answer):
        options = passkeys.authentication_options(session, person.user, token, RP)
        assert not passkeys.verify(session, person.actor, token, RP, answer_to(options))
    assert _refusals(session) == [
        ["passkey_malformed"],
        ["passkey_unknown"],
        ["passkey_not_verified"],
    ]


def test_two_removals_at_once_leave_the_last_second_factor(engine, session, is_postgres):
    # PostgreSQL only: SQLite runs one writer at a time
    if not is_postgres:
        pytest.skip("SQLite runs one writer at a time")
    # Given a clinician whose second factors are two passkeys, in a practice that requires one
    person = make_user(session, Role.CLINICIAN, second_factor=False)
    laptop, key = (
        PasskeyCredential(
            user_id=person.user.id, credential_id=f"cred-{name}", public_key=b"k", name=name
        )
        for name in ("laptop", "key")
    )
    session.add_all([laptop, key])
    session.commit()
    laptop_id, key_id = laptop.id, key.id
    other_pid: list[int] = []
    other_outcome: list[object] = []

    def remove_the_key() -> None:
        with Session(engine) as other:
            other_pid.append(other.scalar(text("SELECT pg_backend_pid()")))
            other.rollback()
            try:
                other_outcome.append(passkeys.remove(other, person.actor, key_id))
            except BaseException as refused:  # reported below
                other_outcome.append(refused)

    thread = threading.Thread(target=remove_the_key)
    removal_refused = passkeys.removal_refused

    def check_then_remove_the_other(*args: object) -> object:
        found = removal_refused(*args)
        if threading.current_thread() is not thread:
            # When, in another tab, they remove the other passkey just then
            held_up(engine, thread, other_pid, "the other removal wait, or finish")
        return found

    with mock.patch.object(passkeys, "removal_refused", check_then_remove_the_other):
        assert passkeys.remove(session, person.actor, laptop_id) == "laptop"
    thread.join(PATIENCE)
    assert not thread.is_alive()
    # Then the other removal, which waited, found the key their last one and kept it
    [refused] = other_outcome
    assert isinstance(refused, WrongState)
    session.rollback()
    assert session.scalars(select(PasskeyCredential.id)).all() == [key_id]
