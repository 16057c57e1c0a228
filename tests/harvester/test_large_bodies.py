"""Large and hostile bodies: spooled to a temporary file past spool_bytes, read and written
in parts, bounded in memory, and not fetched again when they break the same way twice.

Real servers on 127.0.0.1 (tests/harvester/faults.py); the memory test runs a real
`oai harvest` and reads its peak RSS (and its page process's) from the kernel.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import sys
from pathlib import Path

from harvester.feed import PART_RECORDS
from tests.harvester import bodies, faults
from tests.harvester.faults import FaultServer, Reply, Stream
from tests.harvester.harness import PAGE, SETTINGS, harvest
from tests.harvester.remote import Mirror

SPOOLING = dataclasses.replace(SETTINGS, spool_bytes=64 * 1024, max_response_bytes=8 << 20)
RECORDS = 2500  # more than two parts


def _identifiers(prefix: str, count: int) -> list[str]:
    return [f"oai:{prefix}:{i:05d}" for i in range(count)]


def _stream(count: int, *, chunked: bool = True, complete: bool = False) -> Stream:
    """A ListRecords body of `count` records (the same one again and again) cut off in the
    middle of the next one."""
    head, _, _ = bodies.page([]).partition(b"</ListRecords>")
    record = bodies.record("oai:s:1").encode()
    return Stream(head, record, count, record[:60], chunked=chunked, complete=complete)


def _checkpoint(db: Path) -> tuple[int, str | None]:
    conn = sqlite3.connect(db)
    try:
        pages, token = conn.execute(
            "SELECT pages, token FROM harvest_state WHERE source = 'faulty'"
        ).fetchone()
    finally:
        conn.close()
    return int(pages), token


def _writes(db: Path, identifiers: str) -> int:
    """How many writes (transactions) stored these records: one per part of a page."""
    conn = sqlite3.connect(db)
    try:
        (count,) = conn.execute(
            "SELECT count(DISTINCT change_seq) FROM records WHERE identifier LIKE ?",
            [identifiers],
        ).fetchone()
    finally:
        conn.close()
    return int(count)


def test_a_large_page_is_read_and_written_in_parts(server: FaultServer, tmp_path: Path) -> None:
    big = bodies.page(_identifiers("x", RECORDS), "t1")
    assert len(big) > 4 * SPOOLING.spool_bytes
    server.play(Reply(big), Reply(bodies.page(["oai:y:1"])))
    outcome = harvest(server, tmp_path / "m.db", SPOOLING)
    assert (outcome.status, outcome.error) == ("completed", None)
    assert outcome.identifiers == [*_identifiers("x", RECORDS), "oai:y:1"]
    assert outcome.summary.counts.pages == 2
    assert outcome.summary.records_seen == RECORDS + 1
    assert outcome.summary.counts.records.added == RECORDS + 1
    assert _writes(tmp_path / "m.db", "oai:x:%") == 3  # 1,000 + 1,000 + 500 records


def test_the_page_process_sends_a_large_page_in_parts(server: FaultServer, tmp_path: Path) -> None:
    server.play(Reply(bodies.page(_identifiers("x", RECORDS))))
    mirror = Mirror.create(
        tmp_path / "mirror", "[harvester]\nspool_bytes = 65536\nmax_response_bytes = 8388608\n"
    )
    result = mirror.run("harvest", "--url", server.url, "--name", "faulty")
    assert result.exit_code == 0, result.output
    assert f"faulty: completed: {RECORDS} added" in result.stdout
    assert _checkpoint(mirror.db) == (0, None)  # the list is closed
    (count,) = sqlite3.connect(mirror.db).execute("SELECT count(*) FROM records").fetchone()
    assert count == RECORDS
    assert _writes(mirror.db, "oai:x:%") == 3  # 1,000 + 1,000 + 500 records


def test_parts_written_before_a_break_stay_and_the_checkpoint_does_not_move(
    server: FaultServer, tmp_path: Path
) -> None:
    # Ended by closing the connection, the cut is only seen by the parser, after two parts
    # are written; the same broken answer again is not fetched a third time.
    broken = _stream(2 * PART_RECORDS + 10, chunked=False)
    server.play(broken, broken)
    outcome = harvest(server, tmp_path / "m.db", SPOOLING)
    assert outcome.status == "failed"
    assert outcome.error is not None and "twice in a row, not fetched again" in outcome.error
    assert len(server.list_requests()) == 2
    assert outcome.identifiers == ["oai:s:1"]  # written by the parts: what was read whole
    assert _checkpoint(tmp_path / "m.db") == (0, None)
    # The next run asks for the page again, and reads it whole.
    server.play(Reply(bodies.page(["oai:s:1", "oai:s:2"])))
    again = harvest(server, tmp_path / "m.db", SPOOLING)
    assert again.status == "completed"
    assert again.identifiers == ["oai:s:1", "oai:s:2"]


def test_a_large_page_fetched_again_after_a_break_counts_its_records_once(
    server: FaultServer, tmp_path: Path
) -> None:
    # Two parts are written from the broken answer; the page fetched again is read whole.
    big = bodies.page(_identifiers("x", RECORDS))
    server.play(_stream(2 * PART_RECORDS + 10, chunked=False), Reply(big))
    outcome = harvest(server, tmp_path / "m.db", SPOOLING)
    assert (outcome.status, outcome.error) == ("completed", None)
    assert outcome.retries == 1
    assert outcome.summary.records_seen == RECORDS  # not the broken answer's parts again


def test_a_body_cut_at_the_same_byte_twice_is_not_fetched_a_third_time(
    server: FaultServer, tmp_path: Path
) -> None:
    cut = _stream(3000)
    server.play(cut, cut, Reply(PAGE))
    outcome = harvest(server, tmp_path / "m.db", SPOOLING)
    assert outcome.status == "failed"
    assert outcome.error is not None and f"cut off at byte {cut.size} twice" in outcome.error
    assert len(server.list_requests()) == 2
    assert outcome.identifiers == []


def test_bodies_cut_at_different_bytes_are_retried(server: FaultServer, tmp_path: Path) -> None:
    server.play(_stream(3000), _stream(2000), Reply(PAGE))
    outcome = harvest(server, tmp_path / "m.db", SPOOLING)
    assert (outcome.status, outcome.error) == ("completed", None)
    assert outcome.retries == 2
    assert outcome.identifiers == ["oai:x:1", "oai:x:2"]


def test_a_body_announced_over_the_cap_is_not_read(server: FaultServer, tmp_path: Path) -> None:
    over = b" " * (SETTINGS.max_response_bytes + 1)
    server.play(Reply(over), Reply(PAGE))
    outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "failed"
    assert outcome.error is not None and "larger than max_response_bytes" in outcome.error
    assert len(server.list_requests()) == 1


# Runs a command and prints the peak RSS (KiB) of it and of every process it waited for.
_PEAK = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL,"
    " stderr=subprocess.PIPE).returncode\n"
    "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def _peak_rss(mirror: Mirror, url: str) -> tuple[int, int]:
    """(exit code, peak RSS in KiB) of `oai harvest` and its page process."""
    command = mirror.command("harvest", "--url", url, "--name", "faulty")
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, *command],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    code, peak = done.stdout.split()
    return int(code), int(peak)


def test_a_150_mb_body_cut_mid_record_adds_little_memory(
    server: FaultServer, tmp_path: Path
) -> None:
    server.play(Reply(PAGE))
    code, normal = _peak_rss(Mirror.create(tmp_path / "normal"), server.url)
    assert code == 0
    hostile = _stream(150_000_000 // len(bodies.record("oai:s:1")))
    assert hostile.size > 149_000_000
    server.play(hostile, hostile)
    code, peak = _peak_rss(Mirror.create(tmp_path / "hostile"), server.url)
    assert code == 1
    assert len(server.list_requests()) == 3  # the normal page, then the cut body twice
    print(f"peak RSS: normal harvest {normal} KiB, 150 MB cut body {peak} KiB")
    assert peak - normal < 50 * 1024, (normal, peak)


def test_an_answer_held_in_memory_announced_past_spool_bytes_is_not_read(
    tmp_path: Path,
) -> None:
    """Identify and ListSets are held in memory, never spooled: one announced larger than
    spool_bytes (below max_response_bytes) is refused before a byte of it is read."""
    big = b" " * (SPOOLING.spool_bytes + 1)
    with faults.running(identify=bodies.identify()) as server:
        server.list_sets = big
        server.play(Reply(PAGE))
        outcome = harvest(server, tmp_path / "m.db", SPOOLING)
    assert (outcome.status, outcome.identifiers) == ("completed", ["oai:x:1", "oai:x:2"])
    (warning,) = [w for w in outcome.warnings if "ListSets" in w]
    assert f"Content-Length {len(big)} is larger than spool_bytes" in warning, warning
