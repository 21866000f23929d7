"""Passkey answers at the second step, checked without a browser: a small software authenticator
(tests/authenticator.py) signs answers the way a browser's would, so each refusal of SECURITY A11
can be made exactly."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from webauthn.helpers import bytes_to_base64url

from roi.accounts import passkeys, sessions
from roi.accounts.mfa import SecondStep
from roi.accounts.models import PasskeyCredential
from roi.actor import Role
from roi.audit import Action, AuditEntry
from tests.authenticator import RP, SoftAuthenticator, add_passkey
from tests.factories import make_user


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
