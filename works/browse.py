"""Reading authors and works: what `oai authors`, `oai works` and `oai related` print.

Every function returns plain dicts and lists in the documented JSON shapes.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from store.batches import IDS, rows_in
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
    found: dict[int, dict[str, Any]] = {
        int(work_id): {"work": int(work_id), "title": title, "year": year}
        for work_id, title, year in rows_in(
            conn, f"SELECT id, title, year FROM {WORKS} WHERE id IN ({IDS})", work_ids
        )
    }
    members = _members(conn, work_ids)
    names = _creator_names(conn, work_ids)
    return [
        {**found[w], "authors": names.get(w, []), "members": members.get(w, [])}
        for w in work_ids
        if w in found
    ]


def works_by_id(conn: sqlite3.Connection, work_ids: Sequence[int]) -> list[dict[str, Any]]:
    """These works with their authors and members, in the order given (unknown ids left out)."""
    return _work_rows(conn, work_ids)


def _members(conn: sqlite3.Connection, work_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Work -> its member records, each with the match that joined it to the work."""
    rows = list(
        rows_in(
            conn,
            f"SELECT m.work_id, m.record_id, r.source, r.identifier, r.local_identifier,"
            f" m.matched_record_id, m.evidence, w.representative_id = m.record_id"
            f" FROM {WORK_MEMBERS} m JOIN {RECORDS} r ON r.id = m.record_id"
            f" JOIN {WORKS} w ON w.id = m.work_id"
            f" WHERE m.work_id IN ({IDS}) ORDER BY m.work_id, m.record_id",
            work_ids,
        )
    )
    local_of = {int(row[1]): str(row[4]) for row in rows}
    members: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for work_id, _, source, identifier, local, matched, evidence, representative in rows:
        members[int(work_id)].append(
            {
                "source": str(source),
                "identifier": str(identifier),
                "local_identifier": str(local),
                "representative": bool(representative),
                "matched_to": None if matched is None else local_of.get(int(matched)),
                "evidence": None if evidence is None else json.loads(str(evidence)),
            }
        )
    return members


def _creator_names(conn: sqlite3.Connection, work_ids: Sequence[int]) -> dict[int, list[str]]:
    """Work -> its creators' display names, each once, the representative's first."""
    names: dict[int, list[str]] = defaultdict(list)
    for work_id, name in rows_in(
        conn,
        f"SELECT m.work_id, coalesce(a.name, ra.name) FROM {WORK_MEMBERS} m"
        f" JOIN {RECORD_AUTHORS} ra ON ra.record_id = m.record_id AND ra.role = 'creator'"
        f" LEFT JOIN {AUTHORS} a ON a.key = ra.author_key"
        f" WHERE m.work_id IN ({IDS})"
        f" ORDER BY m.work_id, m.record_id != (SELECT representative_id FROM {WORKS}"
        " WHERE id = m.work_id), m.record_id, ra.position",
        work_ids,
    ):
        if name not in names[int(work_id)]:
            names[int(work_id)].append(str(name))
    return names


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
