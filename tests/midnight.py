"""Every test as if it began just before midnight UTC: `pytest -p tests.midnight`.

A test that takes "today" twice (once for the data, once for what the page should say), or a
date when the suite is collected and again when the test runs, fails only when a run crosses
midnight: rarely, and then in CI. Under this plugin each test, its fixtures included, starts
`--midnight-lead` seconds (0.5 by default) before the next 00:00 UTC with the clock running, so
the day turns over while it runs. Fixtures take different times, so a check runs it with a few
leads (0.05, 0.5, 1.5). Tests marked `subprocess` keep the real clock: the processes they start
cannot be moved with them. Not part of `make test`: each lead is one more run of the suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--midnight-lead",
        type=float,
        default=0.5,
        help="seconds before midnight UTC at which each test starts (tests.midnight)",
    )


@pytest.fixture(autouse=True)
def _just_before_midnight(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("subprocess") is not None:
        yield
        return
    lead = timedelta(seconds=request.config.getoption("--midnight-lead"))
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    with time_machine.travel(datetime.combine(tomorrow, time.min, UTC) - lead, tick=True):
        yield
