"""Store-wide values kept in the store_meta table: settings and counters."""

from __future__ import annotations

import sqlite3

from store.tables import STORE_META


def read_meta(conn: sqlite3.Connection, key: str) -> str | None:
    """The value kept under `key`, or None."""
    row = conn.execute(f"SELECT value FROM {STORE_META} WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def write_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Keep `value` under `key` (inside the caller's transaction, if any)."""
    conn.execute(
        f"INSERT INTO {STORE_META} (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def next_count(conn: sqlite3.Connection, key: str) -> int:
    """Advance the counter `key` (0 before its first use) and return its new value; call
    inside a write transaction so no other writer takes the same number."""
    value = int(read_meta(conn, key) or 0) + 1
    write_meta(conn, key, str(value))
    return value
