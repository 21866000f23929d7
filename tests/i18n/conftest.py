from __future__ import annotations

import pytest

from roi.actor import Role
from tests.factories import Person, make_user


@pytest.fixture
def clinician(session) -> Person:
    return make_user(session, Role.CLINICIAN, name="Dana Whitfield")
