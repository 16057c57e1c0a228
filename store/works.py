"""Works: records judged to be the same output, kept in step with the records.

refresh() runs after every write command (import, harvest, withdraw, overrides). It
re-derives the records written since the last refresh (authors, features, keys, search row),
recomputes the matches of every candidate group they were or are in, re-clusters the works
those matches touch, and re-renders the records whose published same-work links changed.
A full recompute does the same for every record; both give the same works (tested).

Candidate groups are defined pair by pair (see store.matching), and a group's matches are
always recomputed from the whole group, so an incremental refresh reaches exactly the
result of a full one.
"""

from __future__ import annotations

import itertools
import json
import logging
import multiprocessing
import sqlite3
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from store import author_table
from store.batches import chunks, placeholders
from store.clusters import WORK_TITLE, cluster, signatures, work_ids, write_components
from store.derive import (
    DerivedRows,
    Overrides,
    SourceRow,
    delete_derived,
    derive_batch,
    load_overrides,
    stored_features,
    write_rows,
)
from store.linking import relink
from store.matching import Features, candidate_keys, compare, group_pairs, key_hash
from store.meta import read_meta, write_meta
from store.schema import BULK_INDEXES
from store.tables import (
    MATCH_FEATURES,
    MATCH_KEYS,
    RECORD_AUTHORS,
    RECORDS,
    RECORDS_FTS,
    WORK_MATCHES,
    WORK_MEMBERS,
    WORKS,
)
from store.writes import current_change_seq

logger = logging.getLogger(__name__)

WORKS_SEQ = "works_seq"
# Past this share of the live records changed, a full recompute is the faster way; up to
# SMALL_CHANGE records are always refreshed incrementally.
FULL_SHARE = 0.25
SMALL_CHANGE = 1000
_BATCH = 2000
# From this many live records a full recompute derives them in two worker processes (the
# machine's two cores: deriving is ~70% of a recompute's CPU, SQLite most of the rest).
PARALLEL_FROM = 20_000
# Candidate groups as rows of (group key, the member's match_features columns).
_GROUP_ROWS = (
    f"SELECT k.group_key, f.* FROM {MATCH_KEYS} k"
    f" JOIN {MATCH_FEATURES} f ON f.record_id = k.record_id"
)


@dataclass
class WorksReport:
    """What one refresh did."""

    records: int = 0
    groups: int = 0
    matches: int = 0
    works: int = 0
    relinked: int = 0
    full: bool = False


def _source_rows(conn: sqlite3.Connection, record_ids: Sequence[int]) -> list[SourceRow]:
    """These records, when live, as derive_batch reads them (search rows wanted)."""
    found: list[SourceRow] = []
    for chunk in chunks(record_ids):
        found.extend(
            (int(i), str(s), str(x), m, True)
            for i, s, x, m in conn.execute(
                f"SELECT id, source, identifier, metadata FROM {RECORDS}"
                f" WHERE id IN ({placeholders(chunk)}) AND deleted = 0",
                chunk,
            )
        )
    return found


class _Comparisons:
    """compare() with a bounded memory of recent pairs: a pair sharing a creator shares
    several candidate keys (first words, last words, initials), so it comes up in several
    groups in a row."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self.seen: OrderedDict[tuple[int, int], str | None] = OrderedDict()

    def evidence(self, a: Features, b: Features) -> str | None:
        key = (a.record_id, b.record_id)
        if key in self.seen:
            self.seen.move_to_end(key)
            return self.seen[key]
        found = compare(a, b)
        text = None if found is None else json.dumps(found)
        self.seen[key] = text
        if len(self.seen) > self.size:
            self.seen.popitem(last=False)
        return text


@dataclass
class _Previous:
    """The group state before an incremental refresh: the changed records' old features and
    keys, and the matches deleted from the groups being recomputed. A pair of unchanged
    records that the group compared before has the same result now, so a group of 16,000
    records touched by one change compares only the pairs that change touches."""

    changed: set[int]
    # group key -> the changed records' old features that were in it
    by_group: dict[int, list[Features]]
    known: dict[tuple[int, int, int], str] = field(default_factory=dict)

    def reusable(self, group_key: int, members: Sequence[Features]) -> set[tuple[int, int]]:
        """Pairs of unchanged records the group compared before the change."""
        old = [m for m in members if m.record_id not in self.changed]
        if len(old) < 2:
            return set()
        old += self.by_group.get(group_key, [])
        return {
            (a.record_id, b.record_id)
            for a, b in group_pairs(old)
            if a.record_id not in self.changed and b.record_id not in self.changed
        }


def _matches(
    group_key: int,
    members: Sequence[Features],
    comparisons: _Comparisons,
    previous: _Previous | None,
) -> list[tuple[int, int, int, str]]:
    reusable = previous.reusable(group_key, members) if previous is not None else set()
    known = previous.known if previous is not None else {}
    found = []
    for a, b in group_pairs(members):
        pair = (a.record_id, b.record_id)
        reuse = pair in reusable
        evidence = known.get((group_key, *pair)) if reuse else comparisons.evidence(a, b)
        if evidence is not None:
            found.append((group_key, a.record_id, b.record_id, evidence))
    return found


def _insert_matches(conn: sqlite3.Connection, rows: Sequence[tuple[int, int, int, str]]) -> None:
    conn.executemany(
        f"INSERT OR IGNORE INTO {WORK_MATCHES} (group_key, record_a, record_b, evidence)"
        " VALUES (?, ?, ?, ?)",
        rows,
    )


# Matched pairs with their evidence; grouped by pair, as a pair found under several
# candidate keys is one match.
_PAIRS = f"SELECT record_a, record_b, min(evidence) FROM {WORK_MATCHES}"


def _closure(conn: sqlite3.Connection, seeds: set[int]) -> tuple[set[int], set[int]]:
    """The records connected to the seeds by matches or by their old works, and those old
    works: everything that must be re-clustered."""
    nodes: set[int] = set()
    old_works: set[int] = set()
    pending = set(seeds)
    while pending:
        batch = sorted(pending - nodes)
        pending = set()
        nodes.update(batch)
        for chunk in chunks(batch):
            marks = placeholders(chunk)
            for (work_id,) in conn.execute(
                f"SELECT DISTINCT work_id FROM {WORK_MEMBERS} WHERE record_id IN ({marks})", chunk
            ):
                if work_id not in old_works:
                    old_works.add(int(work_id))
                    pending.update(
                        int(r)
                        for (r,) in conn.execute(
                            f"SELECT record_id FROM {WORK_MEMBERS} WHERE work_id = ?", [work_id]
                        )
                    )
            for a, b in conn.execute(
                f"SELECT record_a, record_b FROM {WORK_MATCHES} WHERE record_a IN ({marks})"
                f" UNION SELECT record_a, record_b FROM {WORK_MATCHES}"
                f" WHERE record_b IN ({marks})",
                chunk + chunk,
            ):
                pending.update((int(a), int(b)))
        pending -= nodes
    return nodes, old_works


@dataclass
class _Region:
    """The records a refresh re-clustered, with their works before and after."""

    old_work: dict[int, int] = field(default_factory=dict)
    new_work: dict[int, int] = field(default_factory=dict)


def _recluster(
    conn: sqlite3.Connection,
    seeds: set[int],
    written: set[int],
    now: str,
    report: WorksReport,
    region: _Region,
) -> list[int]:
    """Rebuild the works around the seeds; returns the records to relink: those whose work
    changed, and those written since the last refresh (their writes rendered them without
    links) that are in a work of two or more."""
    nodes, old_works = _closure(conn, seeds)
    before = signatures(conn, nodes)
    region.old_work = work_ids(conn, nodes)
    for chunk in chunks(sorted(old_works)):
        conn.execute(f"DELETE FROM {WORKS} WHERE id IN ({placeholders(chunk)})", chunk)
    node_list = sorted(nodes)
    for chunk in chunks(node_list):
        conn.execute(
            f"DELETE FROM {WORK_MEMBERS} WHERE record_id IN ({placeholders(chunk)})", chunk
        )
    features = {f.record_id: f for f in stored_features(conn, node_list)}
    pairs = (
        pair
        for chunk in chunks(sorted(features))
        for pair in conn.execute(
            f"{_PAIRS} WHERE record_a IN ({placeholders(chunk)}) GROUP BY record_a, record_b",
            chunk,
        )
    )
    clusters, edges = cluster(pairs, features)
    report.works += write_components(conn, clusters.components(), features, edges, now)
    after = signatures(conn, nodes)
    region.new_work = work_ids(conn, nodes)
    return sorted(
        r for r in nodes if before.get(r) != after.get(r) or (r in written and r in after)
    )


def _incremental(
    conn: sqlite3.Connection, changed: list[int], written: set[int], now: str, report: WorksReport
) -> list[int]:
    overrides = load_overrides(conn)
    old_rows = author_table.creator_rows(conn, changed)
    old_features = delete_derived(conn, changed, search=True)
    by_group: dict[int, list[Features]] = defaultdict(list)
    for feature in old_features:
        for group_key in {key_hash(k) for k in candidate_keys(feature)}:
            by_group[group_key].append(feature)
    previous = _Previous(set(changed), by_group)
    derived = derive_batch(_source_rows(conn, changed), overrides)
    write_rows(conn, derived)
    report.records = len(changed)
    groups = set(by_group) | {key for key, _ in derived.keys}
    seeds = set(changed)
    for chunk in chunks(sorted(groups)):
        marks = placeholders(chunk)
        for group_key, a, b, evidence in conn.execute(
            f"DELETE FROM {WORK_MATCHES} WHERE group_key IN ({marks})"
            " RETURNING group_key, record_a, record_b, evidence",
            chunk,
        ).fetchall():
            seeds.update((int(a), int(b)))
            previous.known[(int(group_key), int(a), int(b))] = str(evidence)
        rows = conn.execute(
            f"{_GROUP_ROWS} WHERE k.group_key IN ({marks}) ORDER BY k.group_key", chunk
        )
        found = list(_grouped_matches(rows, report, previous))
        _insert_matches(conn, found)
        seeds.update(x for row in found for x in row[1:3])
    region = _Region()
    relinks = _recluster(conn, seeds, written, now, report, region)
    new_rows = [(r, key, name) for r, role, _, name, key in derived.authors if role == "creator"]
    author_table.apply_changes(conn, _author_changes(conn, old_rows, new_rows, region))
    return relinks


def _author_changes(
    conn: sqlite3.Connection,
    old_rows: list[tuple[int, str, str]],
    new_rows: list[tuple[int, str, str]],
    region: _Region,
) -> author_table.AuthorChanges:
    """How the changed records' creators and the re-clustered works change each key's
    counts. Works outside the region are untouched, so a key's work count moves by the
    (key, work) pairs the region had before and has after."""
    changes = author_table.AuthorChanges()
    old_pairs = {(r, k) for r, k, _ in old_rows}
    new_pairs = {(r, k) for r, k, _ in new_rows}
    changes.records.update(k for _, k in new_pairs - old_pairs)
    changes.records.subtract(k for _, k in old_pairs - new_pairs)
    old_forms = Counter((k, n) for _, k, n in old_rows)
    new_forms = Counter((k, n) for _, k, n in new_rows)
    changes.forms = {k for k, _ in (old_forms - new_forms) + (new_forms - old_forms)}
    changed = {r for r, _, _ in old_rows} | {r for r, _, _ in new_rows}
    others = [r for r in set(region.old_work) | set(region.new_work) if r not in changed]
    other_pairs = {(r, k) for r, k, _ in author_table.creator_rows(conn, others)}
    before = {(k, region.old_work[r]) for r, k in old_pairs | other_pairs if r in region.old_work}
    after = {(k, region.new_work[r]) for r, k in new_pairs | other_pairs if r in region.new_work}
    changes.works.update(k for k, _ in after - before)
    changes.works.subtract(k for k, _ in before - after)
    return changes


def _all_group_matches(conn: sqlite3.Connection, report: WorksReport) -> None:
    """Stream every candidate group of two or more members, in key order, and keep its
    matches: memory holds one group at a time."""
    cursor = conn.execute(
        f"{_GROUP_ROWS} WHERE k.group_key IN (SELECT group_key FROM {MATCH_KEYS}"
        " GROUP BY group_key HAVING count(*) > 1) ORDER BY k.group_key"
    )
    batch: list[tuple[int, int, int, str]] = []
    for match in _grouped_matches(cursor, report):
        batch.append(match)
        if len(batch) >= 10_000:
            _insert_matches(conn, batch)
            batch = []
    _insert_matches(conn, batch)


def _grouped_matches(
    rows: Iterable[Sequence[Any]], report: WorksReport, previous: _Previous | None = None
) -> Iterator[tuple[int, int, int, str]]:
    """The matches of candidate groups read as (group key, feature columns...) rows ordered
    by group key, one group in memory at a time."""
    comparisons = _Comparisons()
    current: int | None = None
    members: list[Features] = []
    for row in itertools.chain(rows, [(None,)]):
        if row[0] != current:
            if current is not None and len(members) > 1:
                report.groups += 1
                found = _matches(current, members, comparisons, previous)
                report.matches += len(found)
                yield from found
            current, members = row[0], []
        if row[0] is not None:
            members.append(Features.from_row(row[1:]))


def _live_batches(conn: sqlite3.Connection, changed: set[int]) -> Iterator[list[SourceRow]]:
    """Every live record in id order, a batch at a time."""
    last = 0
    while True:
        rows = conn.execute(
            f"SELECT id, source, identifier, metadata FROM {RECORDS}"
            " WHERE id > ? AND deleted = 0 ORDER BY id LIMIT ?",
            [last, _BATCH],
        ).fetchall()
        if not rows:
            return
        last = int(rows[-1][0])
        yield [(int(i), str(s), str(x), m, int(i) in changed) for i, s, x, m in rows]


def _derived_batches(
    batches: Iterator[list[SourceRow]], overrides: Overrides, processes: int
) -> Iterator[DerivedRows]:
    """Each batch derived, in order: in this process, or spread over `processes` worker
    processes (a few batches in flight, so memory stays bounded) while this one writes."""
    if processes <= 1:
        for batch in batches:
            yield derive_batch(batch, overrides)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        pending: deque[Future[DerivedRows]] = deque()
        for batch in batches:
            pending.append(pool.submit(derive_batch, batch, overrides))
            if len(pending) >= 2 * processes:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _full(
    conn: sqlite3.Connection,
    changed: set[int],
    written: set[int],
    now: str,
    report: WorksReport,
    processes: int,
) -> list[int]:
    report.full = True
    overrides = load_overrides(conn)
    conn.execute("DROP TABLE IF EXISTS temp.old_links")
    conn.execute(
        f"CREATE TEMP TABLE old_links AS SELECT m.record_id, w.signature FROM {WORK_MEMBERS} m"
        f" JOIN {WORKS} w ON w.id = m.work_id WHERE w.members > 1"
    )
    for table in (RECORD_AUTHORS, MATCH_FEATURES, MATCH_KEYS, WORK_MATCHES, WORKS, WORK_MEMBERS):
        conn.execute(f"DELETE FROM {table}")
    for name in BULK_INDEXES:
        conn.execute(f"DROP INDEX {name}")
    for chunk in chunks(sorted(changed)):
        conn.execute(f"DELETE FROM {RECORDS_FTS} WHERE rowid IN ({placeholders(chunk)})", chunk)
    for rows in _derived_batches(_live_batches(conn, changed), overrides, processes):
        write_rows(conn, rows)
        report.records += rows.records
    for statement in BULK_INDEXES.values():
        conn.execute(statement)
    _all_group_matches(conn, report)
    clusters, edges = cluster(conn.execute(f"{_PAIRS} GROUP BY record_a, record_b"))
    joined = sorted(clusters.parent)
    features = {f.record_id: f for f in stored_features(conn, joined)}
    report.works += write_components(conn, clusters.components(), features, edges, now)
    # Every other live record is a work of its own.
    conn.execute(
        f"INSERT INTO {WORKS} (id, representative_id, year, members, signature, updated_at)"
        f" SELECT record_id, record_id, year, 1, record_id, ? FROM {MATCH_FEATURES}"
        f" WHERE record_id NOT IN (SELECT record_id FROM {WORK_MEMBERS})",
        [now],
    )
    conn.execute(
        f"INSERT INTO {WORK_MEMBERS} (record_id, work_id) SELECT id, id FROM {WORKS}"
        f" WHERE members = 1"
    )
    conn.execute(f"UPDATE {WORKS} SET title = {WORK_TITLE} WHERE members = 1")
    report.works = int(conn.execute(f"SELECT count(*) FROM {WORKS}").fetchone()[0])
    moved = conn.execute(
        f"SELECT n.record_id FROM {WORK_MEMBERS} n JOIN {WORKS} w ON w.id = n.work_id"
        " LEFT JOIN temp.old_links o ON o.record_id = n.record_id"
        " WHERE w.members > 1 AND (o.signature IS NULL OR o.signature != w.signature)"
        " UNION SELECT o.record_id FROM temp.old_links o"
        f" JOIN {WORK_MEMBERS} n ON n.record_id = o.record_id"
        f" JOIN {WORKS} w ON w.id = n.work_id WHERE w.members = 1"
    ).fetchall()
    relinks = {int(r[0]) for r in moved}
    relinks |= {r for r in written if r in clusters.parent}
    conn.execute("DROP TABLE temp.old_links")
    author_table.rebuild_authors(conn)
    return sorted(relinks)


def changed_records(conn: sqlite3.Connection, since: int) -> list[int]:
    """Ids of the records written after write number `since`."""
    rows = conn.execute(f"SELECT id FROM {RECORDS} WHERE change_seq > ?", [since]).fetchall()
    return sorted(int(r[0]) for r in rows)


def refresh(
    conn: sqlite3.Connection,
    *,
    repository_identifier: str,
    now: str,
    full: bool = False,
    records: Sequence[int] = (),
    processes: int | None = None,
    clock: Callable[[], str] | None = None,
) -> WorksReport:
    """Bring authors, works, search rows and same-work links up to date with the records,
    inside the caller's write transaction. `full` recomputes every work; `records` are
    re-derived even if unchanged (their author overrides changed). A full recompute derives
    records in `processes` worker processes (default: 2 from PARALLEL_FROM live records).
    Relinked records are stamped with `clock()` read at the end (default `now`)."""
    done = int(read_meta(conn, WORKS_SEQ) or 0)
    report = WorksReport()
    if not full and not records and done >= current_change_seq(conn):
        return report
    written = set(changed_records(conn, done))
    changed = sorted(written | set(records))
    # Counting the live records scans the table: only worth it when the change is large.
    live = None
    if full or len(changed) > SMALL_CHANGE:
        live = int(conn.execute(f"SELECT count(*) FROM {RECORDS} WHERE deleted = 0").fetchone()[0])
    if live is not None and (full or len(changed) > FULL_SHARE * live):
        if processes is None:
            processes = 2 if live >= PARALLEL_FROM else 1
        relinks = _full(conn, set(changed), written, now, report, processes)
    else:
        relinks = _incremental(conn, changed, written, now, report)
    # Stamped when the work is done: a harvester reading meanwhile sees the old snapshot, so
    # an earlier stamp could fall before its next `from` and the change would never reach it.
    stamp = clock() if clock is not None else now
    report.relinked = relink(conn, relinks, repository_identifier=repository_identifier, now=stamp)
    write_meta(conn, WORKS_SEQ, str(current_change_seq(conn)))
    logger.info(
        "works: %d records re-derived, %d groups, %d matches, %d works written, %d relinked%s",
        report.records,
        report.groups,
        report.matches,
        report.works,
        report.relinked,
        " (full recompute)" if report.full else "",
    )
    return report
