"""Deriving ahead: a harvested page's records derived with the page.

A harvest is handed DeriveAhead as its page work: the page process derives every record of
a page (authors, features, candidate keys, search row) while the previous page is written,
and the page's transaction writes the derived rows of the records the page changed; the
works update after the last page only compares and clusters them.

What the update needs of such a record is kept in derived_ahead: the write it was derived
from (a later write of the record, by a command that derives nothing, makes it stale) and
its features and creators as they were at the last works update (the update recomputes the
groups the record left and moves the authors' counts by what changed).
"""

from __future__ import annotations

import collections
import json
import logging
import sqlite3
import statistics
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from store.batches import IDS, rows_in
from store.errors import StoreError
from store.tables import DERIVED_AHEAD, RECORDS
from store.writes import PreparedRecord
from works import author_table
from works.derive import (
    Derived,
    Overrides,
    delete_derived,
    derive,
    load_overrides,
    override_of,
    rows_of,
    write_rows,
)
from works.features import Features
from works.report import WorksReport

if TYPE_CHECKING:
    from store.db import Store

logger = logging.getLogger(__name__)

# A page's records derived in the page process, by (source, identifier); their record ids
# are not known there (0 stands in) and no author override is applied.
PreparedPage = Mapping[tuple[str, str], Derived]


@dataclass(frozen=True)
class Ahead:
    """A record derived ahead: the write it was derived from, and its state at the last
    works update."""

    change_seq: int
    old_features: Features | None
    old_creators: list[tuple[str, str]]  # (author key, name as written)


# Records behind the works before a harvest brings them up to date between its pages:
# fewer would pay a refresh's fixed cost too often. And the most: a larger backlog (works
# left behind by an earlier command) is left to the update after the last page.
CATCH_UP_FROM = 300
CATCH_UP_AT_MOST = 5000
# Refreshes whose pace (seconds per record) judges whether the next fits: the median of
# the last few, so that one slow refresh (a WAL checkpoint in its commit) puts off none.
PACE_REFRESHES = 5


class DeriveAhead:
    """The harvest's page work (harvester.persist.PageWork): derive in the page process,
    write in the page's transaction, and (when `refresh_between_pages`) bring the works up
    to date while the writer waits for a server; else the works update after the harvest
    does it all."""

    def __init__(self, refresh_between_pages: bool = False) -> None:
        self.refresh_between_pages = refresh_between_pages
        # What the refreshes between pages did, for the harvest's summary.
        self.reports: list[WorksReport] = []
        # The last refreshes' seconds per record: whether the next fits the time there is.
        self._paces: collections.deque[float] = collections.deque(maxlen=PACE_REFRESHES)
        self._failed = False
        # Sources harvested at once share this object: one refresh at a time.
        self._refreshing = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # The page process only derives: it gets none of the refreshing state (a lock does
        # not pickle).
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]

    def idle(self, store: Store, seconds: float) -> None:
        """Between pages while the writer waits: refresh the works when CATCH_UP_FROM to
        CATCH_UP_AT_MOST records are behind and the median pace of the last refreshes says
        this one ends within `seconds`. A failure is logged once; the update after the
        harvest catches up."""
        if not self.refresh_between_pages or self._failed:
            return
        # Imported here: the page process, which unpickles this class, never refreshes, and
        # the update's imports (works.full, linking, ...) would slow its start.
        from works import update  # noqa: PLC0415

        if not self._refreshing.acquire(blocking=False):
            return
        try:
            behind = update.records_behind(store.conn, at_most=CATCH_UP_AT_MOST)
            if not CATCH_UP_FROM <= behind <= CATCH_UP_AT_MOST:
                return
            expected = behind * (statistics.median(self._paces) if self._paces else 0.0)
            if expected > seconds:
                logger.debug(
                    "works: refresh between pages put off: %d records behind, ~%.2f s, %.2f s"
                    " to spare",
                    behind,
                    expected,
                    seconds,
                )
                return
            started = time.monotonic()
            self.reports.append(update.refresh(store))
            took = time.monotonic() - started
            self._paces.append(took / behind)
            logger.debug(
                "works: %d records brought up to date between pages in %.2f s", behind, took
            )
        except (StoreError, sqlite3.Error) as exc:
            self._failed = True
            logger.warning(
                "works: not brought up to date between pages (%s); the update after the"
                " harvest catches up",
                exc,
            )
        finally:
            self._refreshing.release()

    def prepare(self, records: Sequence[PreparedRecord]) -> dict[tuple[str, str], Derived]:
        """Every live record of the page derived; a record derivation cannot handle is
        left out (the write derives it again, or leaves it to the works update)."""
        found = {}
        for record in records:
            if record.deleted or not record.metadata_json:
                continue
            try:
                metadata = json.loads(record.metadata_json)
                found[(record.source, record.identifier)] = derive(
                    0, record.source, record.identifier, metadata, {}
                )
            except Exception:  # noqa: S112 - the write derives it again
                continue
        return found

    def write(self, conn: sqlite3.Connection, change_seq: int, prepared: Any) -> None:
        """Write the derived rows of the records the page changed."""
        derive_page(conn, change_seq, prepared)


def derive_page(conn: sqlite3.Connection, change_seq: int, prepared: PreparedPage) -> None:
    """Derive the records written by write number `change_seq` (one harvested page), inside
    the caller's transaction, using what the page process `prepared` where it applies.

    A record derivation cannot handle (a bug, not the store failing) leaves the page's
    records to the works update, with one logged line: the page itself is still written.
    """
    conn.execute("SAVEPOINT derive_page")
    try:
        _derive(conn, change_seq, prepared)
    except sqlite3.Error:
        raise
    except Exception as exc:
        conn.execute("ROLLBACK TO derive_page")
        logger.warning("works: page left to the works update, deriving it failed: %r", exc)
    conn.execute("RELEASE derive_page")


def _derive(conn: sqlite3.Connection, change_seq: int, prepared: PreparedPage) -> None:
    rows = conn.execute(
        f"SELECT id, source, identifier, metadata, deleted FROM {RECORDS} WHERE change_seq = ?",
        [change_seq],
    ).fetchall()
    if not rows:
        return
    record_ids = [int(r[0]) for r in rows]
    _replace_derived(conn, record_ids, change_seq)
    overrides = load_overrides(conn)
    batch = []
    for record_id, source, identifier, metadata, deleted in rows:
        if deleted:
            continue
        done = prepared.get((source, identifier))
        if done is None or _overridden(done, source, identifier, overrides):
            batch.append(derive(record_id, source, identifier, json.loads(metadata), overrides))
        else:
            batch.append(_numbered(done, int(record_id)))
    write_rows(conn, rows_of(batch))


def _overridden(done: Derived, source: str, identifier: str, overrides: Overrides) -> bool:
    """True when an author override applies to one of the record's names (the page
    process derived it without overrides)."""
    return bool(overrides) and any(
        override_of(a.key, source, identifier, overrides) is not None for a in done.authors
    )


def _numbered(done: Derived, record_id: int) -> Derived:
    """A record derived in the page process, given its record id."""
    return Derived(
        record_id,
        [a._replace(record_id=record_id) for a in done.authors],
        done.features._replace(record_id=record_id),
        done.keys,
        done.search,
    )


def _replace_derived(conn: sqlite3.Connection, record_ids: Sequence[int], change_seq: int) -> None:
    """Delete the records' derived rows and note them as derived from `change_seq`; the
    first time since the last works update, with the features and creators that update
    left them (what the deletion takes away)."""
    known = {
        int(r[0])
        for r in rows_in(
            conn, f"SELECT record_id FROM {DERIVED_AHEAD} WHERE record_id IN ({IDS})", record_ids
        )
    }
    conn.executemany(
        f"UPDATE {DERIVED_AHEAD} SET change_seq = ? WHERE record_id = ?",
        [(change_seq, r) for r in record_ids if r in known],
    )
    first = [r for r in record_ids if r not in known]
    creators: dict[int, list[tuple[str, str]]] = {}
    for record_id, key, name in author_table.creator_rows(conn, first):
        creators.setdefault(record_id, []).append((key, name))
    old = {f.record_id: f for f in delete_derived(conn, record_ids, search=True)}
    conn.executemany(
        f"INSERT INTO {DERIVED_AHEAD} (record_id, change_seq, old_features, old_creators)"
        " VALUES (?, ?, ?, ?)",
        [
            (
                r,
                change_seq,
                json.dumps(old[r].row(), ensure_ascii=False) if r in old else None,
                json.dumps(creators.get(r, []), ensure_ascii=False),
            )
            for r in first
        ],
    )


def load_ahead(conn: sqlite3.Connection) -> dict[int, Ahead]:
    """Every record derived ahead since the last works update, with the state that update
    left it in (what an incremental refresh needs)."""
    found = {}
    for record_id, change_seq, old_features, old_creators in conn.execute(
        f"SELECT record_id, change_seq, old_features, old_creators FROM {DERIVED_AHEAD}"
    ):
        features = Features.from_row(json.loads(old_features)) if old_features else None
        creators = [(str(k), str(n)) for k, n in json.loads(old_creators)]
        found[int(record_id)] = Ahead(int(change_seq), features, creators)
    return found


def current_ahead(conn: sqlite3.Connection) -> set[int]:
    """The records whose derived rows are current: derived ahead from their last write."""
    rows = conn.execute(
        f"SELECT a.record_id FROM {DERIVED_AHEAD} a"
        f" JOIN {RECORDS} r ON r.id = a.record_id AND r.change_seq = a.change_seq"
    )
    return {int(r[0]) for r in rows}


def forget_ahead(conn: sqlite3.Connection) -> None:
    """The works are up to date: nothing is waiting any more."""
    conn.execute(f"DELETE FROM {DERIVED_AHEAD}")
