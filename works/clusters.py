"""Clusters of matched records, written as works and work members."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from typing import Any, NamedTuple

from store.batches import IDS, execute_in, rows_in
from store.tables import RECORDS, WORK_MEMBERS, WORKS, first_title
from works.conflicts import conflicts
from works.features import Features
from works.rules import Match, representative

# A work's title: its representative's first dc:title.
WORK_TITLE = f"(SELECT {first_title('r')} FROM {RECORDS} r WHERE r.id = {WORKS}.representative_id)"


class Clusters:
    """Union-find over record ids, with each root's members (to check cannot-links)."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}
        self.members: dict[int, list[int]] = {}

    def find(self, node: int) -> int:
        parent = self.parent.get(node)
        if parent is None:
            self.parent[node] = node
            self.members[node] = [node]
            return node
        while parent != node:
            grand = self.parent[parent]
            self.parent[node] = grand
            node, parent = parent, grand
        return node

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            keep, gone = min(root_a, root_b), max(root_a, root_b)
            self.parent[gone] = keep
            self.members[keep].extend(self.members.pop(gone))

    def components(self) -> list[list[int]]:
        return [sorted(members) for members in self.members.values()]


# Whether two records may not share a work (a conflict, or a person's "different").
CannotLink = Callable[[int, int], bool]


def record_names(conn: sqlite3.Connection, record_ids: Iterable[int]) -> dict[int, str]:
    """Record id -> "source identifier": a name that does not depend on when the record
    arrived (its id does)."""
    rows = rows_in(
        conn,
        f"SELECT id, source || ' ' || identifier FROM {RECORDS} WHERE id IN ({IDS})",
        sorted(record_ids),
    )
    return {int(i): str(name) for i, name in rows}


def cluster(
    pairs: Iterable[Sequence[Any]],
    nodes: Iterable[int] = (),
    cannot_link: CannotLink | None = None,
    names: Mapping[int, str] | None = None,
) -> tuple[Clusters, dict[int, list[tuple[int, str]]]]:
    """The nodes and the records of the matched (a, b, evidence) pairs clustered, with each
    record's accepted matches both ways. Pairs are taken in one canonical order: strongest
    evidence first, then by the records' `names` (else ids), so the works depend neither on
    the order of the pairs nor on the order records arrived. A pair whose two clusters hold
    records that cannot be linked is refused (A = B and B = C do not make A = C when A and C
    conflict)."""

    def order(pair: Sequence[Any]) -> tuple[int, str, str, int, int]:
        first, second, evidence = int(pair[0]), int(pair[1]), pair[2]
        strength = Match("same", json.loads(str(evidence))).strength
        if names is None:
            return (-strength, "", "", min(first, second), max(first, second))
        low, high = sorted((names.get(first, ""), names.get(second, "")))
        return (-strength, low, high, min(first, second), max(first, second))

    clusters = Clusters()
    edges: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for node in nodes:
        clusters.find(node)
    for first, second, evidence in sorted(pairs, key=order):
        a, b = int(first), int(second)
        root_a, root_b = clusters.find(a), clusters.find(b)
        if root_a != root_b and cannot_link is not None:
            inside_a, inside_b = clusters.members[root_a], clusters.members[root_b]
            if any(cannot_link(x, y) for x in inside_a for y in inside_b):
                continue
        clusters.union(a, b)
        edges[a].append((b, str(evidence)))
        edges[b].append((a, str(evidence)))
    return clusters, edges


def conflict_links(
    features: dict[int, Features],
    different: Set[tuple[int, int]],
    same: Set[tuple[int, int]] = frozenset(),
) -> CannotLink:
    """Records that may not share a work: a person said they differ, or their metadata
    conflicts (works.conflicts) and no person said they are the same. Records without
    features (deleted) never link."""

    def cannot_link(x: int, y: int) -> bool:
        pair = (min(x, y), max(x, y))
        if pair in different:
            return True
        if pair in same:
            return False
        first, second = features.get(x), features.get(y)
        if first is None or second is None:
            return True
        return bool(conflicts(first, second))

    return cannot_link


def evidence_tree(
    root: int, edges: dict[int, list[tuple[int, str]]]
) -> dict[int, tuple[int | None, str | None]]:
    """Each member -> (the member it was matched to, the evidence), walking breadth first
    from the representative in record-id order, so the result is deterministic."""
    tree: dict[int, tuple[int | None, str | None]] = {root: (None, None)}
    frontier = [root]
    while frontier:
        following = []
        for node in frontier:
            for other, evidence in sorted(edges.get(node, ())):
                if other not in tree:
                    tree[other] = (node, evidence)
                    following.append(other)
        frontier = following
    return tree


class WorkRow(NamedTuple):
    """A works row, without its title (it comes from the representative record)."""

    id: int
    representative_id: int
    year: int | None
    members: int
    signature: str
    updated_at: str

    def built_alike(self, other: WorkRow) -> bool:
        """True when the two rows differ at most in when they were built."""
        return self[:5] == other[:5]


# A work_members row (record_id, work_id, matched_record_id, evidence).
MemberRow = tuple[int, int, int | None, str | None]


def component_rows(
    components: Iterable[list[int]],
    features: dict[int, Features],
    edges: dict[int, list[tuple[int, str]]],
    now: str,
) -> tuple[list[WorkRow], list[MemberRow]]:
    """A work and its members for each component (its id its lowest record id)."""
    works: list[WorkRow] = []
    members: list[MemberRow] = []
    for component in components:
        chosen = representative(features[m] for m in component)
        work_id = component[0]
        signature = ",".join(str(m) for m in component)
        works.append(
            WorkRow(work_id, chosen.record_id, chosen.year, len(component), signature, now)
        )
        for member, (matched, evidence) in evidence_tree(chosen.record_id, edges).items():
            members.append((member, work_id, matched, evidence))
    return works, members


def insert_works(
    conn: sqlite3.Connection, works: Sequence[WorkRow], members: Sequence[MemberRow]
) -> None:
    """Insert works rows, titled from their representatives, and work_members rows."""
    conn.executemany(
        f"INSERT INTO {WORKS} (id, representative_id, year, members, signature, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        works,
    )
    conn.executemany(
        f"INSERT INTO {WORK_MEMBERS} (record_id, work_id, matched_record_id, evidence)"
        " VALUES (?, ?, ?, ?)",
        members,
    )
    execute_in(
        conn, f"UPDATE {WORKS} SET title = {WORK_TITLE} WHERE id IN ({IDS})", [w.id for w in works]
    )


def write_components(
    conn: sqlite3.Connection,
    components: Iterable[list[int]],
    features: dict[int, Features],
    edges: dict[int, list[tuple[int, str]]],
    now: str,
) -> int:
    """Insert a work and its members for each component; returns how many."""
    works, members = component_rows(components, features, edges, now)
    insert_works(conn, works, members)
    return len(works)
