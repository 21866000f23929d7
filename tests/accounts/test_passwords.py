"""Passwords: argon2id at production cost, rehash when the cost rises, sensible rules."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from roi.accounts import sessions
from roi.accounts.models import User
from roi.accounts.passwords import password_problem, verify_password
from roi.actor import Role
from roi.config import Argon2Parameters, Settings
from tests.factories import make_user


def params_of(stored: str) -> dict[str, int]:
    match = re.match(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", stored)
    assert match, stored
    m, t, p = (int(x) for x in match.groups())
    return {"m": m, "t": t, "p": p}


def test_production_hash_parameters_meet_the_minimum(session):
    # A1: the defaults roi ships with, not the cheap test ones
    from roi.accounts import service
    from roi.actor import Actor

    user = service.create_user(
        session,
        Actor.system(),
        email="prod@example.org",
        password="a sturdy passphrase here",
        role=Role.ADMIN,
        name="Prod",
        organization=None,
        client_id=None,
        argon2=Argon2Parameters(),
    )
    params = params_of(user.password_hash)
    assert params["m"] >= 19456
    assert params["t"] >= 2


def test_raising_the_cost_rehashes_at_next_login(session, tmp_path):
    # Given a user hashed at a low cost
    low = Argon2Parameters(time_cost=1, memory_cost=1024, parallelism=1)
    person = make_user(session, Role.ADMIN, org=None)
    before = person.user.password_hash
    assert params_of(before)["m"] == low.memory_cost
    # When the configured cost rises and the user signs in
    higher = Argon2Parameters(time_cost=2, memory_cost=19456, parallelism=1)
    settings = Settings.from_env({}, {"instance_path": tmp_path, "argon2": higher})
    sessions.authenticate(
        session,
        email=person.email,
        password=person.password,
        ip=None,
        request_id=None,
        settings=settings,
    )
    # Then the stored hash carries the new cost and still verifies
    session.expire_all()
    after = session.scalar(select(User.password_hash).where(User.id == person.user.id))
    assert after != before
    assert params_of(after) == {"m": 19456, "t": 2, "p": 1}
    assert verify_password(after, person.password, higher)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short", "at least 12"),
        ("password1234", "too common"),
        ("aaaaaaaaaaaaaaaa", "too common"),
        ("x" * 129, "at most 128"),
        ("dana.whitfield-2026", "name or email"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password, why):
    problem = password_problem(password, email="dana.whitfield@example.org", name="Dana Whitfield")
    assert problem
    assert why in problem


def test_a_good_passphrase_is_accepted():
    assert password_problem("violet kettle harbor thunder", email="a@b.org") is None


def test_unknown_hash_or_garbage_never_verifies():
    cheap = Argon2Parameters(time_cost=1, memory_cost=1024, parallelism=1)
    assert verify_password(None, "anything at all", cheap) is False
    assert verify_password("not-a-hash", "anything at all", cheap) is False
