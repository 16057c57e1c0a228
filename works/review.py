"""Possible duplicates and explanations: what `oai works review` and `oai works explain`
print. Read-only.

A possible duplicate is a compared pair of records left in two works: a pair the rules
judged "review" (strong but insufficient evidence), or a "same" pair whose merge was
refused because it would have put two conflicting records in one work.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from typing import Any

from store.batches import IDS, placeholders, rows_in
from store.errors import UnknownRecord
from store.tables import RECORDS, WORK_MATCHES, WORK_MEMBERS, WORKS
from works.browse import work_of, works_by_id
from works.clusters import CannotLink, conflict_links
from works.conflicts import conflicts
from works.derive import stored_features
from works.features import Features
from works.pair_overrides import Decisions, load_decisions

# Compared pairs whose records are in two works, with both works and their identifiers.
_APART = (
    f"SELECT m.record_a, m.record_b, min(m.decision), min(m.evidence),"
    f" wa.work_id, wb.work_id, ra.local_identifier, rb.local_identifier"
    f" FROM {WORK_MATCHES} m"
    f" JOIN {WORK_MEMBERS} wa ON wa.record_id = m.record_a"
    f" JOIN {WORK_MEMBERS} wb ON wb.record_id = m.record_b"
    f" JOIN {RECORDS} ra ON ra.id = m.record_a"
    f" JOIN {RECORDS} rb ON rb.id = m.record_b"
    f" WHERE wa.work_id != wb.work_id"
)


def _members(conn: sqlite3.Connection, work_ids: set[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    for record_id, work_id in rows_in(
        conn,
        f"SELECT record_id, work_id FROM {WORK_MEMBERS} WHERE work_id IN ({IDS})",
        sorted(work_ids),
    ):
        found[int(work_id)].append(int(record_id))
    return found


def _refusal(
    first: list[int],
    second: list[int],
    features: dict[int, Features],
    decisions: Decisions,
    cannot_link: CannotLink,
    local: dict[int, str],
) -> list[str]:
    """Why the two works could not be one: the first pair of their records that clustering
    refuses to link (`cannot_link`: works.clusters.conflict_links, the one rule), in words."""
    for x in first:
        for y in second:
            if x not in features or y not in features or not cannot_link(x, y):
                continue
            if (min(x, y), max(x, y)) in decisions.different:
                return [f"a person said {local[x]} and {local[y]} are different works"]
            reasons = "; ".join(conflicts(features[x], features[y]))
            return [f"{local[x]} and {local[y]} would share a work: {reasons}"]
    return ["the works were joined otherwise"]


def _apart_rows(conn: sqlite3.Connection, where: str, params: list[Any]) -> list[dict[str, Any]]:
    rows = conn.execute(f"{_APART}{where} GROUP BY m.record_a, m.record_b", params).fetchall()
    refused = [r for r in rows if r[2] == "same"]
    members = _members(conn, {int(w) for r in refused for w in (r[4], r[5])})
    involved = sorted({x for ids in members.values() for x in ids})
    features = {f.record_id: f for f in stored_features(conn, involved)}
    local = {
        int(i): str(x)
        for i, x in rows_in(
            conn, f"SELECT id, local_identifier FROM {RECORDS} WHERE id IN ({IDS})", involved
        )
    }
    decisions = load_decisions(conn)
    cannot_link = conflict_links(features, decisions.different, decisions.same_pairs)
    found = []
    for _, _, decision, evidence_text, work_a, work_b, local_a, local_b in rows:
        evidence = json.loads(str(evidence_text))
        if decision == "same":
            why = _refusal(
                members[int(work_a)],
                members[int(work_b)],
                features,
                decisions,
                cannot_link,
                local,
            )
        else:
            why = list(evidence.pop("not_merged", []))
        found.append(
            {
                "records": [str(local_a), str(local_b)],
                "works": [int(work_a), int(work_b)],
                "evidence": evidence,
                "not_merged": why,
            }
        )
    found.sort(key=lambda row: (row["works"], row["records"]))
    return found


def possible_duplicates(
    conn: sqlite3.Connection, *, limit: int | None = None
) -> list[dict[str, Any]]:
    """Pairs of records kept in two works though evidence links them, with that evidence
    and why they were not merged; by work ids."""
    rows = _apart_rows(conn, "", [])
    return rows[:limit] if limit is not None else rows


def explain(conn: sqlite3.Connection, target: str) -> dict[str, Any]:
    """A work (by its id, or any member's identifier) with the edge that joined each member
    and its evidence, and the possible duplicates of its records with why they were not
    merged. Raises UnknownRecord when nothing matches."""
    work_id = int(target) if target.isdigit() else work_of(conn, target)
    found = works_by_id(conn, [work_id])
    if not found:
        raise UnknownRecord(f"no work has the id {work_id}")
    members = [
        int(r)
        for (r,) in conn.execute(
            f"SELECT record_id FROM {WORK_MEMBERS} WHERE work_id = ?", [work_id]
        )
    ]
    marks = placeholders(members)
    nearby = _apart_rows(
        conn, f" AND (m.record_a IN ({marks}) OR m.record_b IN ({marks}))", members + members
    )
    work = found[0]
    work["possible_duplicates"] = nearby
    representative = conn.execute(
        f"SELECT r.local_identifier FROM {WORKS} w JOIN {RECORDS} r ON r.id = w.representative_id"
        " WHERE w.id = ?",
        [work_id],
    ).fetchone()
    work["representative"] = str(representative[0])
    return work
