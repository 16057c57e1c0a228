"""Reading authors and works: what `oai authors`, `oai works` and `oai related` print.

Every function returns plain dicts and lists in the documented JSON shapes.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from store.batches import IDS, chunks, placeholders, rows_in
from store.errors import UnknownRecord
from store.records import find_record_id
from store.tables import AUTHORS, RECORD_AUTHORS, RECORDS, WORK_MEMBERS, WORKS


def authors(conn: sqlite3.Connection, *, min_works: int = 1) -> list[dict[str, Any]]:
    """Creators with at least `min_works` works, most works first."""
    rows = conn.execute(
        f"SELECT key, name, works, records, forms, corporate FROM {AUTHORS}"
        " WHERE works >= ? ORDER BY works DESC, key",
        [min_works],
    ).fetchall()
    return [
        {
            "key": str(key),
            "name": str(name),
            "works": int(works),
            "records": int(records),
            "forms": json.loads(str(forms)),
            "corporate": bool(corporate),
        }
        for key, name, works, records, forms, corporate in rows
    ]


def _work_rows(conn: sqlite3.Connection, work_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The works with their authors and members, in the order given."""
    if not work_ids:
        return []
    found: dict[int, dict[str, Any]] = {}
    for chunk in chunks(work_ids):
        marks = placeholders(chunk)
        for work_id, title, year, representative_id in conn.execute(
            f"SELECT id, title, year, representative_id FROM {WORKS} WHERE id IN ({marks})",
            chunk,
        ):
            found[int(work_id)] = {
                "work": int(work_id),
                "title": title,
                "year": year,
                "authors": [],
                "members": [],
                "_representative": int(representative_id),
            }
        members = conn.execute(
            f"SELECT m.work_id, m.record_id, r.source, r.identifier, r.local_identifier,"
            f" m.matched_record_id, m.evidence FROM {WORK_MEMBERS} m"
            f" JOIN {RECORDS} r ON r.id = m.record_id WHERE m.work_id IN ({marks})"
            " ORDER BY m.work_id, m.record_id",
            chunk,
        ).fetchall()
        local_of = {int(row[1]): str(row[4]) for row in members}
        names: dict[int, list[str]] = defaultdict(list)
        for work_id, name in conn.execute(
            f"SELECT m.work_id, coalesce(a.name, ra.name) FROM {WORK_MEMBERS} m"
            f" JOIN {RECORD_AUTHORS} ra ON ra.record_id = m.record_id AND ra.role = 'creator'"
            f" LEFT JOIN {AUTHORS} a ON a.key = ra.author_key"
            f" WHERE m.work_id IN ({marks})"
            " ORDER BY m.work_id, m.record_id != (SELECT representative_id FROM works"
            " WHERE id = m.work_id), m.record_id, ra.position",
            chunk,
        ):
            if name not in names[int(work_id)]:
                names[int(work_id)].append(str(name))
        for work_id, record_id, source, identifier, local, matched, evidence in members:
            work = found[int(work_id)]
            work["members"].append(
                {
                    "source": str(source),
                    "identifier": str(identifier),
                    "local_identifier": str(local),
                    "representative": int(record_id) == work["_representative"],
                    "matched_to": None if matched is None else local_of.get(int(matched)),
                    "evidence": None if evidence is None else json.loads(str(evidence)),
                }
            )
        for work_id in chunk:
            if work_id in found:
                found[work_id]["authors"] = names[work_id]
    ordered = []
    for work_id in work_ids:
        if work_id in found:
            del found[work_id]["_representative"]
            ordered.append(found[work_id])
    return ordered


def _newest_first(conn: sqlite3.Connection, work_ids: Sequence[int]) -> list[int]:
    rows = list(rows_in(conn, f"SELECT id, year, title FROM {WORKS} WHERE id IN ({IDS})", work_ids))
    rows.sort(key=lambda r: (-(r[1] or 0), str(r[2] or "").casefold(), r[0]))
    return [int(r[0]) for r in rows]


def work_of(conn: sqlite3.Connection, identifier: str) -> int:
    """The work of the record with this identifier (local or at its origin).

    Raises UnknownRecord when no record has it, or the record is deleted.
    """
    record_id = find_record_id(conn, identifier)
    row = conn.execute(
        f"SELECT work_id FROM {WORK_MEMBERS} WHERE record_id = ?", [record_id]
    ).fetchone()
    if row is None:
        raise UnknownRecord(f"{identifier!r} is a deleted record: it belongs to no work")
    return int(row[0])


def related(conn: sqlite3.Connection, identifier: str) -> list[dict[str, Any]]:
    """The other works sharing a creator with the record's work, each once, newest first.

    Raises UnknownRecord for an unknown or deleted record.
    """
    work_id = work_of(conn, identifier)
    rows = conn.execute(
        f"SELECT DISTINCT other.work_id FROM {WORK_MEMBERS} mine"
        f" JOIN {RECORD_AUTHORS} a ON a.record_id = mine.record_id AND a.role = 'creator'"
        f" JOIN {RECORD_AUTHORS} b ON b.author_key = a.author_key AND b.role = 'creator'"
        f" JOIN {WORK_MEMBERS} other ON other.record_id = b.record_id"
        " WHERE mine.work_id = ? AND other.work_id != ?",
        [work_id, work_id],
    ).fetchall()
    return _work_rows(conn, _newest_first(conn, [int(r[0]) for r in rows]))


def works(
    conn: sqlite3.Connection,
    *,
    author: str | None = None,
    min_members: int = 1,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Works (of one creator key, if given) with their members and evidence, newest first;
    the first `limit` of them when given."""
    if author is None:
        rows = conn.execute(f"SELECT id FROM {WORKS} WHERE members >= ?", [min_members]).fetchall()
    else:
        rows = conn.execute(
            f"SELECT DISTINCT m.work_id FROM {RECORD_AUTHORS} a"
            f" JOIN {WORK_MEMBERS} m ON m.record_id = a.record_id"
            f" JOIN {WORKS} w ON w.id = m.work_id"
            " WHERE a.author_key = ? AND a.role = 'creator' AND w.members >= ?",
            [author, min_members],
        ).fetchall()
    return _work_rows(conn, _newest_first(conn, [int(r[0]) for r in rows])[:limit])
