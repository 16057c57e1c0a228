"""The recompute's worker pool: results in order, and garbage collected rarely while it lives."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from works.workers import in_order, worker_pool

# Python's default thresholds: a harvest run earlier in the same test session (oai harvest
# through CliRunner) leaves its own rare ones set, which would make these tests pass idly.
DEFAULT = (700, 10, 10)


@pytest.fixture(autouse=True)
def _default_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(*DEFAULT)
    yield
    gc.set_threshold(*before)


def _threshold(_: int) -> tuple[int, int, int]:
    return gc.get_threshold()


def _square(n: int) -> int:
    return n * n


def test_results_come_back_in_the_items_order() -> None:
    with worker_pool(2) as pool:
        assert pool is not None
        assert list(in_order(pool, _square, range(20), in_flight=3)) == [n * n for n in range(20)]


def test_the_pool_and_this_process_collect_rarely_and_restore_after() -> None:
    with worker_pool(2) as pool:
        assert pool is not None
        inside = gc.get_threshold()
        in_workers = set(in_order(pool, _threshold, range(4), in_flight=2))
    assert inside[0] >= 100_000
    assert in_workers == {inside}
    assert gc.get_threshold() == DEFAULT


def test_without_workers_this_process_still_collects_rarely() -> None:
    with worker_pool(1) as pool:
        assert pool is None
        assert gc.get_threshold()[0] >= 100_000
    assert gc.get_threshold() == DEFAULT
