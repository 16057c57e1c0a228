"""Same-work links: each record of a work of two or more is published with dc:relation
entries naming the other records of its work (this repository's identifiers)."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence

from store.batches import IDS, chunks, placeholders, rows_in
from store.meta import next_count
from store.records import RECORD_COLUMNS, SourceInfo, load_source, row_to_record
from store.tables import RECORD_SETS, RECORDS, WORK_MEMBERS
from store.writes import prepare_record

# A record names at most this many others: a work that large is more likely a matching
# accident than a real work, and each link is published in every list page.
MAX_LINKS = 50


def work_links(conn: sqlite3.Connection, record_ids: Sequence[int]) -> dict[int, list[str]]:
    """Record -> the local identifiers of the other records of its work, sorted (the first
    MAX_LINKS)."""
    links: dict[int, list[str]] = defaultdict(list)
    rows = rows_in(
        conn,
        f"SELECT mine.record_id, r.local_identifier FROM {WORK_MEMBERS} mine"
        f" JOIN {WORK_MEMBERS} other ON other.work_id = mine.work_id"
        " AND other.record_id != mine.record_id"
        f" JOIN {RECORDS} r ON r.id = other.record_id"
        f" WHERE mine.record_id IN ({IDS}) ORDER BY r.local_identifier",
        record_ids,
    )
    for record_id, local in rows:
        if len(links[int(record_id)]) < MAX_LINKS:
            links[int(record_id)].append(str(local))
    return links


def relink(
    conn: sqlite3.Connection, record_ids: Sequence[int], *, repository_identifier: str, now: str
) -> int:
    """Re-render these live records with their current same-work links, inside the caller's
    transaction; their local datestamp moves to `now` (the dissemination changed). Returns
    how many were re-rendered."""
    if not record_ids:
        return 0
    change_seq = next_count(conn, "change_seq")
    links = work_links(conn, record_ids)
    sources: dict[str, SourceInfo | None] = {}
    done = 0
    for chunk in chunks(record_ids):
        marks = placeholders(chunk)
        rows = conn.execute(
            f"SELECT id, harvest_date, {RECORD_COLUMNS} FROM {RECORDS}"
            f" WHERE id IN ({marks}) AND deleted = 0",
            chunk,
        ).fetchall()
        for row in rows:
            record_id, harvest_date = int(row[0]), row[1]
            record = row_to_record(row[2:])
            if record.source not in sources:
                sources[record.source] = load_source(conn, record.source)
            prepared = prepare_record(
                record,
                repository_identifier=repository_identifier,
                source=sources[record.source],
                harvest_date=None if harvest_date is None else str(harvest_date),
            )
            published = prepared.published(now, links.get(record_id, ()))
            conn.execute(
                f"UPDATE {RECORDS} SET header_xml = ?, record_xml = ?, metadata_xml = ?,"
                " local_datestamp = ?, change_seq = ? WHERE id = ?",
                [*published, now, change_seq, record_id],
            )
            conn.execute(
                f"UPDATE {RECORD_SETS} SET local_datestamp = ?, change_seq = ? WHERE record_id = ?",
                [now, change_seq, record_id],
            )
            done += 1
    return done
