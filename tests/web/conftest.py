"""People of two practices, made through the services inside the app's database."""

from __future__ import annotations

import pytest

from roi.actor import Role
from tests.factories import Person, make_client, make_client_user, make_user

OTHER_PRACTICE = "Northgate Psychiatry"


@pytest.fixture
def clinician(session) -> Person:
    return make_user(session, Role.CLINICIAN, name="Dana Whitfield")


@pytest.fixture
def other_clinician(session) -> Person:
    """A clinician of another practice."""
    return make_user(session, Role.CLINICIAN, org=OTHER_PRACTICE, name="Samuel Okafor")


@pytest.fixture
def compliance(session) -> Person:
    return make_user(session, Role.COMPLIANCE, name="Priya Raman")


@pytest.fixture
def admin(session) -> Person:
    return make_user(session, Role.ADMIN, name="Alex Morgan")


@pytest.fixture
def own_client(session, clinician):
    return make_client(session, clinician, given_name="Maya", family_name="Chen")


@pytest.fixture
def foreign_client(session, other_clinician):
    return make_client(session, other_clinician, given_name="Ruth", family_name="Ellison")


@pytest.fixture
def client_person(session, clinician) -> Person:
    _, person = make_client_user(session, clinician, given_name="Jordan", family_name="Avery")
    return person
