"""Harvesting every source of a store: one lock per store, parallel jobs, the summary."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from harvester.client import Client
from harvester.feed import ProcessFeed
from harvester.persist import PageWork
from harvester.run import RunSummary, SourceHarvest
from harvester.settings import HarvesterSettings, SourceSettings
from harvester.stopping import RunStop
from oaiformat.identifiers import LOCAL_SOURCE
from store.db import open_store
from store.tables import SOURCES

logger = logging.getLogger(__name__)


class LockHeld(Exception):
    """Another process is harvesting into the same store."""


def _lock_path(db_path: str) -> Path:
    """The file beside the store whose OS lock a harvest holds."""
    return Path(f"{db_path}.harvest-lock")


@contextlib.contextmanager
def store_lock(db_path: str) -> Iterator[None]:
    """Hold an OS lock beside the store; the OS releases it if the process dies.

    Raises LockHeld when another process holds it.
    """
    lock_path = _lock_path(db_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise LockHeld(f"another harvest holds {lock_path}") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def lock_held(db_path: str) -> bool:
    """True when a harvest holds the store's lock (read-only: the lock file is only opened
    for reading, and a missing one means no harvest)."""
    lock_path = _lock_path(db_path)
    try:
        handle = lock_path.open("r")
    except FileNotFoundError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def known_sources(
    conn: sqlite3.Connection, configured: Sequence[SourceSettings]
) -> list[SourceSettings]:
    """Configured sources, then sources remembered in the store from ad hoc harvests: those
    whose Identify once answered (a URL that never did, an HTML page or a refused port, is
    not retried by every later harvest) and that were not removed."""
    found = {s.name: s for s in configured}
    rows = conn.execute(
        f"SELECT name, base_url, metadata_prefix, set_spec FROM {SOURCES}"
        " WHERE name != ? AND base_url IS NOT NULL AND identified_at IS NOT NULL ORDER BY name",
        [LOCAL_SOURCE],
    ).fetchall()
    for name, url, prefix, set_spec in rows:
        found.setdefault(name, SourceSettings(name, url, prefix, set_spec))
    return list(found.values())


@dataclass(frozen=True)
class HarvestJob:
    """One source to harvest, and how."""

    source: SourceSettings
    full: bool = False
    until: str | None = None


def _run_one(
    db_path: str,
    job: HarvestJob,
    settings: HarvesterSettings,
    repository_identifier: str,
    progress: Progress | None,
    work: PageWork | None,
    interrupt: threading.Event | None,
    alone: bool = True,
) -> RunSummary:
    store = open_store(db_path)
    stop = RunStop(interrupt, settings.run_time_cap)
    client = Client(job.source.url, settings, sleep=stop.sleep, stop=stop)

    def process_feed() -> ProcessFeed:
        # Only a run that has this process to itself lets its writer read pages too.
        return ProcessFeed(
            job.source.url, settings, repository_identifier, client, stop, work, alone
        )

    try:
        return SourceHarvest(
            store,
            job.source,
            client,
            settings,
            repository_identifier=repository_identifier,
            full=job.full,
            until=job.until,
            clock=lambda: datetime.now(UTC),
            progress=progress,
            feed_factory=process_feed,
            work=work,
            stop=stop,
        ).run()
    finally:
        client.close()
        store.close()


def harvest_all(
    db_path: str,
    jobs: Sequence[HarvestJob],
    settings: HarvesterSettings,
    repository_identifier: str,
    parallel: int,
    progress: Progress | None = None,
    work: PageWork | None = None,
    interrupt: threading.Event | None = None,
) -> list[RunSummary]:
    """Harvest every job, several at once when `parallel` > 1; summaries in job order.

    `work` is done with each page (see harvester.persist.PageWork). Once
    `interrupt` is set, runs end after the page being written and no new run starts.

    Jobs on the same host run one after the other in one thread, so a host never gets two
    requests at a time (each run's pages are fetched by a process of its own).
    """
    by_host: dict[str, list[int]] = {}
    for index, job in enumerate(jobs):
        by_host.setdefault(urlsplit(job.source.url).netloc.lower(), []).append(index)

    alone = min(parallel, len(by_host)) <= 1

    def run_group(indexes: list[int]) -> list[tuple[int, RunSummary]]:
        done = []
        for i in indexes:
            if interrupt is not None and interrupt.is_set():
                break
            job = jobs[i]
            summary = _run_one(
                db_path, job, settings, repository_identifier, progress, work, interrupt, alone
            )
            done.append((i, summary))
        return done

    groups = list(by_host.values())
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(groups)))) as pool:
        done = [pair for result in pool.map(run_group, groups) for pair in result]
    return [summary for _, summary in sorted(done, key=lambda pair: pair[0])]


class Progress:
    """A one-line progress display per source on a terminal (stderr)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()
        self._lines: dict[str, str] = {}

    def __call__(self, summary: RunSummary) -> None:
        """Show where a source stands: records so far, of completeListSize when known."""
        total = summary.complete_list_size
        if total:
            done = min(summary.records_seen, total)
            filled = int(24 * done / total)
            bar = f"[{'#' * filled}{'.' * (24 - filled)}] {done}/{total}"
        else:
            bar = f"{summary.records_seen} records"
        line = f"{summary.source}: {bar}, {summary.counts.pages} pages"
        with self._lock:
            self._lines[summary.source] = line
            self.stream.write("\r\x1b[K" + " | ".join(self._lines.values())[-200:])
            self.stream.flush()

    def close(self) -> None:
        """End the progress line."""
        if self._lines:
            self.stream.write("\n")
            self.stream.flush()


def summary_rows(summaries: Sequence[RunSummary]) -> list[dict[str, Any]]:
    """The per-source summary as plain data (what --report-json writes)."""
    rows = []
    for item in summaries:
        counts = item.counts
        rows.append(
            {
                "source": item.source,
                "status": item.status,
                "error": item.error,
                "started_at": item.started_at,
                "finished_at": item.finished_at,
                "from": item.request_from,
                "until": item.request_until,
                "added": counts.records.added,
                "updated": counts.records.updated,
                "deleted": counts.records.deleted,
                "unchanged": counts.records.unchanged,
                "tombstoned": counts.tombstoned,
                "quarantined": counts.quarantined,
                "pages": counts.pages,
                "retries": counts.retries,
                "bytes": counts.bytes,
                "seconds": round(item.seconds, 3),
                "complete_list_size": item.complete_list_size,
                "records_seen": item.records_seen,
                "sets": item.sets,
                "peak_rss_mib": round(item.peak_rss_kib / 1024, 1),
                "warnings": list(counts.warnings),
            }
        )
    return rows


def format_summary(rows: Sequence[dict[str, Any]]) -> str:
    """One line per source, for people."""
    lines = []
    for row in rows:
        lines.append(
            f"{row['source']}: {row['status']}: {row['added']} added, {row['updated']} updated,"
            f" {row['deleted']} deleted, {row['tombstoned']} tombstoned,"
            f" {row['quarantined']} quarantined, {row['unchanged']} unchanged;"
            f" {row['pages']} pages, {row['retries']} retries, {row['bytes']} bytes,"
            f" {row['seconds']:.1f} s"
        )
        lines.extend(f"  warning: {w}" for w in row["warnings"])
    return "\n".join(lines)


def write_report(
    path: Path,
    rows: Sequence[dict[str, Any]],
    *,
    started_at: str,
    finished_at: str,
    works: dict[str, Any],
) -> None:
    """Write the run's summary as JSON for monitoring: when it ran, each source (with the
    from/until asked), and the works update's result."""
    report = {
        "started_at": started_at,
        "finished_at": finished_at,
        "sources": list(rows),
        "works": works,
    }
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
