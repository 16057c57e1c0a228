"""Running the real harvester once against a fault server, and reading what it left.

SourceHarvest with the real Client over 127.0.0.1; waits are recorded by an injected
`sleep`, never slept. The store is then read back: the run row, the records, the state.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harvester.client import Client
from harvester.jobs import HarvestJob, harvest_all
from harvester.persist import PageWork
from harvester.run import RunSummary, SourceHarvest
from harvester.settings import HarvesterSettings, SourceSettings
from store.db import open_store
from tests.harvester import bodies
from tests.harvester.faults import FaultServer

REPOSITORY_IDENTIFIER = "repository.example.org"
SETTINGS = HarvesterSettings(
    connect_timeout=1,
    read_timeout=1,
    max_attempts=3,
    retry_budget=1000,
    max_retry_after=600,
    max_response_bytes=1 << 20,
    page_cap=50,
    empty_page_limit=3,
)
PAGE = bodies.page(["oai:x:1", "oai:x:2"])


@dataclass(frozen=True)
class Outcome:
    """What one harvest run left behind."""

    summary: RunSummary
    waits: list[float]
    status: str
    error: str | None
    retries: int
    warnings: list[str]
    identifiers: list[str]
    next_from: str | None
    dump: str


def harvest(
    server: FaultServer,
    db: Path,
    settings: HarvesterSettings = SETTINGS,
    *,
    from_: str | None = None,
    full: bool = False,
) -> Outcome:
    """Run SourceHarvest once against the server into `db`."""
    store = open_store(db)
    waits: list[float] = []
    client = Client(server.url, settings, sleep=waits.append, rng=random.Random(7))  # noqa: S311 - jitter
    try:
        summary = SourceHarvest(
            store,
            SourceSettings("faulty", server.url, from_=from_),
            client,
            settings,
            repository_identifier=REPOSITORY_IDENTIFIER,
            full=full,
            clock=lambda: datetime.now(UTC),
        ).run()
        conn = store.conn
        status, error, retries, warnings = conn.execute(
            "SELECT status, error, retries, warnings FROM harvest_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        identifiers = [
            str(row[0])
            for row in conn.execute(
                "SELECT identifier FROM records WHERE source = 'faulty' ORDER BY identifier"
            )
        ]
        (next_from,) = conn.execute(
            "SELECT next_from FROM harvest_state WHERE source = 'faulty'"
        ).fetchone()
        dump = "\n".join(conn.iterdump())
    finally:
        client.close()
        store.close()
    return Outcome(
        summary,
        waits,
        status,
        error,
        retries,
        json.loads(warnings),
        identifiers,
        next_from,
        dump,
    )


def harvest_in_page_process(
    url: str, db: Path, work: PageWork, settings: HarvesterSettings = SETTINGS
) -> RunSummary:
    """One run of source "src" at `url` into `db` as `oai harvest` makes it (harvest_all):
    pages fetched and prepared by a page process, `work` done with each."""
    (summary,) = harvest_all(
        str(db),
        [HarvestJob(SourceSettings("src", url))],
        settings,
        REPOSITORY_IDENTIFIER,
        1,
        work=work,
    )
    return summary
