"""Lists that misbehave: token loops, empty pages, OAI errors in HTTP 422, restarts.

The real harvester against the scripted fault server (tests/harvester/faults.py); what
the run stored and warned about is read back from the store (tests/harvester/harness.py).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harvester.client import Client
from harvester.run import SourceHarvest
from harvester.settings import SourceSettings
from store.db import open_store
from tests.harvester import bodies
from tests.harvester.faults import FaultServer, Reply
from tests.harvester.harness import PAGE, REPOSITORY_IDENTIFIER, SETTINGS, harvest

# -- list guards ---------------------------------------------------------------------------

GUARDED: dict[str, tuple[list[bytes], list[str], str]] = {
    "same token again": (
        [bodies.page(["oai:x:1"], "t"), bodies.page(["oai:x:2"], "t")],
        ["oai:x:1", "oai:x:2"],
        "twice",
    ),
    "tokens in a cycle": (
        [
            bodies.page(["oai:x:1"], "t1"),
            bodies.page(["oai:x:2"], "t2"),
            bodies.page(["oai:x:3"], "t1"),
        ],
        ["oai:x:1", "oai:x:2", "oai:x:3"],
        "twice",
    ),
    "empty pages with tokens": (
        [bodies.page(["oai:x:1"], "t1")] + [bodies.page([], f"e{i}") for i in range(3)],
        ["oai:x:1"],
        "3 empty pages in a row",
    ),
    "page cap": (
        [bodies.page([f"oai:x:{i}"], f"t{i}") for i in range(50)],
        [f"oai:x:{i}" for i in range(50)],
        "page cap of 50 reached",
    ),
}


@pytest.mark.parametrize(("pages", "stored", "why"), GUARDED.values(), ids=GUARDED.keys())
def test_a_list_that_would_not_end_stops_with_a_warning(
    server: FaultServer, tmp_path: Path, pages: list[bytes], stored: list[str], why: str
) -> None:
    server.play(*(Reply(p) for p in pages))
    outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "completed"
    assert sorted(outcome.identifiers) == sorted(stored)
    assert any("list ended early" in w and why in w for w in outcome.warnings), outcome.warnings
    assert not server.script  # every scripted page asked for, and nothing more
    assert outcome.next_from is None  # the next run asks from the same date again


# -- OAI errors, noRecordsMatch, badResumptionToken ------------------------------------------


@pytest.mark.parametrize("status", [200, 422])
def test_no_records_match_is_a_successful_empty_harvest(
    server: FaultServer, tmp_path: Path, status: int
) -> None:
    server.play(Reply(bodies.error("noRecordsMatch"), status=status))
    outcome = harvest(server, tmp_path / "m.db")
    assert (outcome.status, outcome.error, outcome.identifiers) == ("completed", None, [])
    assert outcome.next_from == "2024-05-01T11:59:00Z"  # RESPONSE_DATE less the overlap
    assert outcome.retries == 0


def test_http_422_with_an_oai_error_is_read_as_that_error(
    server: FaultServer, tmp_path: Path
) -> None:
    # Zenodo (InvenioRDM) answers OAI errors with HTTP 422 (oaipmh-scythe cassettes).
    server.play(Reply(bodies.error("badArgument", "from is not a date"), status=422))
    outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "failed"
    assert outcome.error == "badArgument: from is not a date"
    assert outcome.retries == 0


def test_http_422_without_an_oai_body_is_a_transport_failure(
    server: FaultServer, tmp_path: Path
) -> None:
    server.play(Reply(b"<html>no</html>", status=422, content_type="text/html"))
    outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "failed"
    assert outcome.error is not None and "HTTP 422, not retried" in outcome.error


@pytest.mark.parametrize("status", [200, 422])
def test_bad_resumption_token_restarts_the_list_with_its_arguments(
    server: FaultServer, tmp_path: Path, status: int
) -> None:
    server.play(
        Reply(bodies.page(["oai:x:1", "oai:x:2"], "t1")),
        Reply(bodies.error("badResumptionToken", "expired"), status=status),
        Reply(bodies.page(["oai:x:1", "oai:x:2"], "t2")),
        Reply(bodies.page(["oai:x:3"])),
    )
    outcome = harvest(server, tmp_path / "m.db", from_="2024-01-01T00:00:00Z")
    assert (outcome.status, outcome.error) == ("completed", None)
    assert outcome.identifiers == ["oai:x:1", "oai:x:2", "oai:x:3"]
    first = {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2024-01-01T00:00:00Z"}
    assert [r.params for r in server.list_requests()] == [
        first,
        {"verb": "ListRecords", "resumptionToken": "t1"},
        first,
        {"verb": "ListRecords", "resumptionToken": "t2"},
    ]


def test_a_list_whose_tokens_keep_failing_is_given_up(server: FaultServer, tmp_path: Path) -> None:
    bad = Reply(bodies.error("badResumptionToken"))
    server.play(*[item for _ in range(4) for item in (Reply(bodies.page(["oai:x:1"], "t")), bad)])
    outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error.startswith("badResumptionToken")
    assert outcome.identifiers == ["oai:x:1"]


# -- what the run loop must not do ---------------------------------------------------------


def test_an_unexpected_error_is_recorded_as_a_failed_run(
    server: FaultServer, tmp_path: Path
) -> None:
    server.play(Reply(PAGE))
    store = open_store(tmp_path / "m.db")
    client = Client(server.url, SETTINGS, sleep=lambda _: None)
    try:
        summary = SourceHarvest(
            store,
            SourceSettings("faulty", server.url),
            client,
            SETTINGS,
            repository_identifier=REPOSITORY_IDENTIFIER,
            until="not-a-date",
            clock=lambda: datetime.now(UTC),
        ).run()
        assert summary.status == "failed"
    finally:
        (status,) = store.conn.execute("SELECT status FROM harvest_runs").fetchone()
        client.close()
        store.close()
    assert status == "failed"


def test_a_restarted_list_still_reports_its_shortfall(server: FaultServer, tmp_path: Path) -> None:
    server.play(
        Reply(bodies.page(["oai:x:1", "oai:x:2"], "t1", size=4)),
        Reply(bodies.error("badResumptionToken")),
        Reply(bodies.page(["oai:x:1", "oai:x:2"], "t2", size=4)),
        Reply(bodies.page(["oai:x:3"], size=4)),  # oai:x:4 never comes
    )
    outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "completed"
    assert any("completeListSize 4, but 3 delivered" in w for w in outcome.warnings)


def _tombstoned(db: Path) -> list[str]:
    store = open_store(db)
    try:
        rows = store.conn.execute("SELECT identifier FROM records WHERE deleted = 1 ORDER BY 1")
        return [str(r[0]) for r in rows]
    finally:
        store.close()


def test_an_error_to_a_token_restarts_a_full_list_and_tombstones_nothing_wrongly(
    server: FaultServer, tmp_path: Path
) -> None:
    db = tmp_path / "m.db"
    server.play(Reply(bodies.page(["oai:x:1", "oai:x:2", "oai:x:3"])))
    assert harvest(server, db).status == "completed"
    server.play(
        Reply(bodies.page(["oai:x:1", "oai:x:2"], "t1", size=3)),
        Reply(bodies.error("noRecordsMatch")),  # mid-list: not the end of the list
        Reply(bodies.page(["oai:x:1", "oai:x:2"], "t2", size=3)),
        Reply(bodies.page(["oai:x:3"], size=3)),
    )
    outcome = harvest(server, db, full=True)
    assert (outcome.status, outcome.summary.counts.tombstoned) == ("completed", 0)
    assert _tombstoned(db) == []


def test_a_full_list_short_of_its_complete_list_size_tombstones_nothing(
    server: FaultServer, tmp_path: Path
) -> None:
    db = tmp_path / "m.db"
    server.play(Reply(bodies.page(["oai:x:1", "oai:x:2", "oai:x:3"])))
    harvest(server, db)
    server.play(Reply(bodies.page(["oai:x:1"], size=3)))  # a server ending the list early
    outcome = harvest(server, db, full=True)
    assert (outcome.status, outcome.summary.counts.tombstoned) == ("completed", 0)
    assert any("completeListSize 3, but 1 delivered" in w for w in outcome.warnings)
    assert _tombstoned(db) == []


def test_a_token_failing_run_after_run_is_given_up_for_the_whole_list(
    server: FaultServer, tmp_path: Path
) -> None:
    db = tmp_path / "m.db"
    settings = dataclasses.replace(SETTINGS, max_attempts=1)
    gone = Reply(b"gone", status=500, content_type="text/plain")
    server.play(Reply(bodies.page(["oai:x:1"], "t1")), gone)
    assert harvest(server, db, settings).status == "failed"
    server.play(gone)  # the saved token (no expirationDate) fails again
    assert harvest(server, db, settings).status == "failed"
    server.play(Reply(bodies.page(["oai:x:1"], "t1")), Reply(bodies.page(["oai:x:2"])))
    outcome = harvest(server, db, settings)
    assert (outcome.status, outcome.identifiers) == ("completed", ["oai:x:1", "oai:x:2"])
    assert "resumptionToken" not in server.list_requests()[-2].params  # the list was asked again


def test_a_record_quarantined_again_is_one_row(server: FaultServer, tmp_path: Path) -> None:
    broken = bodies.page(["oai:x:1"]).replace(
        b"<identifier>oai:x:1</identifier>", b"<identifier></identifier>"
    )
    db = tmp_path / "m.db"
    for _ in range(2):
        server.play(Reply(broken))
        assert harvest(server, db, full=True).summary.counts.quarantined == 1
    store = open_store(db)
    try:
        rows = store.conn.execute(
            "SELECT count(*), min(created_at) <= max(last_seen) FROM quarantine"
        )
        assert tuple(rows.fetchone()) == (1, 1)
    finally:
        store.close()
