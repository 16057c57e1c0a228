"""Rows derived from one record's DC: its authors, matching features and keys, search row.

derive() is pure; write_rows() and delete_derived() (in bulk), or replace_derived() (an
incremental refresh: only the rows that differ), keep the derived tables in step with the
records inside the caller's transaction.
"""

from __future__ import annotations

import json
import sqlite3
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from store.batches import IDS, execute_in, rows_in
from store.tables import (
    AUTHOR_OVERRIDES,
    MATCH_FEATURES,
    MATCH_KEYS,
    RECORD_AUTHORS,
    RECORDS,
    RECORDS_FTS,
)
from works.features import Features, features_of
from works.key_table import change_keys, delete_keys, insert_keys
from works.names import CORPORATE_PREFIX, AuthorName, corporate_acronym, parse_creators
from works.rules import candidate_keys, key_hash
from works.search import index_text

# (computed key, source, identifier) -> key to use; source and identifier are None for an
# override that applies everywhere.
Overrides = Mapping[tuple[str, str | None, str | None], str]


class AuthorRow(NamedTuple):
    """One name of a record, as a record_authors row (columns in table order)."""

    record_id: int
    role: str  # "creator" or "contributor"
    position: int
    name: str  # as written
    key: str


# A live record as derive_batch reads it: (record id, source, identifier, the stored DC
# JSON or None, whether its search row is wanted). A plain tuple: batches of them are
# pickled to worker processes, and a named tuple pickles by its class, row by row (2,000
# rows: 5.1 ms to pickle, 1.2 ms to load, against 1.7 and 0.5 ms as plain tuples).
SourceRow = tuple[int, str, str, str | None, bool]


@dataclass(frozen=True)
class Derived:
    """Everything derived from one live record."""

    record_id: int
    authors: list[AuthorRow]
    features: Features
    keys: list[int]
    # (title, creators, subjects, description), when asked for
    search: tuple[str, str, str, str] | None


def values(metadata: Mapping[str, Any], element: str) -> list[str]:
    """The text of each value of one element in the stored JSON form."""
    found = []
    for item in metadata.get(element, ()):
        text = item if isinstance(item, str) else item.get("value", "")
        if text:
            found.append(str(text))
    return found


def load_overrides(conn: sqlite3.Connection) -> dict[tuple[str, str | None, str | None], str]:
    """Every author override."""
    rows = conn.execute(
        f"SELECT author_key, source, identifier, new_key FROM {AUTHOR_OVERRIDES}"
    ).fetchall()
    return {(str(k), s, i): str(new) for k, s, i, new in rows}


def override_of(key: str, source: str, identifier: str, overrides: Overrides) -> str | None:
    """The key an override moves `key` to in this record (one made for the record, else
    one for every record), or None."""
    return overrides.get((key, source, identifier)) or overrides.get((key, None, None))


def _keyed(
    names: list[AuthorName], source: str, identifier: str, overrides: Overrides
) -> list[AuthorName]:
    if not overrides:
        return names
    keyed = []
    for name in names:
        key = name.key
        # Overrides chain (a split-off key may later be joined to another), cycles cut.
        seen = {key}
        while True:
            following = override_of(key, source, identifier, overrides)
            if following is None:
                break
            key = following
            if key in seen:
                break  # back where a chain went before: a join undoing a split
            seen.add(key)
        keyed.append(name if key == name.key else name._replace(key=key))
    return keyed


def matching_keys(creators: list[AuthorName], contributors: list[AuthorName]) -> list[str]:
    """The author keys matching compares: creators, then contributors (an edited book lists
    its editors as contributors in one repository and as creators in another), then the
    initials of bodies ("RCN" = "Royal College of Nursing")."""
    keys = [n.key for n in creators]
    keys += [n.key for n in contributors if n.key not in keys]
    for name in (*creators, *contributors):
        acronym = corporate_acronym(name)
        if acronym and f"{CORPORATE_PREFIX}{acronym}" not in keys:
            keys.append(f"{CORPORATE_PREFIX}{acronym}")
    return keys


def derive(
    record_id: int,
    source: str,
    identifier: str,
    metadata: Mapping[str, Any],
    overrides: Overrides,
    *,
    search: bool = True,
) -> Derived:
    """The derived rows of one live record (metadata in the stored JSON form); its search
    row only when `search`."""
    creator_values = values(metadata, "creator")
    creators = _keyed(parse_creators(creator_values), source, identifier, overrides)
    contributors = _keyed(
        parse_creators(values(metadata, "contributor")), source, identifier, overrides
    )
    authors = [AuthorRow(record_id, "creator", i, n.written, n.key) for i, n in enumerate(creators)]
    authors += [
        AuthorRow(record_id, "contributor", i, n.written, n.key) for i, n in enumerate(contributors)
    ]
    titles = values(metadata, "title")
    descriptions = values(metadata, "description")
    features = features_of(
        record_id,
        titles,
        matching_keys(creators, contributors),
        values(metadata, "identifier"),
        values(metadata, "date"),
        descriptions,
        sum(len(v) for v in metadata.values()),
        sources=values(metadata, "source"),
        types=values(metadata, "type"),
    )
    keys = sorted({key_hash(k) for k in candidate_keys(features)})
    search_row = (
        (
            index_text(" ".join(titles)),
            index_text("; ".join(creator_values)),
            index_text("; ".join(values(metadata, "subject"))),
            index_text(" ".join(descriptions)),
        )
        if search
        else None
    )
    return Derived(record_id, authors, features, keys, search_row)


@dataclass
class DerivedRows:
    """The rows of a batch of Derived records, ready to insert, in forms cheap to pickle
    (worker processes send them): plain tuples, not AuthorRow (a named tuple pickles by
    its class, which cost a worker and the writer a tenth of a large recompute), and the
    match keys as two arrays of integers (group key, record id)."""

    records: int = 0
    authors: list[tuple[int, str, int, str, str]] = field(default_factory=list)
    features: list[tuple[Any, ...]] = field(default_factory=list)
    key_groups: array[int] = field(default_factory=lambda: array("q"))
    key_records: array[int] = field(default_factory=lambda: array("q"))
    search: list[tuple[int, str, str, str, str]] = field(default_factory=list)


def derive_batch(rows: Sequence[SourceRow], overrides: Overrides) -> DerivedRows:
    """Derive a batch of live records read from the records table, as rows to insert
    (runs in a worker process during a large full recompute)."""
    return rows_of(
        [
            derive(
                record_id,
                source,
                identifier,
                json.loads(metadata) if metadata else {},
                overrides,
                search=search,
            )
            for record_id, source, identifier, metadata, search in rows
        ]
    )


def rows_of(batch: Sequence[Derived]) -> DerivedRows:
    """Derived records as rows to insert."""
    return DerivedRows(
        records=len(batch),
        authors=[(*author,) for d in batch for author in d.authors],
        features=[d.features.row() for d in batch],
        key_groups=array("q", [key for d in batch for key in d.keys]),
        key_records=array("q", [d.record_id for d in batch for _ in d.keys]),
        search=[(d.record_id, *d.search) for d in batch if d.search is not None],
    )


def live_rows(conn: sqlite3.Connection, record_ids: Sequence[int]) -> list[SourceRow]:
    """These records, when live, as derive_batch reads them (search rows wanted)."""
    rows = rows_in(
        conn,
        f"SELECT id, source, identifier, metadata FROM {RECORDS}"
        f" WHERE id IN ({IDS}) AND deleted = 0",
        record_ids,
    )
    return [(int(i), str(s), str(x), m, True) for i, s, x, m in rows]


def write_rows(conn: sqlite3.Connection, rows: DerivedRows, keys: str = MATCH_KEYS) -> None:
    """Insert derived rows of records whose old rows are gone (see delete_derived); their
    keys go to `keys` (a full recompute's staging table, see key_table.staged_keys)."""
    _insert_authors(conn, rows.authors)
    _insert_features(conn, rows.features)
    insert_keys(conn, zip(rows.key_groups, rows.key_records, strict=True), keys)
    _insert_search(conn, rows.search)


def _insert_authors(conn: sqlite3.Connection, rows: Iterable[tuple[Any, ...]]) -> None:
    conn.executemany(
        f"INSERT INTO {RECORD_AUTHORS} (record_id, role, position, name, author_key)"
        " VALUES (?, ?, ?, ?, ?)",
        rows,
    )


def _insert_features(conn: sqlite3.Connection, rows: Iterable[tuple[Any, ...]]) -> None:
    conn.executemany(
        f"INSERT INTO {MATCH_FEATURES} (record_id, title_key, numbers, year, creators, pids,"
        " generic, context, weight, container, volume, issue, first_page, page_count, abstract,"
        " kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def _insert_search(conn: sqlite3.Connection, rows: Iterable[tuple[Any, ...]]) -> None:
    conn.executemany(
        f"INSERT INTO {RECORDS_FTS} (rowid, title, creators, subjects, description)"
        " VALUES (?, ?, ?, ?, ?)",
        rows,
    )


def stored_features(conn: sqlite3.Connection, record_ids: Iterable[int]) -> list[Features]:
    """The match_features rows of these records (those that have one)."""
    rows = rows_in(conn, f"SELECT * FROM {MATCH_FEATURES} WHERE record_id IN ({IDS})", record_ids)
    return [Features.from_row(row) for row in rows]


def key_pairs(features: Iterable[Features]) -> list[tuple[int, int]]:
    """The (group key, record id) pairs the records' stored features give."""
    return [(key_hash(k), f.record_id) for f in features for k in candidate_keys(f)]


def replace_derived(
    conn: sqlite3.Connection, record_ids: Sequence[int], rows: DerivedRows
) -> list[Features]:
    """Bring the derived rows of these records to `rows` (derived from them now: none for a
    record no longer live), writing only the rows that differ; returns their old features.
    A record harvested again unchanged, or with one field edited, keeps most of its rows,
    and each row deleted and inserted again costs random writes in hash-keyed indexes
    (970 changed records at 100k: 8,000 match keys touched 4,800 pages of their index)."""
    old = stored_features(conn, record_ids)
    old_keys = set(key_pairs(old))
    new_keys = set(zip(rows.key_groups, rows.key_records, strict=True))
    change_keys(conn, old_keys - new_keys, new_keys - old_keys)
    old_features = {f.row() for f in old}
    new_features = set(rows.features)
    _delete_by_id(conn, MATCH_FEATURES, "record_id", old_features - new_features)
    _insert_features(conn, sorted(new_features - old_features))
    columns = "record_id, role, position, name, author_key"
    old_authors = _stored(conn, RECORD_AUTHORS, columns, "record_id", record_ids)
    new_authors = set(rows.authors)
    conn.executemany(
        f"DELETE FROM {RECORD_AUTHORS} WHERE record_id = ? AND role = ? AND position = ?",
        sorted(row[:3] for row in old_authors - new_authors),
    )
    _insert_authors(conn, sorted(new_authors - old_authors))
    columns = "rowid, title, creators, subjects, description"
    old_search = _stored(conn, RECORDS_FTS, columns, "rowid", record_ids)
    new_search = set(rows.search)
    _delete_by_id(conn, RECORDS_FTS, "rowid", old_search - new_search)
    _insert_search(conn, sorted(new_search - old_search))
    return old


def _stored(
    conn: sqlite3.Connection, table: str, columns: str, id_column: str, record_ids: Sequence[int]
) -> set[tuple[Any, ...]]:
    """The rows of these records in a derived table, as sets of column values."""
    sql = f"SELECT {columns} FROM {table} WHERE {id_column} IN ({IDS})"
    return {tuple(row) for row in rows_in(conn, sql, record_ids)}


def _delete_by_id(
    conn: sqlite3.Connection, table: str, id_column: str, rows: set[tuple[Any, ...]]
) -> None:
    """Delete rows of a table with one row a record, named by their first column."""
    ids = sorted(row[0] for row in rows)
    execute_in(conn, f"DELETE FROM {table} WHERE {id_column} IN ({IDS})", ids)


def delete_derived(
    conn: sqlite3.Connection, record_ids: Sequence[int], *, search: bool
) -> list[Features]:
    """Delete the derived rows of these records; returns their old features."""
    old = stored_features(conn, record_ids)
    delete_keys(conn, record_ids, key_pairs(old))
    execute_in(conn, f"DELETE FROM {MATCH_FEATURES} WHERE record_id IN ({IDS})", record_ids)
    execute_in(conn, f"DELETE FROM {RECORD_AUTHORS} WHERE record_id IN ({IDS})", record_ids)
    if search:
        execute_in(conn, f"DELETE FROM {RECORDS_FTS} WHERE rowid IN ({IDS})", record_ids)
    return old
