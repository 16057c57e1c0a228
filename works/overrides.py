"""Author overrides: a person's hand-made corrections of author keys, kept across harvests.

Two kinds: a join (every name keyed K is keyed T instead: two keys, one person) and a split
(in one record, the name keyed K is keyed NEW instead: one key, two people). Each returns
the records whose derived rows must be recomputed (the `change` of works.refresh()).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from store.batches import IDS, rows_in
from store.records import find_record_id
from store.tables import AUTHOR_OVERRIDES, RECORD_AUTHORS, RECORDS
from works.errors import BadOverride
from works.names import parse_creators


def _records_with_keys(conn: sqlite3.Connection, keys: set[str]) -> list[int]:
    found = {
        int(r)
        for (r,) in rows_in(
            conn,
            f"SELECT DISTINCT record_id FROM {RECORD_AUTHORS} WHERE author_key IN ({IDS})",
            sorted(keys),
        )
    }
    return sorted(found)


def _linked_keys(conn: sqlite3.Connection, keys: set[str]) -> set[str]:
    """The keys tied to these by overrides, directly or through chains (a join of a key
    that was itself joined): the records carrying any of them may change."""
    edges = conn.execute(f"SELECT author_key, new_key FROM {AUTHOR_OVERRIDES}").fetchall()
    linked = set(keys)
    grew = True
    while grew:
        grew = False
        for a, b in edges:
            if (a in linked) != (b in linked):
                linked.update((str(a), str(b)))
                grew = True
    return linked


def _check_key(key: str) -> None:
    # '|' separates the keys of a record in match_features.
    if not key.strip() or key != key.strip() or "|" in key:
        raise BadOverride(f"an author key (no '|', no surrounding spaces) is needed, got {key!r}")


def join(conn: sqlite3.Connection, key: str, into: str, *, note: str | None, now: str) -> list[int]:
    """Key every name keyed `key` as `into`; returns the records to re-derive."""
    _check_key(key)
    _check_key(into)
    if key == into:
        raise BadOverride(f"joining {key!r} into itself changes nothing")
    known = conn.execute(
        f"SELECT 1 FROM {RECORD_AUTHORS} WHERE author_key = ?"
        f" UNION ALL SELECT 1 FROM {AUTHOR_OVERRIDES} WHERE author_key = ? OR new_key = ?"
        " LIMIT 1",
        [key, key, key],
    ).fetchone()
    if known is None:
        raise BadOverride(f"no record has an author keyed {key!r}")
    before = _linked_keys(conn, {key, into})
    conn.execute(
        f"INSERT INTO {AUTHOR_OVERRIDES} (author_key, source, identifier, new_key, note,"
        " created_at) VALUES (?, NULL, NULL, ?, ?, ?)"
        " ON CONFLICT (author_key, ifnull(source, ''), ifnull(identifier, ''))"
        " DO UPDATE SET new_key = excluded.new_key, note = excluded.note",
        [key, into, note, now],
    )
    return _records_with_keys(conn, before | _linked_keys(conn, {key, into}))


def split(
    conn: sqlite3.Connection,
    key: str,
    identifier: str,
    new_key: str,
    *,
    note: str | None,
    now: str,
) -> list[int]:
    """Key the name keyed `key` in one record (identifier local or at its origin) as
    `new_key`; returns the records to re-derive."""
    _check_key(key)
    _check_key(new_key)
    record_id = find_record_id(conn, identifier)
    source, origin = conn.execute(
        f"SELECT source, identifier FROM {RECORDS} WHERE id = ?", [record_id]
    ).fetchone()
    computed = {
        name.key
        for (value,) in conn.execute(
            f"SELECT name FROM {RECORD_AUTHORS} WHERE record_id = ?", [record_id]
        )
        for name in parse_creators([str(value)])
    }
    if key not in computed:
        raise BadOverride(f"{identifier!r} has no author keyed {key!r}")
    conn.execute(
        f"INSERT INTO {AUTHOR_OVERRIDES} (author_key, source, identifier, new_key, note,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (author_key, ifnull(source, ''), ifnull(identifier, ''))"
        " DO UPDATE SET new_key = excluded.new_key, note = excluded.note",
        [key, source, origin, new_key, note, now],
    )
    return [record_id]


def remove(conn: sqlite3.Connection, override_id: int) -> list[int]:
    """Drop one override; returns the records to re-derive."""
    row = conn.execute(
        f"SELECT author_key, new_key FROM {AUTHOR_OVERRIDES} WHERE id = ?", [override_id]
    ).fetchone()
    if row is None:
        raise BadOverride(f"there is no override {override_id}")
    linked = _linked_keys(conn, {str(row[0]), str(row[1])})
    conn.execute(f"DELETE FROM {AUTHOR_OVERRIDES} WHERE id = ?", [override_id])
    return _records_with_keys(conn, linked)


def listing(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every override, oldest first."""
    rows = conn.execute(
        f"SELECT id, author_key, source, identifier, new_key, note, created_at"
        f" FROM {AUTHOR_OVERRIDES} ORDER BY id"
    ).fetchall()
    names = ("id", "key", "source", "identifier", "new_key", "note", "created_at")
    return [dict(zip(names, row, strict=True)) for row in rows]
