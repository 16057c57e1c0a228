"""The page work handed to the harvester: prepared with each page, written in the page's
transaction for the records it changed, and given the writer's time between pages while the
page process waits for a slow server."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from harvester.client import Client
from harvester.feed import PAGES_AHEAD, ProcessFeed
from harvester.jobs import HarvestJob, harvest_all
from harvester.memory import peak_rss_kib
from harvester.run import RunSummary, SourceHarvest
from harvester.settings import HarvesterSettings, SourceSettings
from store.db import Store, open_store
from store.writes import PreparedRecord
from tests.harvester import bodies, faults
from tests.harvester.faults import FaultServer, Reply, Stall
from tests.harvester.harness import REPOSITORY_IDENTIFIER, harvest_in_page_process

SETTINGS = HarvesterSettings(max_attempts=1)


class Work:
    """A page work that records what each half saw; its write refuses the page numbered
    `fail_on`."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.fail_on = fail_on
        self.calls: list[tuple[bool, list[str], list[str], int]] = []
        # (seconds given, records stored then) of each idle() call.
        self.idle_calls: list[tuple[float, int]] = []

    def prepare(self, records: Sequence[PreparedRecord]) -> list[str]:
        return [r.identifier for r in records]

    def write(self, conn: sqlite3.Connection, change_seq: int, prepared: Any) -> None:
        written = conn.execute(
            "SELECT identifier FROM records WHERE change_seq = ? ORDER BY identifier",
            [change_seq],
        ).fetchall()
        total = conn.execute("SELECT count(*) FROM records").fetchone()[0]
        self.calls.append((conn.in_transaction, prepared, [str(r[0]) for r in written], total))
        if len(self.calls) == self.fail_on:
            raise sqlite3.OperationalError("the page work refused")

    def idle(self, store: Store, seconds: float) -> None:
        total = store.conn.execute("SELECT count(*) FROM records").fetchone()[0]
        self.idle_calls.append((seconds, total))


def _harvest(store: Store, server: FaultServer, work: Work) -> RunSummary:
    client = Client(server.url, SETTINGS, sleep=lambda _: None)
    try:
        return SourceHarvest(
            store,
            SourceSettings("src", server.url),
            client,
            SETTINGS,
            repository_identifier="repository.example.org",
            clock=lambda: datetime.now(UTC),
            work=work,
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
    work = Work()
    store = open_store(tmp_path / "m.db")
    try:
        assert _harvest(store, server, work).status == "completed"
    finally:
        store.close()
    # Each page prepared whole, and written with what was prepared for it.
    assert work.calls == [
        (True, ["oai:x:1", "oai:x:2"], ["oai:x:1", "oai:x:2"], 2),
        (True, ["oai:x:3", "oai:x:4"], ["oai:x:3", "oai:x:4"], 4),
    ]
    # Pages fetched when asked for: no time between them is the writer's to spend.
    assert work.idle_calls == []


def test_the_hook_is_given_only_what_a_page_changed(server: FaultServer, tmp_path: Path) -> None:
    store = open_store(tmp_path / "m.db")
    try:
        _play_two_pages(server)
        assert _harvest(store, server, Work()).status == "completed"
        # The same list again, with one record changed: the first page changed nothing.
        server.play(
            Reply(bodies.page(["oai:x:1", "oai:x:2"], "t1", size=4)),
            Reply(bodies.page(["oai:x:3", "oai:x:4"], size=4, titles={"oai:x:4": "Changed"})),
        )
        work = Work()
        summary = SourceHarvest(
            store,
            SourceSettings("src", server.url),
            Client(server.url, SETTINGS, sleep=lambda _: None),
            SETTINGS,
            repository_identifier="repository.example.org",
            clock=lambda: datetime.now(UTC),
            full=True,
            work=work,
        ).run()
        assert summary.status == "completed"
    finally:
        store.close()
    assert work.calls == [(True, ["oai:x:3", "oai:x:4"], ["oai:x:4"], 4)]


def test_a_failing_hook_rolls_its_page_back_and_keeps_the_pages_before(
    server: FaultServer, tmp_path: Path
) -> None:
    _play_two_pages(server)
    store = open_store(tmp_path / "m.db")
    try:
        summary = _harvest(store, server, Work(fail_on=2))
        assert summary.status == "failed"
        assert summary.error is not None and "the page work refused" in summary.error
        stored = [r[0] for r in store.conn.execute("SELECT identifier FROM records ORDER BY 1")]
        assert stored == ["oai:x:1", "oai:x:2"]
        saved = store.conn.execute("SELECT token, pages FROM harvest_state").fetchone()
        assert tuple(saved) == ("t1", 1)  # the next run starts again at the refused page
    finally:
        store.close()


def test_the_writer_gives_its_waiting_time_to_the_work(server: FaultServer, tmp_path: Path) -> None:
    """With pages fetched ahead by a page process from a server that takes its time, the
    writer offers the work the time until the process would wait for it: after each page
    but the last, once the pace is known."""
    pages = 8
    server.play(
        *(
            Stall(
                0.15,
                Reply(bodies.page([f"oai:x:{n}"], None if n == pages else f"t{n}", size=pages)),
            )
            for n in range(1, pages + 1)
        )
    )
    work = Work()
    summary = harvest_in_page_process(server.url, tmp_path / "m.db", work, SETTINGS)
    assert summary.status == "completed"
    assert len(work.calls) == pages
    assert work.idle_calls, "the writer never gave its waiting time"
    # The pace is measured over three pages before any time is given; none after the last.
    assert all(3 <= stored < pages for _, stored in work.idle_calls)
    # The page process runs PAGES_AHEAD pages ahead, each ~0.15 s apart.
    assert all(
        0.15 * PAGES_AHEAD * 0.8 < seconds < 0.15 * PAGES_AHEAD * 3
        for seconds, _ in work.idle_calls
    )


def test_the_page_process_started_with_the_run_ends_with_a_run_that_fails_before_its_list(
    tmp_path: Path,
) -> None:
    """The page process starts as the run does (its imports overlap Identify); a run that
    fails at Identify ends it too."""
    # The page processes alive as each request is answered (the server is a thread here).
    alive_at_requests: list[int] = []

    def down_with_a_count(_: faults.Request) -> Reply:
        alive_at_requests.append(len(multiprocessing.active_children()))
        return Reply(b"down", status=503)

    with faults.running(identify=None, route=down_with_a_count) as down:
        summary = harvest_in_page_process(down.url, tmp_path / "m.db", Work(), SETTINGS)
    assert summary.status == "failed" and "503" in (summary.error or "")
    assert alive_at_requests and all(n == 1 for n in alive_at_requests)  # one, from the start
    assert multiprocessing.active_children() == []


LARGE_PAGE = 400


def _play_large_pages(server: FaultServer, stall: float, pages: int = 8) -> int:
    """Play `pages` pages of LARGE_PAGE records, each answered after `stall` seconds."""
    server.play(
        *(
            Stall(
                stall,
                Reply(
                    bodies.page(
                        [f"oai:x:{n}-{i}" for i in range(LARGE_PAGE)],
                        None if n == pages else f"t{n}",
                        size=pages * LARGE_PAGE,
                    )
                ),
            )
            for n in range(1, pages + 1)
        )
    )
    return pages


def test_no_time_is_given_while_the_page_process_is_busy(
    server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against a server that answers at once with large pages, the page process reads
    all the time (it never waits for a page): the writer's time between pages would be
    taken from it, so none is given. The writer does ask, after every page."""
    answers: list[float] = []
    slack = ProcessFeed.slack

    def asked(feed: ProcessFeed) -> float:
        answers.append(slack(feed))
        return answers[-1]

    monkeypatch.setattr(ProcessFeed, "slack", asked)
    pages = _play_large_pages(server, stall=0.0)
    work = Work()
    summary = harvest_in_page_process(server.url, tmp_path / "m.db", work, SETTINGS)
    assert summary.status == "completed" and summary.records_seen == pages * LARGE_PAGE
    assert len(answers) >= pages - 1 and set(answers) == {0.0}
    assert work.idle_calls == []


class HungryWork(Work):
    """A page work whose preparing (in the page process) holds `mib` MiB for a moment."""

    def __init__(self, mib: int) -> None:
        super().__init__()
        self.mib = mib

    def prepare(self, records: Sequence[PreparedRecord]) -> list[str]:
        held = b"x" * (self.mib << 20)  # written, so resident
        assert len(held) == self.mib << 20
        return super().prepare(records)


def test_the_summary_gives_the_page_process_peak_memory(
    server: FaultServer, tmp_path: Path
) -> None:
    """The run's peak_rss_kib is the larger of this process's and the page process's: here
    the page process's, which held far more than this process ever has."""
    # Pages that take their time: the page process does the work only for pages it waited for.
    server.play(
        Stall(0.1, Reply(bodies.page(["oai:x:1", "oai:x:2"], "t1", size=4))),
        Stall(0.1, Reply(bodies.page(["oai:x:3", "oai:x:4"], size=4))),
    )
    hungry = (peak_rss_kib() >> 10) + 300  # MiB: well beyond this process's peak so far
    summary = harvest_in_page_process(server.url, tmp_path / "m.db", HungryWork(hungry), SETTINGS)
    assert summary.status == "completed"
    assert summary.peak_rss_kib >= hungry << 10
    assert peak_rss_kib() < hungry << 10


@pytest.mark.parametrize("stall", [0.0, 0.1])
def test_the_page_process_does_the_work_only_for_pages_it_waited_for(
    server: FaultServer, tmp_path: Path, stall: float
) -> None:
    """A page that is there when the page process asks for it (one is fetched ahead, and
    large pages take long to read) leaves its work to the works update: done in the page
    process, it would cost wall time. A page the process waited for gets it."""
    pages = _play_large_pages(server, stall)
    work = Work()
    summary = harvest_in_page_process(server.url, tmp_path / "m.db", work, SETTINGS)
    assert summary.status == "completed" and summary.records_seen == pages * LARGE_PAGE
    if stall:
        assert len(work.calls) == pages
    else:
        assert len(work.calls) < pages / 2


def _stored(db: Path) -> list[tuple[Any, ...]]:
    """Every record row as the provider and the works read it, with its set listings, the
    local datestamp (the time of writing) left out."""
    store = open_store(db)
    try:
        rows = store.conn.execute(
            "SELECT identifier, local_datestamp, local_identifier, datestamp, datestamp_raw,"
            " harvest_date, deleted, sets, metadata, metadata_xml, publishes_received,"
            " content_hash, (SELECT group_concat(set_spec, ' ') FROM record_sets s"
            " WHERE s.record_id = r.id AND s.local_datestamp = r.local_datestamp),"
            " header_xml, record_xml FROM records r ORDER BY identifier"
        ).fetchall()
    finally:
        store.close()
    found = []
    for identifier, stamp, *values, header, record in rows:
        local = f"<datestamp>{stamp}</datestamp>".encode()
        found.append((identifier, *values, header.replace(local, b""), record.replace(local, b"")))
    return found


@pytest.fixture
def read_by_writer(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs of the pages the writer reads itself (handed over unread), as they are."""
    read: list[str] = []
    read_here = ProcessFeed._read_here

    def counted(feed: ProcessFeed, message: Any) -> Any:
        read.append(message.url)
        return read_here(feed, message)

    monkeypatch.setattr(ProcessFeed, "_read_here", counted)
    return read


def test_pages_the_writer_waits_for_are_read_by_the_writer_and_stored_alike(
    server: FaultServer, tmp_path: Path, read_by_writer: list[str]
) -> None:
    """Against a server that answers at once the page process is the busier: a page it did
    not wait for goes to the writer unread while the writer waits, and the writer reads and
    prepares it. Every record is stored as a harvest without a page process stores it."""
    pages = _play_large_pages(server, stall=0.0, pages=12)
    summary = harvest_in_page_process(server.url, tmp_path / "shared.db", Work(), SETTINGS)
    assert summary.status == "completed" and summary.records_seen == pages * LARGE_PAGE
    assert read_by_writer, "the writer read no page"

    _play_large_pages(server, stall=0.0, pages=12)
    store = open_store(tmp_path / "inline.db")
    try:
        assert _harvest(store, server, Work()).status == "completed"
    finally:
        store.close()
    shared, inline = _stored(tmp_path / "shared.db"), _stored(tmp_path / "inline.db")
    assert len(shared) == pages * LARGE_PAGE
    assert shared == inline


def test_the_writer_reads_no_page_while_other_sources_are_harvested_at_once(
    server: FaultServer, tmp_path: Path, read_by_writer: list[str]
) -> None:
    """Sources harvested at once share one writing process: it reads no page of theirs
    (its time goes to every source), while each page process reads its own."""
    open_store(tmp_path / "m.db").close()  # migrated once, as `oai harvest` does first
    with faults.running(identify=bodies.identify()) as other:
        pages = _play_large_pages(server, stall=0.0, pages=12)
        _play_large_pages(other, stall=0.0, pages=12)
        summaries = harvest_all(
            str(tmp_path / "m.db"),
            [
                HarvestJob(SourceSettings("a", server.url)),
                HarvestJob(SourceSettings("b", other.url)),
            ],
            SETTINGS,
            REPOSITORY_IDENTIFIER,
            2,
            work=Work(),
        )
    assert [s.status for s in summaries] == ["completed", "completed"]
    assert all(s.records_seen == pages * LARGE_PAGE for s in summaries)
    assert read_by_writer == []
