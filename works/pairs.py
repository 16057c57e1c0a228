"""Candidate groups compared pair by pair: the matches a refresh writes.

A pair found under several candidate keys is compared once (a bounded memory of recent
pairs); an incremental refresh reuses the results of pairs its changes did not touch.
"""

from __future__ import annotations

import functools
import itertools
import json
import sqlite3
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from store.db import parallel_sorting
from store.tables import MATCH_FEATURES, MATCH_KEYS, WORK_MATCHES
from works.features import Features
from works.report import WorksReport
from works.rules import compare, group_pairs, title_order
from works.workers import in_order

# Pairs judged the same work, with their evidence (callers add "AND ..." and "GROUP BY
# record_a, record_b": a pair found under several candidate keys is one match).
PAIRS = f"SELECT record_a, record_b, min(evidence) FROM {WORK_MATCHES} WHERE decision = 'same'"
# One compared pair as work_matches stores it: (group key, record a, record b, decision,
# evidence JSON).
MatchRow = tuple[int, int, int, str, str]
# A pair's decision and evidence JSON, or None when the pair is no match at all.
Judged = tuple[str, str] | None


class Comparisons:
    """compare() with a bounded memory of recent pairs: a pair sharing a creator shares
    several candidate keys (first words, last words, initials), so it comes up in several
    groups in a row."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self.seen: OrderedDict[tuple[int, int], Judged] = OrderedDict()

    def judge(self, a: Features, b: Features) -> Judged:
        """The pair's (decision, evidence JSON), or None."""
        key = (a.record_id, b.record_id)
        if key in self.seen:
            self.seen.move_to_end(key)
            return self.seen[key]
        found = compare(a, b)
        judged = None if found is None else (found.decision, json.dumps(found.evidence))
        self.seen[key] = judged
        if len(self.seen) > self.size:
            self.seen.popitem(last=False)
        return judged


@dataclass
class Previous:
    """The group state before an incremental refresh: the changed records' old features and
    keys, and the matches deleted from the groups being recomputed. A pair of unchanged
    records that the group compared before has the same result now, so a group of 16,000
    records touched by one change compares only the pairs that change touches."""

    changed: set[int]
    # group key -> the changed records' old features that were in it
    by_group: dict[int, list[Features]]
    known: dict[tuple[int, int, int], tuple[str, str]] = field(default_factory=dict)

    def old_positions(
        self, group_key: int, members: Sequence[Features]
    ) -> tuple[dict[int, int], int]:
        """Where the group paired its unchanged records before the change: their positions
        in its old title order and its old reach (see rules.title_order); none when fewer
        than two are left. Positions, not the set of old pairs: at 1M a 1% change touches
        groups holding two million pairs."""
        old = [m for m in members if m.record_id not in self.changed]
        if len(old) < 2:
            return {}, 0
        ordered, reach = title_order(old + self.by_group.get(group_key, []))
        changed = self.changed
        positions = {f.record_id: i for i, f in enumerate(ordered) if f.record_id not in changed}
        return positions, reach


def _matches(
    group_key: int,
    members: Sequence[Features],
    comparisons: Comparisons,
    previous: Previous | None,
) -> list[MatchRow]:
    positions, reach = ({}, 0) if previous is None else previous.old_positions(group_key, members)
    known = previous.known if previous is not None else {}
    found = []
    for a, b in group_pairs(members):
        before_a = positions.get(a.record_id)
        before_b = positions.get(b.record_id)
        # A pair of unchanged records the group compared before has the same result now.
        if before_a is not None and before_b is not None and abs(before_a - before_b) < reach:
            judged = known.get((group_key, a.record_id, b.record_id))
        else:
            judged = comparisons.judge(a, b)
        if judged is not None:
            found.append((group_key, a.record_id, b.record_id, *judged))
    return found


def insert_matches(conn: sqlite3.Connection, rows: Sequence[MatchRow]) -> None:
    """Store compared pairs (same-work matches and pairs for review)."""
    conn.executemany(
        f"INSERT OR IGNORE INTO {WORK_MATCHES}"
        " (group_key, record_a, record_b, decision, evidence) VALUES (?, ?, ?, ?, ?)",
        rows,
    )


def replace_matches(
    conn: sqlite3.Connection, old: Iterable[Sequence[Any]], new: Iterable[MatchRow]
) -> None:
    """Replace the stored pairs `old` of some groups by `new` (their pairs recomputed),
    writing only those that differ: most pairs of a recomputed group are unchanged, and
    the table has four indexes."""
    before = {tuple(row) for row in old}
    after = set(new)
    conn.executemany(
        f"DELETE FROM {WORK_MATCHES} WHERE group_key = ? AND record_a = ? AND record_b = ?",
        sorted(row[:3] for row in before - after),
    )
    insert_matches(conn, sorted(after - before))


def grouped_matches(
    rows: Iterable[Sequence[Any]],
    report: WorksReport,
    previous: Previous | None = None,
    comparisons: Comparisons | None = None,
) -> Iterator[MatchRow]:
    """The matches of candidate groups read as (group key, feature columns...) rows ordered
    by group key, one group in memory at a time."""
    members = ((row[0], Features.from_row(row[1:])) for row in rows)
    return group_member_matches(members, report, previous, comparisons)


def group_member_matches(
    members: Iterable[tuple[int, Features]],
    report: WorksReport,
    previous: Previous | None = None,
    comparisons: Comparisons | None = None,
) -> Iterator[MatchRow]:
    """The matches of candidate groups given as (group key, member) ordered by group key,
    one group in memory at a time."""
    if comparisons is None:
        comparisons = Comparisons()
    current: int | None = None
    group: list[Features] = []
    for key, member in itertools.chain(members, [(None, None)]):
        if key != current:
            if current is not None and len(group) > 1:
                report.groups += 1
                found = _matches(current, group, comparisons, previous)
                report.matches += len(found)
                yield from found
            current, group = key, []
        if member is not None:
            group.append(member)


def all_group_matches(
    conn: sqlite3.Connection,
    report: WorksReport,
    pool: Executor | None = None,
    in_flight: int = 4,
) -> None:
    """Stream every candidate group of two or more members, in key order, and keep its
    matches: memory holds one group at a time (`in_flight` batches of groups when `pool`'s
    worker processes compare them)."""
    rows = _group_rows(conn)
    matches = (
        grouped_matches(rows, report) if pool is None else _pooled(rows, report, pool, in_flight)
    )
    batch: list[MatchRow] = []
    for match in matches:
        batch.append(match)
        if len(batch) >= 10_000:
            insert_matches(conn, batch)
            batch = []
    insert_matches(conn, batch)


def _group_rows(conn: sqlite3.Connection) -> Iterator[Sequence[Any]]:
    """Every member of every group of two or more, as (group key, feature columns...) in
    key order. The members are listed in record order first, so that their features are
    read in the table's order, and the rows then sorted by key: looking each member's
    features up in key order read them at random (1M records: 10.0 s, now 6.9 s)."""
    conn.execute("DROP TABLE IF EXISTS temp.group_members")
    with parallel_sorting(conn):
        conn.execute(
            f"CREATE TEMP TABLE group_members AS SELECT group_key, record_id FROM {MATCH_KEYS}"
            f" WHERE group_key IN (SELECT group_key FROM {MATCH_KEYS} GROUP BY group_key"
            " HAVING count(*) > 1) ORDER BY record_id"
        )
        cursor = conn.execute(
            f"SELECT g.group_key, f.* FROM temp.group_members g CROSS JOIN {MATCH_FEATURES} f"
            " ON f.record_id = g.record_id ORDER BY g.group_key"
        )
        first = cursor.fetchone()  # the sort is done here, within the small cache
    try:
        if first is not None:
            yield first
            yield from cursor
    finally:
        cursor.close()  # SQLite drops no table a statement is still reading
        conn.execute("DROP TABLE IF EXISTS temp.group_members")


# Group rows a worker compares at a time (whole groups: a batch ends between two groups).
# The main process holds the batches in flight: all_group_matches' peak RSS (the main
# process's) and time with 2,000 / 5,000 / 20,000 rows, 100k records: 74 / 89 / 155 MiB,
# 1.77 / 1.71 / 1.77 s; 1M: 112 / 125 / 194 MiB, 27.2 / 23.5 / 23.2 s.
_BATCH_ROWS = 5_000


def _group_batches(rows: Iterable[Sequence[Any]]) -> Iterator[list[Sequence[Any]]]:
    """The rows of groups in key order, cut between groups into batches of about
    _BATCH_ROWS rows."""
    batch: list[Sequence[Any]] = []
    current = None
    for row in rows:
        if row[0] != current and len(batch) >= _BATCH_ROWS:
            yield batch
            batch = []
        current = row[0]
        batch.append(row)
    if batch:
        yield batch


def batch_matches(rows: list[Sequence[Any]]) -> tuple[list[MatchRow], int]:
    """The matches of a batch of whole groups and how many groups of two or more it held
    (runs in a worker process of a full recompute)."""
    report = WorksReport()
    return list(grouped_matches(rows, report, comparisons=_worker_comparisons())), report.groups


@functools.cache
def _worker_comparisons() -> Comparisons:
    """One memory of recent pairs for every batch a worker process compares (up to 100,000
    pairs a worker). It holds judgements by record id: right only because a pool lives for
    one recompute (works.workers.worker_pool), whose features do not change under it."""
    return Comparisons()


def _pooled(
    rows: Iterable[Sequence[Any]], report: WorksReport, pool: Executor, in_flight: int
) -> Iterator[MatchRow]:
    """The matches of the groups, in order, compared by `pool`'s worker processes while
    this one reads the next groups and writes the matches found."""
    for found, groups in in_order(pool, batch_matches, _group_batches(rows), in_flight):
        report.groups += groups
        report.matches += len(found)
        yield from found
