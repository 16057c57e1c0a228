"""Long id lists cut into SQL-sized batches (SQLite binds at most a few hundred values well)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

BATCH = 500


def chunks(items: Sequence[T], size: int = BATCH) -> Iterator[list[T]]:
    """The items, `size` at a time."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def placeholders(items: Sequence[object]) -> str:
    """ "?, ?, ?": one bound parameter per item."""
    return ", ".join("?" * len(items))
