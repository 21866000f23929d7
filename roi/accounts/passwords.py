"""Password hashing (argon2id), the password rules, and a dummy verify for unknown accounts."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from roi.config import Argon2Parameters
from roi.i18n import N_, Message

MIN_LENGTH = 12
MAX_LENGTH = 128


@cache
def hasher(params: Argon2Parameters) -> PasswordHasher:
    return PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_cost,
        parallelism=params.parallelism,
    )


@cache
def _dummy_hash(params: Argon2Parameters) -> str:
    return hasher(params).hash("roi-dummy-password-for-unknown-accounts")


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords from real breaches; its list is maintained
    # and packaged, so roi need not carry a copy of its own.
    return frozenset(FREQUENCY_LISTS["passwords"])


def hash_password(password: str, params: Argon2Parameters) -> str:
    return hasher(params).hash(password)


def verify_password(stored_hash: str | None, password: str, params: Argon2Parameters) -> bool:
    """Whether `password` matches; with no stored hash, spend the same time and say no.

    The dummy verification keeps an unknown email as slow as a wrong password (SECURITY A3).
    """
    try:
        return hasher(params).verify(stored_hash or _dummy_hash(params), password) and bool(
            stored_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, params: Argon2Parameters) -> bool:
    return hasher(params).check_needs_rehash(stored_hash)


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why `password` is not acceptable, in words a person understands; None when it is."""
    if len(password) < MIN_LENGTH:
        return Message("Use at least %(count)d characters.", count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return Message("Use at most %(count)d characters.", count=MAX_LENGTH)
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(lowered)) < 4:
        return N_("This password is too common or too easy to guess. Try a few unrelated words.")
    local_part = email.split("@", 1)[0].lower()
    if (local_part and local_part in lowered and len(local_part) >= 4) or (
        name and name.replace(" ", "").lower() == lowered.replace(" ", "")
    ):
        return N_("Do not use your name or email address as your password.")
    return None
