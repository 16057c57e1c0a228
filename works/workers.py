"""The worker processes of a full recompute: the pool, and work sent to it in order."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import TypeVar

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


@contextlib.contextmanager
def worker_pool(processes: int) -> Iterator[Executor | None]:
    """Worker processes for the recompute's pure work (deriving, comparing groups, display
    names), or None to do it all here. The pool lives for one recompute; it and this
    process collect garbage rarely meanwhile."""
    with rare_collections():
        if processes <= 1:
            yield None
            return
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=processes, mp_context=context, initializer=_rare_collections
        ) as pool:
            yield pool


# A full recompute allocates millions of short-lived objects and no cycles worth collecting:
# collecting after every 700 allocations (Python's default) cost its workers ~9% of deriving
# (20k records: 98-100 us a record, 88-92 with this; a 100k recompute's main process 7.1 ->
# 6.9 s of CPU, its workers 12.1-13.1 -> 11.0 s). The harvest's thresholds
# (harvester.memory.collect_rarely), which the works package may not import.
_RARE_COLLECTIONS = (100_000, 50, 100)


def _rare_collections() -> None:
    gc.set_threshold(*_RARE_COLLECTIONS)


@contextlib.contextmanager
def rare_collections() -> Iterator[None]:
    """Collect garbage rarely in this process for a block (the thresholds restored after)."""
    before = gc.get_threshold()
    gc.set_threshold(*_RARE_COLLECTIONS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def in_order(
    pool: Executor,
    function: Callable[[_Item], _Result],
    items: Iterable[_Item],
    in_flight: int,
) -> Iterator[_Result]:
    """`function` of each item, run by the pool's workers and given back in the items'
    order, with at most `in_flight` items sent ahead (so memory stays bounded) while the
    caller uses the results."""
    pending: deque[Future[_Result]] = deque()
    for item in items:
        pending.append(pool.submit(function, item))
        if len(pending) >= in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
