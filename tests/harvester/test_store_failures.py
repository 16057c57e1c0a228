"""A store that refuses writes (locked past the busy timeout) fails the page, loses nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from harvester.client import Client
from harvester.run import RunSummary, SourceHarvest
from harvester.settings import HarvesterSettings, SourceSettings
from store.db import Store, open_store
from tests.harvester import bodies
from tests.harvester.faults import FaultServer, Reply

REPOSITORY_IDENTIFIER = "repository.example.org"


SETTINGS = HarvesterSettings(max_attempts=1)


def _harvest_failing_after_page_1(
    store: Store, server: FaultServer, after_first_page: Callable[[], object]
) -> RunSummary:
    """Run a harvest whose store starts refusing writes once page 1 is saved."""
    client = Client(server.url, SETTINGS, sleep=lambda _: None)
    pages: list[object] = []

    def progress(summary: object) -> None:
        pages.append(summary)
        if len(pages) == 1:
            after_first_page()

    try:
        return SourceHarvest(
            store,
            SourceSettings("src", server.url),
            client,
            SETTINGS,
            repository_identifier=REPOSITORY_IDENTIFIER,
            clock=lambda: datetime.now(UTC),
            progress=progress,
        ).run()
    finally:
        client.close()


def _assert_only_page_1_kept(store: Store, summary: RunSummary, error: str) -> None:
    assert summary.status == "failed"
    assert summary.error is not None and error in summary.error
    stored = [r[0] for r in store.conn.execute("SELECT identifier FROM records ORDER BY 1")]
    assert stored == ["oai:x:1", "oai:x:2"]
    saved = store.conn.execute("SELECT token, pages FROM harvest_state").fetchone()
    assert tuple(saved) == ("t1", 1)  # the checkpoint still points at the failed page


def test_locked_store_fails_the_page_and_keeps_what_was_stored(
    server: FaultServer, tmp_path: Path
) -> None:
    db = tmp_path / "m.db"
    server.play(
        Reply(bodies.page(["oai:x:1", "oai:x:2"], "t1", size=4)),
        Reply(bodies.page(["oai:x:3", "oai:x:4"], size=4)),
    )
    store = open_store(db)
    store.conn.execute("PRAGMA busy_timeout = 50")
    blocker = sqlite3.connect(db, isolation_level=None)
    try:
        # Another writer holds the lock from page 2 on.
        summary = _harvest_failing_after_page_1(
            store, server, lambda: blocker.execute("BEGIN IMMEDIATE")
        )
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    try:
        _assert_only_page_1_kept(store, summary, "store refused the page")
    finally:
        store.close()


def test_a_full_disk_fails_the_page_and_keeps_what_was_stored(
    server: FaultServer, tmp_path: Path
) -> None:
    server.play(
        Reply(bodies.page(["oai:x:1", "oai:x:2"], "t1", size=302)),
        Reply(bodies.page([f"oai:x:{i}" for i in range(3, 303)], size=302)),
    )
    store = open_store(tmp_path / "m.db")

    def fill_up() -> None:
        # max_page_count makes SQLite answer "database or disk is full", as a full disk would.
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages + 2}")

    try:
        _assert_only_page_1_kept(
            store, _harvest_failing_after_page_1(store, server, fill_up), "full"
        )
    finally:
        store.close()
