"""Queries over id lists longer than one batch: every id reached once, in batch order."""

from __future__ import annotations

import sqlite3

import pytest

from store.batches import BATCH, IDS, execute_in, rows_in


@pytest.fixture
def conn() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"v{i}") for i in range(3 * BATCH)])
    return conn


def test_rows_in_reads_every_batch(conn: sqlite3.Connection) -> None:
    wanted = [*range(1, 3 * BATCH, 2), 10 * BATCH]  # more than one batch; one missing
    rows = list(rows_in(conn, f"SELECT id, v FROM t WHERE id IN ({IDS}) ORDER BY id", wanted))
    assert [r[0] for r in rows] == wanted[:-1]
    assert list(rows_in(conn, f"SELECT id FROM t WHERE id IN ({IDS})", [])) == []


def test_execute_in_writes_every_batch_and_counts(conn: sqlite3.Connection) -> None:
    doomed = range(0, 3 * BATCH, 3)
    assert execute_in(conn, f"DELETE FROM t WHERE id IN ({IDS})", doomed) == BATCH
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 2 * BATCH


def test_a_statement_without_the_ids_marker_is_refused(conn: sqlite3.Connection) -> None:
    with pytest.raises(ValueError, match="ids"):
        execute_in(conn, "DELETE FROM t", [1])
