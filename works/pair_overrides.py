"""A person's decisions on two records: the same work, or not the same work.

Kept by (source, identifier), so they survive re-harvests, re-imports and a full recompute.
"Same" joins the two records' works whatever the rules say; "different" keeps them apart
(a cannot-link, as a conflict is). Each change returns the two records, whose works the
refresh run with it recomputes.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from store.records import find_record_id
from store.tables import RECORDS, WORK_OVERRIDES
from works.errors import BadOverride

DECISIONS = ("same", "different")
# The evidence a "same" decision gives the edge it adds.
_RESOLVED = (
    f"SELECT o.id, o.decision, o.note, ra.id, rb.id FROM {WORK_OVERRIDES} o"
    f" JOIN {RECORDS} ra ON ra.source = o.source_a AND ra.identifier = o.identifier_a"
    f" JOIN {RECORDS} rb ON rb.source = o.source_b AND rb.identifier = o.identifier_b"
    " WHERE ra.deleted = 0 AND rb.deleted = 0"
)


def _key(conn: sqlite3.Connection, record_id: int) -> tuple[str, str]:
    row = conn.execute(f"SELECT source, identifier FROM {RECORDS} WHERE id = ?", [record_id])
    source, identifier = row.fetchone()
    return str(source), str(identifier)


def mark(
    conn: sqlite3.Connection,
    first: str,
    second: str,
    decision: str,
    *,
    note: str | None,
    now: str,
) -> list[int]:
    """Record that the records `first` and `second` (identifiers at their origin or here)
    are the same work, or not; replaces an earlier decision on the pair. Returns the two
    record ids. Raises BadOverride for an unknown decision or a record paired with itself,
    UnknownRecord for an identifier that names no record."""
    if decision not in DECISIONS:
        raise BadOverride(f"the decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    ids = sorted({find_record_id(conn, first), find_record_id(conn, second)})
    if len(ids) != 2:
        raise BadOverride(f"{first!r} and {second!r} name one record")
    (source_a, identifier_a), (source_b, identifier_b) = _key(conn, ids[0]), _key(conn, ids[1])
    conn.execute(
        f"INSERT INTO {WORK_OVERRIDES} (decision, source_a, identifier_a, source_b,"
        " identifier_b, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (source_a, identifier_a, source_b, identifier_b) DO UPDATE SET"
        " decision = excluded.decision, note = excluded.note, created_at = excluded.created_at",
        [decision, source_a, identifier_a, source_b, identifier_b, note, now],
    )
    return ids


def unmark(conn: sqlite3.Connection, override_id: int) -> list[int]:
    """Drop one decision; returns its two records (still present). Raises BadOverride when
    there is no decision with that id."""
    row = conn.execute(
        f"SELECT ra.id, rb.id FROM {WORK_OVERRIDES} o"
        f" LEFT JOIN {RECORDS} ra ON ra.source = o.source_a AND ra.identifier = o.identifier_a"
        f" LEFT JOIN {RECORDS} rb ON rb.source = o.source_b AND rb.identifier = o.identifier_b"
        " WHERE o.id = ?",
        [override_id],
    ).fetchone()
    if row is None:
        raise BadOverride(f"no same/different decision has the id {override_id}")
    conn.execute(f"DELETE FROM {WORK_OVERRIDES} WHERE id = ?", [override_id])
    return sorted(int(r) for r in row if r is not None)


def pair_listing(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every same/different decision, oldest first."""
    rows = conn.execute(
        f"SELECT id, decision, source_a, identifier_a, source_b, identifier_b, note, created_at"
        f" FROM {WORK_OVERRIDES} ORDER BY id"
    ).fetchall()
    names = ("id", "decision", "source_a", "identifier_a", "source_b", "identifier_b")
    return [
        {**dict(zip(names, row[:6], strict=True)), "note": row[6], "created_at": row[7]}
        for row in rows
    ]


@dataclass(frozen=True)
class Decisions:
    """A person's decisions between live records, read once per refresh."""

    # "same": (record a, record b, evidence) edges, a < b.
    same: list[tuple[int, int, str]]
    # "different": (lower id, higher id) pairs.
    different: set[tuple[int, int]]

    @functools.cached_property
    def same_pairs(self) -> set[tuple[int, int]]:
        """The "same" decisions as (lower id, higher id) pairs (made once)."""
        return {(a, b) for a, b, _ in self.same}


def load_decisions(conn: sqlite3.Connection) -> Decisions:
    """Every same/different decision between two live records."""
    same: list[tuple[int, int, str]] = []
    different: set[tuple[int, int]] = set()
    for override_id, decision, note, a, b in conn.execute(_RESOLVED):
        pair = (min(int(a), int(b)), max(int(a), int(b)))
        if decision == "same":
            evidence = {"rule": "override", "override": int(override_id), "note": note}
            same.append((*pair, json.dumps(evidence)))
        else:
            different.add(pair)
    return Decisions(same, different)
