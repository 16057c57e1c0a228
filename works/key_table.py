"""The candidate keys: match_keys, and the changes incremental refreshes made to them since
they were last folded in (match_key_changes).

Keys are hashes, so writing a refresh's keys into match_keys dirtied pages all over its
index (1M records, 1% changed: 45,281 pages of WAL); the changes sit together in a small
table instead, and are folded into match_keys in bulk, sorted, once they are many or when
a full recompute starts. The current keys are match_keys less the pairs a change row
names, plus the change rows with present = 1 (view match_keys_current): a present = 0 row
names a pair still in match_keys, a present = 1 row a pair not in it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence

from store.batches import IDS, execute_in, placeholders, rows_in
from store.db import parallel_sorting
from store.tables import MATCH_FEATURES, MATCH_KEY_CHANGES, MATCH_KEYS, MATCH_KEYS_CURRENT

# (group key, record id)
KeyPair = tuple[int, int]

# Change rows are folded in when they pass this share of match_keys (at 1M records, about
# five refreshes of 1% each): reading a group then costs a second lookup, and the fold
# applies them in key order, touching each page of the index once for all of them.
FOLD_SHARE = 0.05
KEYS_PER_RECORD = 8


def insert_keys(
    conn: sqlite3.Connection, pairs: Iterable[KeyPair], table: str = MATCH_KEYS
) -> None:
    """Add keys to match_keys (records whose old keys are gone: see delete_keys), or to
    `table` (a full recompute's staging table, see staged_keys). A pair already there (left
    by older key rules, see change_keys) stays once."""
    conn.executemany(f"INSERT OR IGNORE INTO {table} (group_key, record_id) VALUES (?, ?)", pairs)


@contextlib.contextmanager
def staged_keys(conn: sqlite3.Connection, bulk: bool = True) -> Iterator[str]:
    """The table a bulk load writes keys to: a temporary one, moved into match_keys in key
    order after (match_keys is clustered on its key, and keys are hashes: inserting a
    million records' keys as derived would write all over it). Without `bulk`,
    match_keys itself."""
    if not bulk:
        yield MATCH_KEYS
        return
    conn.execute("DROP TABLE IF EXISTS temp.staged_keys")
    conn.execute("CREATE TEMP TABLE staged_keys (group_key INTEGER, record_id INTEGER)")
    yield "temp.staged_keys"
    with parallel_sorting(conn):
        conn.execute(
            f"INSERT OR IGNORE INTO {MATCH_KEYS} (group_key, record_id) SELECT group_key, record_id"
            " FROM temp.staged_keys ORDER BY group_key, record_id"
        )
    conn.execute("DROP TABLE temp.staged_keys")


def delete_keys(
    conn: sqlite3.Connection, record_ids: Sequence[int], current: Iterable[KeyPair]
) -> None:
    """Delete every key of these records; `current` are their current keys."""
    changed = _change_rows(conn, record_ids)
    # Removed by a refresh but still in match_keys; a pair added by one is not in it (and
    # its delete below finds nothing).
    removed = [(g, r) for g, r, present in changed if not present]
    conn.executemany(
        f"DELETE FROM {MATCH_KEYS} WHERE group_key = ? AND record_id = ?",
        sorted({*removed, *current}),
    )
    if changed:
        execute_in(conn, f"DELETE FROM {MATCH_KEY_CHANGES} WHERE record_id IN ({IDS})", record_ids)


def _change_rows(conn: sqlite3.Connection, record_ids: Sequence[int]) -> list[tuple[int, int, int]]:
    """The change rows of these records: (group key, record id, present)."""
    return list(
        rows_in(
            conn,
            f"SELECT group_key, record_id, present FROM {MATCH_KEY_CHANGES}"
            f" WHERE record_id IN ({IDS})",
            record_ids,
        )
    )


def change_keys(
    conn: sqlite3.Connection, removed: Iterable[KeyPair], added: Iterable[KeyPair]
) -> None:
    """Note keys removed from and added to the current keys (an incremental refresh)."""
    removed, added = sorted(removed), sorted(added)
    records = sorted({r for _, r in (*removed, *added)})
    stored = {(g, r): present for g, r, present in _change_rows(conn, records)}
    # A pair a refresh added and this one removes was never in match_keys; one removed and
    # added again still is: either way its change row goes.
    undone = [p for p in removed if stored.get(p) == 1] + [p for p in added if stored.get(p) == 0]
    conn.executemany(
        f"DELETE FROM {MATCH_KEY_CHANGES} WHERE group_key = ? AND record_id = ?", sorted(undone)
    )
    rows = [(g, r, 0) for g, r in removed if (g, r) not in stored]
    fresh = [p for p in added if p not in stored]
    # A store derived under older rules can hold a pair its record's features no longer
    # give (its deletes follow today's rules); when the record gains it again it is current
    # already (a present row for it would break the invariant).
    held = _in_match_keys(conn, fresh)
    rows += [(g, r, 1) for g, r in fresh if (g, r) not in held]
    conn.executemany(
        f"INSERT INTO {MATCH_KEY_CHANGES} (group_key, record_id, present) VALUES (?, ?, ?)",
        sorted(rows),
    )


def _in_match_keys(conn: sqlite3.Connection, pairs: Sequence[KeyPair]) -> set[KeyPair]:
    """Those of these pairs match_keys holds (one primary-key lookup each: a row-value IN
    list scanned the whole table)."""
    sql = f"SELECT 1 FROM {MATCH_KEYS} WHERE group_key = ? AND record_id = ?"
    return {pair for pair in pairs if conn.execute(sql, pair).fetchone() is not None}


def fold(conn: sqlite3.Connection) -> None:
    """Apply every change row to match_keys, in key order, and clear them."""
    conn.execute(
        f"DELETE FROM {MATCH_KEYS} WHERE (group_key, record_id) IN"
        f" (SELECT group_key, record_id FROM {MATCH_KEY_CHANGES} WHERE present = 0)"
    )
    conn.execute(
        f"INSERT OR IGNORE INTO {MATCH_KEYS} (group_key, record_id) SELECT group_key, record_id"
        f" FROM {MATCH_KEY_CHANGES} WHERE present = 1 ORDER BY group_key, record_id"
    )
    conn.execute(f"DELETE FROM {MATCH_KEY_CHANGES}")


def fold_when_many(conn: sqlite3.Connection) -> bool:
    """Fold the change rows in when they pass FOLD_SHARE of match_keys; True when folded."""
    (changes,) = conn.execute(f"SELECT count(*) FROM {MATCH_KEY_CHANGES}").fetchone()
    # The size of match_keys without counting it (8.5M rows at 1M): ~8 keys a record.
    (records,) = conn.execute(f"SELECT max(record_id) FROM {MATCH_FEATURES}").fetchone()
    if changes <= FOLD_SHARE * KEYS_PER_RECORD * (records or 0):
        return False
    fold(conn)
    return True


def group_members(conn: sqlite3.Connection, group_keys: Sequence[int]) -> list[KeyPair]:
    """The current (group key, record id) pairs of these groups, in that order."""
    # SQLite pushes the condition into both halves of the view: primary-key searches in
    # match_keys and match_key_changes, merged in order (as fast as the two spelled out).
    return conn.execute(
        f"SELECT group_key, record_id FROM {MATCH_KEYS_CURRENT}"
        f" WHERE group_key IN ({placeholders(group_keys)}) ORDER BY 1, 2",
        group_keys,
    ).fetchall()
