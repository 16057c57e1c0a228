"""Read-only SQL for the provider: keyset pages, one record, sets, the earliest datestamp."""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

from oaiformat.identifiers import LOCAL_SOURCE, OAI_IDENTIFIER, SET_SPEC
from store.batches import placeholders
from store.tables import RECORD_SETS, RECORDS, SETS, SOURCES


class ListQuery(NamedTuple):
    """The selection of a ListIdentifiers/ListRecords request, over published sources."""

    from_: str | None
    until: str | None
    set_spec: str | None
    sources: tuple[str, ...] | None
    # Records written after the list began (a higher change_seq) are left out of it.
    max_change_seq: int


def in_sources(sources: tuple[str, ...] | None, column: str = "source") -> tuple[str, list[object]]:
    """An ` AND column IN (...)` clause for the published sources; empty when all are."""
    if sources is None:
        return "", []
    return f" AND {column} IN ({placeholders(sources)})", list(sources)


def _selection(query: ListQuery) -> tuple[str, str, list[object]]:
    """(table, WHERE clause, parameters) of a list: record_sets when a set is asked for."""
    table = RECORD_SETS if query.set_spec is not None else RECORDS
    clauses = [f"{table}.change_seq <= ?"]
    params: list[object] = [query.max_change_seq]
    for condition, value in (
        (f"{table}.set_spec = ?", query.set_spec),
        (f"{table}.local_datestamp >= ?", query.from_),
        (f"{table}.local_datestamp <= ?", query.until),
    ):
        if value is not None:
            clauses.append(condition)
            params.append(value)
    extra, published = in_sources(query.sources, f"{table}.source")
    return table, " WHERE " + " AND ".join(clauses) + extra, params + published


class ListPage(NamedTuple):
    """One page of a list: the records' XML, and the key of the last one when more follow."""

    fragments: list[bytes]
    # (local datestamp, local identifier) of the page's last record; None on the last page.
    next_after: tuple[str, str] | None


def list_page(
    conn: sqlite3.Connection,
    query: ListQuery,
    after: tuple[str, str] | None,
    limit: int,
    *,
    full_records: bool,
) -> ListPage:
    """Return up to `limit` records' XML after the key, and where the next page starts.

    Keyset paging on the (local_datestamp, local_identifier) index: the cost of a page does
    not grow with its position in the list. The page's last key, and whether a record
    follows it, come from the covering index alone; the rows then give one column, not the
    keys of every record too (a page of 100 records: 81 -> 69 us). The caller holds one
    read transaction around it: both queries must see the same records.
    """
    column = "record_xml" if full_records else "header_xml"
    table, where, params = _selection(query)
    if after is not None:
        where += f" AND ({table}.local_datestamp, {table}.local_identifier) > (?, ?)"
        params.extend(after)
    order = f" ORDER BY {table}.local_datestamp, {table}.local_identifier"
    # The limit-th key and the one after it: two rows when the list goes on past this page.
    # Its OFFSET counts from the keyset, within this page: no page costs more than another.
    ends = conn.execute(
        f"SELECT {table}.local_datestamp, {table}.local_identifier FROM {table}{where}{order}"
        " LIMIT 2 OFFSET ?",
        [*params, limit - 1],
    ).fetchall()
    join = (
        f" JOIN {RECORDS} ON {RECORDS}.id = {RECORD_SETS}.record_id" if table == RECORD_SETS else ""
    )
    rows = conn.execute(
        f"SELECT {RECORDS}.{column} FROM {table}{join}{where}{order} LIMIT ?", [*params, limit]
    ).fetchall()
    next_after = (ends[0][0], ends[0][1]) if len(ends) == 2 else None
    return ListPage([row[0] for row in rows], next_after)


def count_list(conn: sqlite3.Connection, query: ListQuery) -> int:
    """Return how many records the selection holds (completeListSize)."""
    table, where, params = _selection(query)
    return int(conn.execute(f"SELECT count(*) FROM {table}{where}", params).fetchone()[0])


def get_record(
    conn: sqlite3.Connection, local_identifier: str, sources: tuple[str, ...] | None
) -> bytes | None:
    """Return the record's rendered XML, or None if no published record has the identifier."""
    extra, params = in_sources(sources)
    row = conn.execute(
        f"SELECT record_xml FROM {RECORDS} WHERE local_identifier = ?{extra}",
        [local_identifier, *params],
    ).fetchone()
    return None if row is None else bytes(row[0])


def record_exists(
    conn: sqlite3.Connection, local_identifier: str, sources: tuple[str, ...] | None
) -> bool:
    """True when a published record (tombstones included) has the identifier."""
    extra, params = in_sources(sources)
    row = conn.execute(
        f"SELECT 1 FROM {RECORDS} WHERE local_identifier = ?{extra}",
        [local_identifier, *params],
    ).fetchone()
    return row is not None


def earliest_datestamp(conn: sqlite3.Connection, sources: tuple[str, ...] | None) -> str | None:
    """Return the smallest local datestamp of a published record, or None when there is none."""
    extra, params = in_sources(sources)
    row = conn.execute(
        f"SELECT min(local_datestamp) FROM {RECORDS} WHERE 1{extra}", params
    ).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def sample_identifier(conn: sqlite3.Connection, prefix: str) -> str | None:
    """Return a record's local identifier that starts with `prefix` and is a valid
    oai-identifier (imported identifiers need not be), or None."""
    # A range on the unique index instead of LIKE, which SQLite would answer with a scan.
    rows = conn.execute(
        f"SELECT local_identifier FROM {RECORDS} WHERE local_identifier > ?"
        " AND local_identifier < ? ORDER BY local_identifier LIMIT 20",
        [prefix, prefix + "\U0010ffff"],
    ).fetchall()
    return next((str(r[0]) for r in rows if OAI_IDENTIFIER.fullmatch(str(r[0]))), None)


def has_sets(conn: sqlite3.Connection, sources: tuple[str, ...] | None) -> bool:
    """True when the repository publishes at least one set."""
    extra, params = in_sources(sources)
    by_name, named = in_sources(sources, "name")
    return any(
        conn.execute(sql, bound).fetchone() is not None
        for sql, bound in (
            (f"SELECT 1 FROM {RECORD_SETS} WHERE 1{extra} LIMIT 1", params),
            (f"SELECT 1 FROM {SOURCES} WHERE name != ?{by_name} LIMIT 1", [LOCAL_SOURCE, *named]),
            (f"SELECT 1 FROM {SETS} WHERE 1{extra} LIMIT 1", params),
        )
    )


def harvested_sources(
    conn: sqlite3.Connection, sources: tuple[str, ...] | None
) -> list[tuple[str, str | None, str | None]]:
    """Return (name, repository name, base URL) of each published harvested source."""
    extra, params = in_sources(sources, "name")
    rows = conn.execute(
        f"SELECT name, repository_name, base_url FROM {SOURCES} WHERE name != ?{extra}"
        " ORDER BY name",
        [LOCAL_SOURCE, *params],
    ).fetchall()
    return [(str(r[0]), r[1], r[2]) for r in rows]


def all_sets(
    conn: sqlite3.Connection, sources: tuple[str, ...] | None
) -> list[tuple[str, str, str | None]]:
    """Return every published (setSpec, setName, setDescription XML or None), by setSpec.

    The sets are those records are in (with their ancestors), each published harvested
    source as a set of its own (named after the origin's repositoryName), and the sets named
    in the `sets` table: harvested from origins (beneath their source) or imported for local
    records. A source harvested with `set` shows the origin's other sets only when records
    are in them.
    """
    named: dict[str, tuple[str, str | None]] = {}
    for name, repository_name, _ in harvested_sources(conn, sources):
        named[name] = (repository_name or name, None)
    extra, params = in_sources(sources)
    # Skip-scan over the set_spec-first primary key: one index seek per distinct set.
    spec = ""
    in_use: set[str] = set()
    while True:
        row = conn.execute(
            f"SELECT set_spec FROM {RECORD_SETS} WHERE set_spec > ?{extra}"
            " ORDER BY set_spec LIMIT 1",
            [spec, *params],
        ).fetchone()
        if row is None:
            break
        spec = str(row[0])
        in_use.add(spec)
        named.setdefault(spec, (spec, None))
    restricted = {
        str(r[0]): str(r[1])
        for r in conn.execute(f"SELECT name, set_spec FROM {SOURCES} WHERE set_spec IS NOT NULL")
    }
    for source, origin_spec, set_name, description in conn.execute(
        f"SELECT source, set_spec, set_name, set_description FROM {SETS}"
    ).fetchall():
        if (sources is not None and source not in sources) or not SET_SPEC.fullmatch(origin_spec):
            continue
        published = origin_spec if source == LOCAL_SOURCE else f"{source}:{origin_spec}"
        harvested = restricted.get(source)
        if harvested and published not in in_use and not _related(origin_spec, harvested):
            continue  # a set outside the one harvested, with no record of ours in it
        # Named sets are listed even when empty: an empty set is legal (protocol §2.6).
        named[published] = (str(set_name), description)
    return sorted((spec, name, description) for spec, (name, description) in named.items())


def _related(spec: str, other: str) -> bool:
    """True when one setSpec is the other or above it in the set hierarchy."""
    return spec == other or other.startswith(f"{spec}:") or spec.startswith(f"{other}:")
