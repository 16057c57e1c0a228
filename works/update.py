"""refresh(): works kept in step with the records; the one entry point write commands call.

refresh() runs after every write command (import, harvest, withdraw, overrides). It
re-derives the records written since the last refresh (authors, features, keys, search row;
not those a harvest derived ahead from their last write, see works.ahead),
recomputes the matches of every candidate group they were or are in, re-clusters the works
those matches touch, and re-renders the records whose published same-work links changed.
A full recompute does the same for every record; both give the same works (tested).

Candidate groups are defined pair by pair (see works.rules), and a group's matches are
always recomputed from the whole group, so an incremental refresh reaches exactly the
result of a full one.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence

from oaiformat.datestamps import Clock, format_utc, utc_now
from store.db import Store, page_cache
from store.meta import read_meta, write_meta
from store.tables import RECORDS
from store.writes import current_change_seq
from works.ahead import current_ahead, forget_ahead, load_ahead
from works.full import recompute_all
from works.incremental import refresh_changed
from works.linking import relink
from works.report import WorksReport
from works.search import upgrade_index

logger = logging.getLogger(__name__)

WORKS_SEQ = "works_seq"
# Past this share of the live records changed, a full recompute is the faster way; up to
# SMALL_CHANGE records are always refreshed incrementally.
FULL_SHARE = 0.25
SMALL_CHANGE = 1000
# From this many records to derive (every live one, or the stale ones) a full recompute
# derives them in two worker processes (the machine's two cores: deriving is ~70% of a
# recompute's CPU, SQLite most of the rest). A full recompute of 10k records: 1.47-1.51 s
# in one process, 1.29-1.38 s with two (their start included).
PARALLEL_FROM = 10_000
# The page cache of an incremental refresh (a writer's own is 32 MB): 970 changes at 100k,
# refresh and commit, 0.98-1.03 s with 32 MB, 0.95-0.97 s with 128 MB (5 runs each).
INCREMENTAL_CACHE_KIB = 128_000


def _finish(
    conn: sqlite3.Connection,
    relinks: list[int],
    report: WorksReport,
    now: str,
    clock: Clock | None,
) -> None:
    """What every refresh ends with: the records whose links changed re-rendered, the works
    marked up to date with the records."""
    forget_ahead(conn)
    # Stamped when the work is done: a harvester reading meanwhile sees the old snapshot, so
    # an earlier stamp could fall before its next `from` and the change would never reach it.
    stamp = format_utc(clock()) if clock is not None else now
    report.relinked = relink(conn, relinks, now=stamp)
    write_meta(conn, WORKS_SEQ, str(current_change_seq(conn)))


def changed_records(conn: sqlite3.Connection, since: int) -> list[int]:
    """Ids of the records written after write number `since`."""
    rows = conn.execute(f"SELECT id FROM {RECORDS} WHERE change_seq > ?", [since]).fetchall()
    return sorted(int(r[0]) for r in rows)


def refresh(
    store: Store,
    *,
    clock: Clock = utc_now,
    full: bool = False,
    change: Callable[[sqlite3.Connection], Sequence[int]] | None = None,
    processes: int | None = None,
) -> WorksReport:
    """Bring the store's authors, works, search rows and same-work links up to date with its
    records, in one write transaction, and return what was done.

    `full` recomputes every work. `change` (an author override) runs first in the same
    transaction and names records to re-derive even if unchanged: an override saved without
    its refresh would never reach its records. Raises StoreError (or sqlite3.Error) with
    nothing written when the refresh fails.
    """
    with store.write() as conn:
        return refresh_in_transaction(
            conn,
            now=format_utc(clock()),
            full=full,
            records=change(conn) if change is not None else (),
            processes=processes,
            clock=clock,
        )


def records_behind(conn: sqlite3.Connection, at_most: int | None = None) -> int:
    """How many records were written since the works were last brought up to date (a read);
    counted up to `at_most` + 1 when given (enough to tell a backlog too large)."""
    done = int(read_meta(conn, WORKS_SEQ) or 0)
    return _count_records(conn, "change_seq > ?", [done], None if at_most is None else at_most + 1)


def _count_records(
    conn: sqlite3.Connection, where: str, params: list[object], limit: int | None
) -> int:
    """How many records match `where`, counted up to `limit` when given (the count scans
    the table: most decisions need only to know whether there are that many)."""
    if limit is None:
        sql = f"SELECT count(*) FROM {RECORDS} WHERE {where}"
    else:
        sql = f"SELECT count(*) FROM (SELECT 1 FROM {RECORDS} WHERE {where} LIMIT ?)"
        params = [*params, limit]
    return int(conn.execute(sql, params).fetchone()[0])


def refresh_in_transaction(
    conn: sqlite3.Connection,
    *,
    now: str,
    full: bool = False,
    records: Sequence[int] = (),
    processes: int | None = None,
    clock: Clock | None = None,
) -> WorksReport:
    """Bring authors, works, search rows and same-work links up to date with the records,
    inside the caller's write transaction. `full` recomputes every work; `records` are
    re-derived even if unchanged (their author overrides changed). A full recompute derives
    records in `processes` worker processes (default: 2 from PARALLEL_FROM live records).
    Relinked records are stamped with `clock()` read at the end (default `now`)."""
    done = int(read_meta(conn, WORKS_SEQ) or 0)
    report = WorksReport()
    upgrade_index(conn)
    if not full and not records and done >= current_change_seq(conn):
        return report
    written = set(changed_records(conn, done))
    changed = sorted(written | set(records))
    # Derived ahead by a harvest's pages, from the record's last write: not derived again
    # (unless an override names it).
    ready = current_ahead(conn) - set(records)
    # Counting the live records scans the table: only worth it when the change is large, and
    # only as far as the decisions below need (a full count cost 0.15 s at 100k records).
    live = None
    if full or len(changed) > SMALL_CHANGE:
        # A change is large when the live records are fewer than len(changed) / FULL_SHARE.
        share_bound = int(len(changed) / FULL_SHARE) + 1 if FULL_SHARE > 0 else 1
        enough = PARALLEL_FROM if full else share_bound
        live = _count_records(conn, "deleted = 0", [], enough)
    if live is not None and (full or len(changed) > FULL_SHARE * live):
        # Derived again: every record when asked for, else those not derived ahead (a
        # harvest whose writer fell behind left many; those derived ahead are current).
        stale = [r for r in changed if r not in ready]
        if processes is None:
            processes = 2 if (live if full else len(stale)) >= PARALLEL_FROM else 1
        relinks = recompute_all(
            conn, set(changed), written, now, report, processes, None if full else stale
        )
        _finish(conn, relinks, report, now, clock)
    else:
        # A change's rows sit on random pages of every index it touches (970 changes at
        # 100k: 20,414 pages written): held in the cache until the commit, not spilled.
        with page_cache(conn, INCREMENTAL_CACHE_KIB):
            ahead = load_ahead(conn)
            relinks = refresh_changed(conn, changed, written, now, report, ahead, ready)
            _finish(conn, relinks, report, now, clock)
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
