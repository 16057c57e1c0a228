"""Fixtures of the harvester tests: the fault server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harvester import bodies, faults
from tests.harvester.faults import FaultServer


@pytest.fixture
def server() -> Iterator[FaultServer]:
    """A fault server answering Identify with a valid body; the test scripts the rest."""
    with faults.running(identify=bodies.identify()) as running:
        yield running
