"""Same-work links: each record of a work of two or more is published with dc:relation
entries naming the other records of its work (this repository's identifiers)."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections import defaultdict
from collections.abc import Sequence

from oaiformat import dublin_core
from oaiformat.identifiers import published_set_specs
from store.batches import IDS, chunks, placeholders, rows_in
from store.meta import next_count
from store.records import SourceInfo, load_source
from store.schema import RECEIVED_XML
from store.tables import RECORD_SETS, RECORDS, WORK_MEMBERS
from store.writes import provenance_of, render_published

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


# What relink reads of a record to publish it again.
_RELINK_COLUMNS = (
    "id, source, identifier, local_identifier, datestamp_raw, datestamp, sets, harvest_date,"
    f" metadata, {RECEIVED_XML}, publishes_received"
)


def _metadata(stored: str) -> dublin_core.Metadata:
    """The DC values of a record's stored JSON (parsed only when rendered from them)."""
    return dublin_core.from_json(json.loads(stored))


def relink(conn: sqlite3.Connection, record_ids: Sequence[int], *, now: str) -> int:
    """Re-render these live records with their current same-work links (under the
    identifiers they are published with), inside the caller's transaction; their local
    datestamp moves to `now` (the dissemination changed). Returns how many were
    re-rendered."""
    if not record_ids:
        return 0
    change_seq = next_count(conn, "change_seq")
    links = work_links(conn, record_ids)
    sources: dict[str, SourceInfo | None] = {}
    done = 0
    for chunk in chunks(record_ids):
        rows = conn.execute(
            f"SELECT {_RELINK_COLUMNS} FROM {RECORDS}"
            f" WHERE id IN ({placeholders(chunk)}) AND deleted = 0",
            chunk,
        ).fetchall()
        updates = []
        for row in rows:
            record_id, source, identifier, local, raw, normalised, sets, harvest_date = row[:8]
            metadata, received, publishes_received = row[8:]
            if source not in sources:
                sources[source] = load_source(conn, source)
            published = render_published(
                local_identifier=local,
                local_datestamp=now,
                set_specs=published_set_specs(source, json.loads(sets)),
                deleted=False,
                metadata=functools.partial(_metadata, metadata),
                provenance=provenance_of(
                    sources[source], identifier, raw, normalised, harvest_date
                ),
                links=links.get(record_id, ()),
                received=received,
                publishes_received=bool(publishes_received),
            )
            updates.append((*published, now, change_seq, record_id))
        conn.executemany(
            f"UPDATE {RECORDS} SET header_xml = ?, record_xml = ?, metadata_xml = ?,"
            " local_datestamp = ?, change_seq = ? WHERE id = ?",
            updates,
        )
        conn.executemany(
            f"UPDATE {RECORD_SETS} SET local_datestamp = ?, change_seq = ? WHERE record_id = ?",
            [(now, change_seq, update[-1]) for update in updates],
        )
        done += len(updates)
    return done
