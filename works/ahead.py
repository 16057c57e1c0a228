"""Deriving ahead: a harvested page's records derived inside the page's own transaction.

A harvest hands derive_page() to the harvester as its page hook, so each page's authors,
features, candidate keys and search rows are written with the page, while the next page is
still on its way; the works update after the last page only compares and clusters them.

What the update needs of such a record is kept in derived_ahead: the write it was derived
from (a later write of the record, by a command that derives nothing, makes it stale) and
its features and creators as they were at the last works update (the update recomputes the
groups the record left and moves the authors' counts by what changed).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from store.batches import IDS, rows_in
from store.tables import DERIVED_AHEAD, MATCH_FEATURES, RECORDS
from works import author_table
from works.derive import SourceRow, delete_derived, derive_batch, load_overrides, write_rows
from works.features import Features

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ahead:
    """A record derived ahead: the write it was derived from, and its state at the last
    works update."""

    change_seq: int
    old_features: Features | None
    old_creators: list[tuple[str, str]]  # (author key, name as written)


def derive_page(conn: sqlite3.Connection, change_seq: int) -> None:
    """Derive the records written by write number `change_seq` (one harvested page), inside
    the caller's transaction (a harvester.persist.PageHook).

    A record derivation cannot handle (a bug, not the store failing) leaves the page's
    records to the works update, with one logged line: the page itself is still written.
    """
    conn.execute("SAVEPOINT derive_page")
    try:
        _derive(conn, change_seq)
    except sqlite3.Error:
        raise
    except Exception as exc:
        conn.execute("ROLLBACK TO derive_page")
        logger.warning("works: page left to the works update, deriving it failed: %r", exc)
    conn.execute("RELEASE derive_page")


def _derive(conn: sqlite3.Connection, change_seq: int) -> None:
    rows = conn.execute(
        f"SELECT id, source, identifier, metadata, deleted FROM {RECORDS} WHERE change_seq = ?",
        [change_seq],
    ).fetchall()
    if not rows:
        return
    record_ids = [int(r[0]) for r in rows]
    _keep_state_before(conn, record_ids, change_seq)
    delete_derived(conn, record_ids, search=True)
    live = [
        SourceRow(int(i), str(s), str(x), m, True) for i, s, x, m, deleted in rows if not deleted
    ]
    write_rows(conn, derive_batch(live, load_overrides(conn)))


def _keep_state_before(
    conn: sqlite3.Connection, record_ids: Sequence[int], change_seq: int
) -> None:
    """Note the records as derived from `change_seq`; the first time since the last works
    update, with their features and creators as that update left them."""
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
    if not first:
        return
    features = {
        int(row[0]): row
        for row in rows_in(
            conn, f"SELECT * FROM {MATCH_FEATURES} WHERE record_id IN ({IDS})", first
        )
    }
    creators: dict[int, list[tuple[str, str]]] = {}
    for record_id, key, name in author_table.creator_rows(conn, first):
        creators.setdefault(record_id, []).append((key, name))
    conn.executemany(
        f"INSERT INTO {DERIVED_AHEAD} (record_id, change_seq, old_features, old_creators)"
        " VALUES (?, ?, ?, ?)",
        [
            (
                r,
                change_seq,
                json.dumps(list(features[r]), ensure_ascii=False) if r in features else None,
                json.dumps(creators.get(r, []), ensure_ascii=False),
            )
            for r in first
        ],
    )


def load_ahead(conn: sqlite3.Connection) -> dict[int, Ahead]:
    """Every record derived ahead since the last works update."""
    found = {}
    for record_id, change_seq, old_features, old_creators in conn.execute(
        f"SELECT record_id, change_seq, old_features, old_creators FROM {DERIVED_AHEAD}"
    ):
        features = Features.from_row(json.loads(old_features)) if old_features else None
        creators = [(str(k), str(n)) for k, n in json.loads(old_creators)]
        found[int(record_id)] = Ahead(int(change_seq), features, creators)
    return found


def current_ahead(
    conn: sqlite3.Connection, ahead: dict[int, Ahead], candidates: Sequence[int]
) -> set[int]:
    """Those of the candidates whose derived rows are current: derived ahead from the
    record's last write."""
    wanted = [r for r in candidates if r in ahead]
    rows = rows_in(conn, f"SELECT id, change_seq FROM {RECORDS} WHERE id IN ({IDS})", wanted)
    return {int(i) for i, seq in rows if ahead[int(i)].change_seq == int(seq)}


def forget_ahead(conn: sqlite3.Connection) -> None:
    """The works are up to date: nothing is waiting any more."""
    conn.execute(f"DELETE FROM {DERIVED_AHEAD}")
