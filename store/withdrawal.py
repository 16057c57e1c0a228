"""Withdrawing published records: turning a source's or one record's records into tombstones."""

from __future__ import annotations

import json
import sqlite3

from oaiformat.record import Record
from store.tables import RECORDS
from store.writes import save_records


def withdraw(
    conn: sqlite3.Connection,
    *,
    record_ids: list[int],
    repository_identifier: str,
    now: str,
    deleted_at: str | None = None,
) -> int:
    """Tombstone the given live records inside the caller's transaction; returns how many.

    The tombstone keeps the record's sets (deleted headers carry setSpecs) and takes
    `deleted_at` (default `now`) as its datestamp, the moment of the deletion.
    """
    stamp = deleted_at or now
    tombstones = []
    for record_id in record_ids:
        row = conn.execute(
            f"SELECT source, identifier, sets, deleted FROM {RECORDS} WHERE id = ?", [record_id]
        ).fetchone()
        if row is not None and not row[3]:
            sets = tuple(json.loads(str(row[2])))
            tombstones.append(Record(str(row[0]), str(row[1]), stamp, deleted=True, sets=sets))
    saved = save_records(
        conn, tombstones, repository_identifier=repository_identifier, now=now, harvest_date=stamp
    )
    return saved.deleted


def source_record_ids(conn: sqlite3.Connection, source: str) -> list[int]:
    """Row ids of a source's live records."""
    rows = conn.execute(
        f"SELECT id FROM {RECORDS} WHERE source = ? AND deleted = 0 ORDER BY id", [source]
    ).fetchall()
    return [int(r[0]) for r in rows]
