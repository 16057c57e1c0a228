"""The full recompute: every live record re-derived, or those a harvest did not derive
ahead (in two worker processes on large stores), every candidate group compared, every work
rebuilt, the authors table rebuilt."""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Iterator
from concurrent.futures import Executor

from store.batches import IDS, execute_in
from store.db import parallel_sorting
from store.schema import BULK_INDEXES
from store.tables import (
    MATCH_FEATURES,
    MATCH_KEY_CHANGES,
    MATCH_KEYS,
    RECORD_AUTHORS,
    RECORDS,
    RECORDS_FTS,
    WORK_MATCHES,
    WORK_MEMBERS,
    WORKS,
    first_title,
)
from works import author_table
from works.clusters import cluster, conflict_links, record_names, write_components
from works.derive import (
    DerivedRows,
    Overrides,
    SourceRow,
    delete_derived,
    derive_batch,
    live_rows,
    load_overrides,
    stored_features,
    write_rows,
)
from works.key_table import fold, staged_keys
from works.pair_overrides import load_decisions
from works.pairs import PAIRS, all_group_matches
from works.report import WorksReport
from works.workers import in_order, worker_pool

_BATCH = 2000
# Records derived again from which their rows go into tables without their bulk indexes
# (past some ten thousand rows of keys, building the indexes after is the cheaper way).
BULK_FROM = 5000


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
    batches: Iterator[list[SourceRow]], overrides: Overrides, pool: Executor | None, in_flight: int
) -> Iterator[DerivedRows]:
    """Each batch derived, in order: in this process, or spread over the pool's worker
    processes while this one writes."""
    derive = functools.partial(derive_batch, overrides=overrides)
    return map(derive, batches) if pool is None else in_order(pool, derive, batches, in_flight)


def _batches_of(conn: sqlite3.Connection, record_ids: list[int]) -> Iterator[list[SourceRow]]:
    """These records, when live, a batch at a time (search rows wanted)."""
    for start in range(0, len(record_ids), _BATCH):
        yield live_rows(conn, record_ids[start : start + _BATCH])


def _derive_every_record(
    conn: sqlite3.Connection,
    changed: set[int],
    overrides: Overrides,
    report: WorksReport,
    pool: Executor | None,
    in_flight: int,
) -> None:
    """Every live record derived again (the search rows of the changed ones only), into
    emptied tables whose bulk indexes are built after the inserts."""
    for table in (RECORD_AUTHORS, MATCH_FEATURES, MATCH_KEYS, MATCH_KEY_CHANGES):
        conn.execute(f"DELETE FROM {table}")
    execute_in(conn, f"DELETE FROM {RECORDS_FTS} WHERE rowid IN ({IDS})", sorted(changed))
    with _bulk_indexes_after(conn) as keys:
        batches = _live_batches(conn, changed)
        for rows in _derived_batches(batches, overrides, pool, in_flight):
            write_rows(conn, rows, keys)
            report.records += rows.records


@contextlib.contextmanager
def _bulk_indexes_after(conn: sqlite3.Connection, bulk: bool = True) -> Iterator[str]:
    """Inserts into the derived tables without their bulk indexes, built once after (when
    `bulk`): random inserts into the hash-keyed indexes cost more than building them. Yields
    the table to write the keys to (staged, then moved into match_keys in key order)."""
    if bulk:
        for name in BULK_INDEXES:
            conn.execute(f"DROP INDEX {name}")
    with staged_keys(conn, bulk) as keys:
        yield keys
    if bulk:
        with parallel_sorting(conn):
            for statement in BULK_INDEXES.values():
                conn.execute(statement)


def recompute_all(
    conn: sqlite3.Connection,
    changed: set[int],
    written: set[int],
    now: str,
    report: WorksReport,
    processes: int,
    derive: list[int] | None = None,
) -> list[int]:
    """Rebuild every match, work and authors row; derive every live record again, or only
    the records `derive` names (the others' derived rows are current: unchanged, or derived
    ahead by a harvest's pages)."""
    report.full = True
    overrides = load_overrides(conn)
    conn.execute("DROP TABLE IF EXISTS temp.old_links")
    conn.execute(
        f"CREATE TEMP TABLE old_links AS SELECT m.record_id, w.signature FROM {WORK_MEMBERS} m"
        f" JOIN {WORKS} w ON w.id = m.work_id WHERE w.members > 1"
    )
    for table in (WORK_MATCHES, WORKS, WORK_MEMBERS):
        conn.execute(f"DELETE FROM {table}")
    in_flight = 2 * processes  # batches being derived at most: each worker has the next
    with worker_pool(processes) as pool:
        if derive is None:
            _derive_every_record(conn, changed, overrides, report, pool, in_flight)
        else:
            fold(conn)  # the groups are read from match_keys alone below
            delete_derived(conn, derive, search=True)
            with _bulk_indexes_after(conn, len(derive) >= BULK_FROM) as keys:
                batches = _batches_of(conn, derive)
                for rows in _derived_batches(batches, overrides, pool, in_flight):
                    write_rows(conn, rows, keys)
            report.records = len(changed)
        author_table.count_forms(conn)
        # The authors' display names are parsed by the workers while this process compares
        # the candidate groups (both need only the derived rows).
        names = None if pool is None else author_table.start_display_names(conn, pool.submit)
        all_group_matches(conn, report, pool, in_flight)
        author_names = None if names is None else names()
    decisions = load_decisions(conn)
    pairs = conn.execute(f"{PAIRS} GROUP BY record_a, record_b").fetchall() + decisions.same
    joined = sorted({int(x) for pair in pairs for x in pair[:2]})
    features = {f.record_id: f for f in stored_features(conn, joined)}
    links = conflict_links(features, decisions.different, decisions.same_pairs)
    clusters, edges = cluster(pairs, cannot_link=links, names=record_names(conn, joined))
    # Records a refused merge left alone are written below, with every unmatched record.
    joined_works = [c for c in clusters.components() if len(c) > 1]
    report.works += write_components(conn, joined_works, features, edges, now)
    # Every other live record is a work of its own.
    # With its title: setting the titles after rewrote every row (1M: 8.3 s, now 5.4 s).
    conn.execute(
        f"INSERT INTO {WORKS} (id, representative_id, year, members, signature, updated_at,"
        f" title) SELECT f.record_id, f.record_id, f.year, 1, f.record_id, ?, {first_title('r')}"
        f" FROM {MATCH_FEATURES} f JOIN {RECORDS} r ON r.id = f.record_id"
        f" WHERE f.record_id NOT IN (SELECT record_id FROM {WORK_MEMBERS})",
        [now],
    )
    conn.execute(
        f"INSERT INTO {WORK_MEMBERS} (record_id, work_id) SELECT id, id FROM {WORKS}"
        f" WHERE members = 1"
    )
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
    relinks |= {r for c in joined_works for r in c if r in written}
    conn.execute("DROP TABLE temp.old_links")
    author_table.rebuild_authors(conn, author_names)
    return sorted(relinks)
