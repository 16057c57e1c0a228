"""The harvester's writes: each page and its checkpoint in ONE transaction, run history.

What is committed is the truth a resumed run starts from: a crash loses at most the page
being written, and that page is fetched again from the checkpoint's token.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from harvester.pages import Page
from oaiformat.identifiers import LOCAL_SOURCE
from store.batches import placeholders
from store.db import Store
from store.meta import next_count
from store.records import SaveCounts, SourceInfo, ensure_source
from store.tables import HARVEST_RUNS, HARVEST_STATE, QUARANTINE, RECORDS, SOURCES
from store.withdrawal import withdraw
from store.writes import PreparedRecord, current_change_seq, write_prepared


class PageWork(Protocol):
    """Work done with pages, in two halves (the works package derives each page's records
    through it, handed in by `oai`). It must pickle: a harvest's page process gets a copy.
    The page process skips it for pages that were there at once or arrive while the writer
    is behind (then it would cost wall time): work that must reach every record is done
    after the harvest."""

    def prepare(self, records: Sequence[PreparedRecord]) -> Any:
        """Pure CPU work on every record of a page, done where the page is parsed (the
        page process, while the previous page is written). Must not raise."""

    def write(self, conn: sqlite3.Connection, change_seq: int, prepared: Any) -> None:
        """Inside the page's transaction, given the write number of the records the page
        changed (`records.change_seq`) and what prepare() returned for the page. An error
        rolls the whole page back."""

    def idle(self, store: Store, seconds: float) -> None:
        """Between pages, in the writer, while the next page is not there yet: work of
        its own transactions that should end within `seconds` (after that the page process
        would wait for the writer). Must not raise for a store error: the work after the
        harvest does what was left."""


# harvest_state with no list in progress.
_NO_LIST = (
    "list_id = NULL, list_from = NULL, list_until = NULL, list_full = 0, list_started = NULL,"
    " list_first_response_date = NULL, token = NULL, token_expires = NULL, cursor = 0,"
    " pages = 0, records_seen = 0, complete_list_size = NULL"
)


@dataclass(frozen=True)
class ListCheckpoint:
    """A list in progress: its arguments and where it stands."""

    list_id: int
    from_: str | None
    until: str | None
    full: bool
    first_response_date: str | None
    token: str | None
    token_expires: str | None
    cursor: int
    pages: int
    records_seen: int
    complete_list_size: int | None


@dataclass(frozen=True)
class SourceState:
    """What the store knows of a source's harvesting."""

    next_from: str | None
    last_success: str | None
    failures_in_row: int
    checkpoint: ListCheckpoint | None


@dataclass
class RunCounts:
    """What one run did to one source, for the summary and harvest_runs."""

    records: SaveCounts = field(default_factory=SaveCounts)
    tombstoned: int = 0
    quarantined: int = 0
    invalid_dc: int = 0
    pages: int = 0
    retries: int = 0
    bytes: int = 0
    warnings: list[str] = field(default_factory=list)


def load_state(conn: sqlite3.Connection, source: str) -> SourceState:
    """Return the source's harvesting state (empty for a source never harvested)."""
    cursor = conn.execute(
        f"SELECT next_from, last_success, failures_in_row, list_id, list_from AS from_,"
        f" list_until AS until, list_full AS full,"
        f" list_first_response_date AS first_response_date, token, token_expires, cursor,"
        f" pages, records_seen, complete_list_size FROM {HARVEST_STATE} WHERE source = ?",
        [source],
    )
    row = cursor.fetchone()
    if row is None:
        return SourceState(None, None, 0, None)
    columns = dict(zip((c[0] for c in cursor.description), row, strict=True))
    checkpoint = None
    if columns["list_id"] is not None:
        fields = {f.name: columns[f.name] for f in dataclasses.fields(ListCheckpoint)}
        checkpoint = ListCheckpoint(**{**fields, "full": bool(fields["full"])})
    return SourceState(
        columns["next_from"], columns["last_success"], columns["failures_in_row"], checkpoint
    )


def record_identify(
    store: Store, source: SourceInfo, identify: dict[str, str | None] | None, now: str
) -> None:
    """Keep the source's Identify answer; None only makes sure the source's rows exist
    (what an earlier Identify said is kept)."""
    with store.write() as conn:
        ensure_source(conn, source, now)
        conn.execute(
            f"INSERT INTO {HARVEST_STATE} (source) VALUES (?) ON CONFLICT (source) DO NOTHING",
            [source.name],
        )
        if identify is None:
            return
        conn.execute(
            f"UPDATE {SOURCES} SET identify_xml = ?, granularity = ?, earliest_datestamp = ?,"
            " deleted_record = ?, compression = ?, identified_at = ?,"
            " repository_name = coalesce(?, repository_name) WHERE name = ?",
            [
                identify.get("xml"),
                identify.get("granularity"),
                identify.get("earliest_datestamp"),
                identify.get("deleted_record"),
                identify.get("compression"),
                now,
                identify.get("repository_name"),
                source.name,
            ],
        )


def begin_run(store: Store, source: str, full: bool, now: str) -> int:
    """Open a harvest_runs row (its request_from is noted once the list is known); returns
    its id.

    Runs of the source still marked running were killed (the store lock rules out a live
    one): they are marked interrupted.
    """
    with store.write() as conn:
        conn.execute(
            f"UPDATE {HARVEST_RUNS} SET status = 'interrupted' WHERE source = ?"
            " AND status = 'running'",
            [source],
        )
        cursor = conn.execute(
            f"INSERT INTO {HARVEST_RUNS} (source, started_at, status, full)"
            " VALUES (?, ?, 'running', ?)",
            [source, now, int(full)],
        )
        return int(cursor.lastrowid or 0)


def note_request_from(store: Store, run_id: int, from_: str | None) -> None:
    """Record the `from` the run's list actually asks for."""
    with store.write() as conn:
        conn.execute(f"UPDATE {HARVEST_RUNS} SET request_from = ? WHERE id = ?", [from_, run_id])


def start_list(
    store: Store, source: str, from_: str | None, until: str | None, full: bool, now: str
) -> ListCheckpoint:
    """Record that a new list begins (forgetting any unfinished one)."""
    with store.write() as conn:
        # A counter that never goes back: records.seen_list must not match an older list.
        list_id = next_count(conn, "list_seq")
        conn.execute(
            f"UPDATE {HARVEST_STATE} SET list_id = ?, list_from = ?, list_until = ?,"
            " list_full = ?, list_started = ?, list_first_response_date = NULL, token = NULL,"
            " token_expires = NULL, cursor = 0, pages = 0, records_seen = 0,"
            " complete_list_size = NULL WHERE source = ?",
            [list_id, from_, until, int(full), now, source],
        )
    return ListCheckpoint(
        list_id=list_id,
        from_=from_,
        until=until,
        full=full,
        first_response_date=None,
        token=None,
        token_expires=None,
        cursor=0,
        pages=0,
        records_seen=0,
        complete_list_size=None,
    )


def restart_list(store: Store, source: str, checkpoint: ListCheckpoint, now: str) -> ListCheckpoint:
    """Request the list in progress again from its start, with its from/until and list id.

    Its progress counts start again, so completeness and the page cap are judged on the
    walk that completes; records the abandoned walk saw stay stored and marked as seen.
    """
    with store.write() as conn:
        conn.execute(
            f"UPDATE {HARVEST_STATE} SET token = NULL, token_expires = NULL, cursor = 0,"
            " pages = 0, records_seen = 0, list_started = ?, list_first_response_date = NULL"
            " WHERE source = ?",
            [now, source],
        )
    return dataclasses.replace(
        checkpoint,
        first_response_date=None,
        token=None,
        token_expires=None,
        cursor=0,
        pages=0,
        records_seen=0,
    )


def save_page(
    store: Store,
    *,
    source: str,
    page: Page,
    records: Sequence[PreparedRecord],
    checkpoint: ListCheckpoint,
    run_id: int,
    url: str,
    now: str,
    work: PageWork | None = None,
    prepared: Any = None,
    final: bool = True,
    written_in_parts: int = 0,
) -> tuple[ListCheckpoint, SaveCounts]:
    """Write one page's (prepared) records, quarantine, `work`'s write and the new
    checkpoint in one transaction.

    A large page comes in parts: one not `final` is written without moving the
    checkpoint, so a run that stops before the final part fetches the page again (and
    writes the same rows again); the final part counts the `written_in_parts` records of
    the parts before it into the checkpoint.
    """
    with store.write() as conn:
        counts = write_prepared(conn, records, now=now)
        # Only for a page the work was prepared for (the feed skips it when it would cost
        # wall time) and that changed something.
        changed = counts.added + counts.updated + counts.deleted
        if work is not None and prepared is not None and changed:
            work.write(conn, current_change_seq(conn), prepared)
        if checkpoint.full and records:
            conn.execute(
                f"UPDATE {RECORDS} SET seen_list = ?"
                f" WHERE source = ? AND identifier IN ({placeholders(records)})",
                [checkpoint.list_id, source, *(r.identifier for r in records)],
            )
        # The same broken record seen again (a restarted list, the overlap) is one row, with
        # the run, page and time it was last seen.
        conn.executemany(
            f"INSERT INTO {QUARANTINE} (source, run_id, page, url, raw, raw_hash, error,"
            " created_at, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (source, raw_hash) DO UPDATE SET run_id = excluded.run_id,"
            " page = excluded.page, url = excluded.url, error = excluded.error,"
            " last_seen = excluded.last_seen",
            [
                (
                    source,
                    run_id,
                    checkpoint.pages + 1,
                    url,
                    q.raw,
                    hashlib.sha256(q.raw).hexdigest(),
                    q.error,
                    now,
                    now,
                )
                for q in page.quarantined
            ],
        )
        if not final:
            return checkpoint, counts
        seen = len(records) + written_in_parts
        updated = dataclasses.replace(
            checkpoint,
            first_response_date=checkpoint.first_response_date or page.response_date or now,
            token=page.token,
            token_expires=page.expiration_date,
            cursor=checkpoint.cursor + seen,
            pages=checkpoint.pages + 1,
            records_seen=checkpoint.records_seen + seen,
            complete_list_size=page.complete_list_size or checkpoint.complete_list_size,
        )
        conn.execute(
            f"UPDATE {HARVEST_STATE} SET list_first_response_date = ?, token = ?,"
            " token_expires = ?, cursor = ?, pages = ?, records_seen = ?,"
            " complete_list_size = ? WHERE source = ?",
            [
                updated.first_response_date,
                updated.token,
                updated.token_expires,
                updated.cursor,
                updated.pages,
                updated.records_seen,
                updated.complete_list_size,
                source,
            ],
        )
    return updated, counts


def list_quarantined(conn: sqlite3.Connection, source: str) -> int:
    """Return how many records the source's list in progress quarantined, over all its runs."""
    # Timestamps are in seconds: a record the previous list quarantined in the very second
    # this one began is counted too, which errs only towards keeping records.
    row = conn.execute(
        f"SELECT count(*) FROM {QUARANTINE} q JOIN {HARVEST_STATE} h ON h.source = q.source"
        " WHERE q.source = ? AND h.list_started IS NOT NULL AND q.last_seen >= h.list_started",
        [source],
    ).fetchone()
    return int(row[0])


def finish_list(
    store: Store,
    *,
    source: str,
    checkpoint: ListCheckpoint,
    next_from: str | None,
    tombstone_unseen: bool,
    repository_identifier: str,
    now: str,
) -> int:
    """Close a completed list: advance `next_from`, tombstone what a full list lacked.

    Returns how many records were turned into tombstones.
    """
    with store.write() as conn:
        tombstoned = 0
        if tombstone_unseen:
            missing = conn.execute(
                f"SELECT id FROM {RECORDS} WHERE source = ? AND deleted = 0"
                " AND (seen_list IS NULL OR seen_list != ?)",
                [source, checkpoint.list_id],
            ).fetchall()
            tombstoned = withdraw(
                conn,
                record_ids=[int(row[0]) for row in missing],
                repository_identifier=repository_identifier,
                now=now,
                deleted_at=checkpoint.first_response_date,
            )
        conn.execute(
            f"UPDATE {HARVEST_STATE} SET next_from = coalesce(?, next_from), last_success = ?,"
            f" failures_in_row = 0, {_NO_LIST} WHERE source = ?",
            [next_from, now, source],
        )
    return tombstoned


def end_run(
    store: Store,
    run_id: int,
    source: str,
    counts: RunCounts,
    error: str | None,
    now: str,
    *,
    interrupted: bool = False,
) -> None:
    """Close the run row; a failure also counts in the source's failures in a row (an
    interruption does not: it says nothing of the source)."""
    status = "interrupted" if interrupted else "failed" if error else "completed"
    with store.write() as conn:
        conn.execute(
            f"UPDATE {HARVEST_RUNS} SET finished_at = ?, status = ?, added = ?, updated = ?,"
            " deleted = ?, unchanged = ?, tombstoned = ?, quarantined = ?, pages = ?,"
            " retries = ?, bytes = ?, warnings = ?, error = ? WHERE id = ?",
            [
                now,
                status,
                counts.records.added,
                counts.records.updated,
                counts.records.deleted,
                counts.records.unchanged,
                counts.tombstoned,
                counts.quarantined,
                counts.pages,
                counts.retries,
                counts.bytes,
                json.dumps(counts.warnings),
                error,
                run_id,
            ],
        )
        if error:
            conn.execute(
                f"UPDATE {HARVEST_STATE} SET failures_in_row = failures_in_row + 1"
                " WHERE source = ?",
                [source],
            )


def reset_source(store: Store, source: str) -> bool:
    """Forget a source's checkpoint and incremental state; returns False for an unknown one."""
    with store.write() as conn:
        cursor = conn.execute(
            f"UPDATE {HARVEST_STATE} SET next_from = NULL, {_NO_LIST} WHERE source = ?", [source]
        )
        return cursor.rowcount > 0


def retire_source(store: Store, source: str) -> bool:
    """Stop harvesting a source: its checkpoint, incremental state and quarantined records
    go, its base URL is cleared (so it is neither harvested nor listed again); its records
    and run history stay. Returns False for an unknown source."""
    with store.write() as conn:
        cursor = conn.execute(
            f"UPDATE {SOURCES} SET base_url = NULL WHERE name = ? AND name != ?",
            [source, LOCAL_SOURCE],
        )
        if cursor.rowcount == 0:
            return False
        conn.execute(f"DELETE FROM {HARVEST_STATE} WHERE source = ?", [source])
        conn.execute(f"DELETE FROM {QUARANTINE} WHERE source = ?", [source])
        return True


def source_status(conn: sqlite3.Connection, name: str | None) -> list[dict[str, object]]:
    """Per source (or one): last success, next from, failures, quarantined, record counts."""
    where, params = ("AND s.name = ?", [name]) if name else ("", [])
    rows = conn.execute(
        f"SELECT s.name, h.last_success, h.next_from, coalesce(h.failures_in_row, 0),"
        f" (SELECT count(*) FROM {QUARANTINE} q WHERE q.source = s.name),"
        f" (SELECT count(*) FROM {RECORDS} r WHERE r.source = s.name AND r.deleted = 0),"
        f" (SELECT count(*) FROM {RECORDS} r WHERE r.source = s.name AND r.deleted = 1),"
        f" h.list_id IS NOT NULL, coalesce(h.pages, 0),"
        f" (SELECT status FROM {HARVEST_RUNS} r WHERE r.source = s.name ORDER BY id DESC LIMIT 1)"
        f" FROM {SOURCES} s LEFT JOIN {HARVEST_STATE} h ON h.source = s.name"
        f" WHERE 1 {where} ORDER BY s.name",
        params,
    ).fetchall()
    keys = (
        "source",
        "last_success",
        "next_from",
        "failures_in_row",
        "quarantined",
        "live",
        "tombstones",
        "in_progress",
        "pages",
        "last_run",
    )
    return [dict(zip(keys, row, strict=True)) for row in rows]
