"""A store that refuses writes (locked past the busy timeout) fails the page, loses nothing."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from harvester.client import Client
from harvester.run import SourceHarvest
from harvester.settings import HarvesterSettings, SourceSettings
from store.db import open_store
from tests.harvester import bodies
from tests.harvester.faults import FaultServer, Reply

REPOSITORY_IDENTIFIER = "repository.example.org"


def test_locked_store_fails_the_page_and_keeps_what_was_stored(
    server: FaultServer, tmp_path: Path
) -> None:
    settings = HarvesterSettings(max_attempts=1)
    db = tmp_path / "m.db"
    server.play(
        Reply(bodies.page(["oai:x:1", "oai:x:2"], "t1", size=4)),
        Reply(bodies.page(["oai:x:3", "oai:x:4"], size=4)),
    )
    store = open_store(db)
    store.conn.execute("PRAGMA busy_timeout = 50")
    client = Client(server.url, settings, sleep=lambda _: None)
    blocker = sqlite3.connect(db, isolation_level=None)
    pages_seen: list[int] = []

    def lock_after_first_page(summary: object) -> None:
        pages_seen.append(1)
        if len(pages_seen) == 1:
            blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock from now on

    try:
        summary = SourceHarvest(
            store,
            SourceSettings("src", server.url),
            client,
            settings,
            repository_identifier=REPOSITORY_IDENTIFIER,
            clock=lambda: datetime.now(UTC),
            progress=lock_after_first_page,
        ).run()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        client.close()
    try:
        assert summary.status == "failed"
        assert summary.error is not None and "store refused the page" in summary.error
        stored = [r[0] for r in store.conn.execute("SELECT identifier FROM records ORDER BY 1")]
        assert stored == ["oai:x:1", "oai:x:2"]
        saved = store.conn.execute("SELECT token, pages FROM harvest_state").fetchone()
        assert tuple(saved) == ("t1", 1)  # the checkpoint still points at the failed page
    finally:
        store.close()


def test_a_full_disk_fails_the_page_and_keeps_what_was_stored(
    server: FaultServer, tmp_path: Path
) -> None:
    # max_page_count makes SQLite answer "database or disk is full", as a full disk would.
    settings = HarvesterSettings(max_attempts=1)
    big = [f"oai:x:{i}" for i in range(300)]
    server.play(
        Reply(bodies.page(["oai:x:a", "oai:x:b"], "t1", size=302)),
        Reply(bodies.page(big, size=302)),
    )
    store = open_store(tmp_path / "m.db")
    client = Client(server.url, settings, sleep=lambda _: None)

    def fill_up_after_first_page(summary: object) -> None:
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages + 2}")

    try:
        summary = SourceHarvest(
            store,
            SourceSettings("src", server.url),
            client,
            settings,
            repository_identifier=REPOSITORY_IDENTIFIER,
            clock=lambda: datetime.now(UTC),
            progress=fill_up_after_first_page,
        ).run()
        assert summary.status == "failed"
        assert summary.error is not None and "full" in summary.error
        stored = [r[0] for r in store.conn.execute("SELECT identifier FROM records ORDER BY 1")]
        assert stored == ["oai:x:a", "oai:x:b"]
        saved = store.conn.execute("SELECT token, pages FROM harvest_state").fetchone()
        assert tuple(saved) == ("t1", 1)
    finally:
        client.close()
        store.close()
