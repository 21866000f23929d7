"""Fixtures for the vault tests: the test-only sealed table, created and dropped per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.vault import tables


@pytest.fixture
def notes(engine: Engine) -> Iterator[Engine]:
    """The engine, with an empty `sealed_notes` table (dropped afterwards: on PostgreSQL the
    database outlives the test and the shared conftest truncates only application tables)."""
    tables.metadata.drop_all(engine)
    tables.metadata.create_all(engine)
    yield engine
    engine.dispose()
    tables.metadata.drop_all(engine)
