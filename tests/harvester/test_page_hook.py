"""The page hook: per-page work handed to the harvester, inside each page's transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from harvester.client import Client
from harvester.run import RunSummary, SourceHarvest
from harvester.settings import HarvesterSettings, SourceSettings
from store.batches import placeholders
from store.db import Store, open_store
from store.writes import PreparedRecord
from tests.harvester import bodies
from tests.harvester.faults import FaultServer, Reply

SETTINGS = HarvesterSettings(max_attempts=1)


class Hook:
    """Records what each page's hook call saw; refuses the page numbered `fail_on`."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.fail_on = fail_on
        self.calls: list[tuple[bool, list[str], list[str]]] = []

    def __call__(self, conn: sqlite3.Connection, records: Sequence[PreparedRecord]) -> None:
        identifiers = [r.identifier for r in records]
        stored = conn.execute(
            f"SELECT identifier FROM records WHERE identifier IN ({placeholders(records)})"
            " ORDER BY identifier",
            identifiers,
        ).fetchall()
        self.calls.append((conn.in_transaction, identifiers, [str(r[0]) for r in stored]))
        if len(self.calls) == self.fail_on:
            raise sqlite3.OperationalError("the page hook refused")


def _harvest(store: Store, server: FaultServer, hook: Hook) -> RunSummary:
    client = Client(server.url, SETTINGS, sleep=lambda _: None)
    try:
        return SourceHarvest(
            store,
            SourceSettings("src", server.url),
            client,
            SETTINGS,
            repository_identifier="repository.example.org",
            clock=lambda: datetime.now(UTC),
            on_page=hook,
        ).run()
    finally:
        client.close()


def _play_two_pages(server: FaultServer) -> None:
    server.play(
        Reply(bodies.page(["oai:x:1", "oai:x:2"], "t1", size=4)),
        Reply(bodies.page(["oai:x:3", "oai:x:4"], size=4)),
    )


def test_the_hook_sees_each_page_written_inside_its_transaction(
    server: FaultServer, tmp_path: Path
) -> None:
    _play_two_pages(server)
    hook = Hook()
    store = open_store(tmp_path / "m.db")
    try:
        assert _harvest(store, server, hook).status == "completed"
    finally:
        store.close()
    assert hook.calls == [
        (True, ["oai:x:1", "oai:x:2"], ["oai:x:1", "oai:x:2"]),
        (True, ["oai:x:3", "oai:x:4"], ["oai:x:3", "oai:x:4"]),
    ]


def test_a_failing_hook_rolls_its_page_back_and_keeps_the_pages_before(
    server: FaultServer, tmp_path: Path
) -> None:
    _play_two_pages(server)
    store = open_store(tmp_path / "m.db")
    try:
        summary = _harvest(store, server, Hook(fail_on=2))
        assert summary.status == "failed"
        assert summary.error is not None and "the page hook refused" in summary.error
        stored = [r[0] for r in store.conn.execute("SELECT identifier FROM records ORDER BY 1")]
        assert stored == ["oai:x:1", "oai:x:2"]
        saved = store.conn.execute("SELECT token, pages FROM harvest_state").fetchone()
        assert tuple(saved) == ("t1", 1)  # the next run starts again at the refused page
    finally:
        store.close()
