"""Queries over long id lists, run a batch of ids at a time (SQLite binds at most a few
hundred values well): the one way this project writes `IN (...)` over a list."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

BATCH = 500
# Where a statement given to rows_in() or execute_in() takes its batch of ids:
# f"SELECT ... WHERE id IN ({IDS})".
IDS = "<ids>"


def chunks(items: Sequence[T], size: int = BATCH) -> Iterator[list[T]]:
    """The items, `size` at a time."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def placeholders(items: Sequence[object]) -> str:
    """ "?, ?, ?": one bound parameter per item."""
    return ", ".join("?" * len(items))


def _batched(sql: str, ids: Iterable[object]) -> Iterator[tuple[str, list[object]]]:
    if IDS not in sql:
        raise ValueError(f"the statement has no {IDS} for its ids: {sql}")
    for chunk in chunks(list(ids)):
        yield sql.replace(IDS, placeholders(chunk)), chunk


def rows_in(conn: sqlite3.Connection, sql: str, ids: Iterable[object]) -> Iterator[Any]:
    """The rows of `sql` run once per batch of `ids` (bound where it says IDS), in batch
    order. Rows of one batch are fetched before the next runs, so the caller may write."""
    for statement, chunk in _batched(sql, ids):
        yield from conn.execute(statement, chunk).fetchall()


def execute_in(conn: sqlite3.Connection, sql: str, ids: Iterable[object]) -> int:
    """Run the write `sql` once per batch of `ids` (bound where it says IDS); returns the
    rows changed."""
    return sum(conn.execute(statement, chunk).rowcount for statement, chunk in _batched(sql, ids))
