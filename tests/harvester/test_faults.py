"""The real harvester against a server failing on cue: retries, Retry-After, limits, redirects.

Each test scripts the fault server (tests/harvester/faults.py), runs SourceHarvest with the
real Client over 127.0.0.1 (tests/harvester/harness.py), and asserts what the store and the
run history say. Waits are recorded by an injected `sleep`, never slept.
"""

from __future__ import annotations

import dataclasses
import gzip
import subprocess
import sys
import threading
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from harvester.client import Client
from harvester.errors import FetchError, Interrupted
from harvester.identify import format_namespace
from harvester.persist import RunCounts
from harvester.run import SourceHarvest
from harvester.settings import SourceSettings
from harvester.stopping import RunStop
from oai.cli import main
from store.db import open_store
from tests.harvester import bodies
from tests.harvester.faults import (
    Action,
    Drop,
    Endless,
    FaultServer,
    Reply,
    Request,
    Stall,
    Truncate,
    running,
)
from tests.harvester.harness import PAGE, SETTINGS, harvest

# -- retried, then succeeded -------------------------------------------------------------

RETRIED: dict[str, Action] = {
    "503": Reply(b"busy", status=503, content_type="text/plain"),
    "500": Reply(b"oops", status=500, content_type="text/plain"),
    "429 without Retry-After": Reply(b"slow down", status=429, content_type="text/plain"),
    "dropped connection": Drop(),
    "truncated body (Content-Length larger)": Truncate(PAGE, len(PAGE) // 2),
    "slower than the read timeout": Stall(3.0, Reply(PAGE)),
    "gzip announced, plain body sent": Reply(PAGE, headers=(("Content-Encoding", "gzip"),)),
}


@pytest.mark.parametrize("fault", RETRIED.values(), ids=RETRIED.keys())
def test_a_transient_fault_is_retried_and_the_page_stored(
    server: FaultServer, tmp_path: Path, fault: Action
) -> None:
    server.play(fault, Reply(PAGE))
    outcome = harvest(server, tmp_path / "m.db")
    assert (outcome.status, outcome.error) == ("completed", None)
    assert outcome.identifiers == ["oai:x:1", "oai:x:2"]
    assert outcome.retries == outcome.summary.counts.retries == 1
    assert len(outcome.waits) == 1 and 0 < outcome.waits[0] <= 1.5  # first backoff, jittered
    assert not server.script


def test_a_body_cut_short_without_a_length_is_fetched_again(
    server: FaultServer, tmp_path: Path
) -> None:
    # The connection closes mid-document with an honest Content-Length: transport is fine,
    # the XML is not, and no record of the half page may be saved from it.
    server.play(Reply(PAGE[: PAGE.index(b"</record>") + 30]), Reply(PAGE))
    outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "completed"
    assert outcome.identifiers == ["oai:x:1", "oai:x:2"]
    assert outcome.retries == 1 and len(server.list_requests()) == 2


@pytest.mark.parametrize(
    "body",
    [b"", b"<html><body>Down for maintenance</body></html>", b"<OAI-PMH"],
    ids=["empty", "HTML with 200", "cut after five bytes"],
)
def test_an_answer_that_never_becomes_readable_fails_the_run(
    server: FaultServer, tmp_path: Path, body: bytes
) -> None:
    server.play(*[Reply(body)] * SETTINGS.max_attempts)
    outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "failed"
    assert outcome.error is not None and "?verb=ListRecords" in outcome.error
    assert outcome.retries == SETTINGS.max_attempts - 1
    assert not server.script and outcome.identifiers == []


# -- Retry-After ---------------------------------------------------------------------------


def test_retry_after_in_seconds_is_honoured(server: FaultServer, tmp_path: Path) -> None:
    server.play(
        Reply(b"", status=503, headers=(("Retry-After", "7"),)),
        Reply(b"", status=429, headers=(("Retry-After", "3"),)),
        Reply(PAGE),
    )
    outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "completed"
    assert outcome.waits == [7.0, 3.0]
    assert outcome.retries == 2


def test_retry_after_as_an_http_date_is_honoured(server: FaultServer, tmp_path: Path) -> None:
    when = formatdate(time.time() + 120, usegmt=True)
    server.play(Reply(b"", status=503, headers=(("Retry-After", when),)), Reply(PAGE))
    outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "completed"
    (wait,) = outcome.waits
    assert 115 <= wait <= 120  # the date has whole seconds; the clock moved a little


def test_retry_after_beyond_the_limit_fails_at_once(server: FaultServer, tmp_path: Path) -> None:
    server.play(Reply(b"", status=503, headers=(("Retry-After", "86400"),)))
    outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "failed"
    assert outcome.error is not None and "max_retry_after" in outcome.error
    assert outcome.waits == [] and outcome.identifiers == []


def test_retry_after_beyond_the_budget_fails(server: FaultServer, tmp_path: Path) -> None:
    server.play(Reply(b"", status=503, headers=(("Retry-After", "60"),)))
    outcome = harvest(server, tmp_path / "m.db", replace(SETTINGS, retry_budget=30))
    assert outcome.status == "failed"
    assert outcome.error is not None and "after 1 attempts" in outcome.error
    assert outcome.waits == []


# -- giving up -----------------------------------------------------------------------------


def test_gives_up_after_max_attempts_and_keeps_earlier_pages(
    server: FaultServer, tmp_path: Path
) -> None:
    db = tmp_path / "m.db"
    busy = Reply(b"busy", status=503, content_type="text/plain")
    server.play(Reply(bodies.page(["oai:x:1"], "t1")), busy, busy, busy)
    failed = harvest(server, db)
    assert failed.status == "failed" == failed.summary.status
    assert failed.error is not None and "HTTP 503 after 3 attempts" in failed.error
    assert failed.identifiers == ["oai:x:1"]  # the first page stays stored
    assert failed.retries == 2 and len(failed.waits) == 2
    # The next run resumes from the saved token and completes the list.
    server.play(Reply(bodies.page(["oai:x:2"])))
    resumed = harvest(server, db)
    assert resumed.status == "completed"
    assert resumed.identifiers == ["oai:x:1", "oai:x:2"]
    assert server.list_requests()[-1].params == {"verb": "ListRecords", "resumptionToken": "t1"}


def test_a_server_that_never_answers_in_time_fails(server: FaultServer, tmp_path: Path) -> None:
    stall = Stall(3.0, Reply(PAGE))
    server.play(stall, stall)
    outcome = harvest(server, tmp_path / "m.db", replace(SETTINGS, max_attempts=2))
    assert outcome.status == "failed"
    assert outcome.error is not None and "after 2 attempts" in outcome.error
    assert "no answer within the read timeout" in outcome.error


def test_a_redirect_is_followed(server: FaultServer, tmp_path: Path) -> None:
    moved = f"{server.url}?verb=ListRecords&metadataPrefix=oai_dc&moved=1"
    server.play(Reply(b"", status=301, headers=(("Location", moved),)), Reply(PAGE))
    outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "completed" and len(outcome.identifiers) == 2
    assert server.list_requests()[-1].params.get("moved") == "1"


@pytest.mark.parametrize(
    ("location", "problem"),
    [
        ("{url}?verb=ListRecords&metadataPrefix=oai_dc", "TooManyRedirects"),
        ("ftp://127.0.0.1/oai", "InvalidSchema"),
    ],
    ids=["redirect loop", "redirect away from HTTP"],
)
def test_a_redirect_that_leads_nowhere_fails_at_once(
    server: FaultServer, tmp_path: Path, location: str, problem: str
) -> None:
    # Before client.py caught requests.RequestException these escaped the run unrecorded.
    redirect = Reply(b"", status=302, headers=(("Location", location.format(url=server.url)),))
    server.play(*[redirect] * 31)  # requests gives up after 30 redirects
    outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "failed"
    assert outcome.error is not None and problem in outcome.error
    assert outcome.waits == []


def test_a_status_that_is_not_retried_fails_at_once(server: FaultServer, tmp_path: Path) -> None:
    server.play(Reply(b"<html>gone</html>", status=410, content_type="text/html"))
    outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "failed"
    assert outcome.error is not None and "HTTP 410, not retried" in outcome.error
    assert outcome.waits == []


# -- size cap ------------------------------------------------------------------------------


def test_an_endless_body_is_cut_off_in_bounded_memory(server: FaultServer) -> None:
    server.play(Endless())
    client = Client(server.url, SETTINGS, sleep=lambda _: None)
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="larger than 1048576 bytes"):
            client.fetch({"verb": "ListRecords", "metadataPrefix": "oai_dc"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        client.close()
    assert peak < 8 * SETTINGS.max_response_bytes
    assert client.retries == 0  # a body too large is not fetched again


def test_a_compressed_body_is_capped_after_decompression(
    server: FaultServer, tmp_path: Path
) -> None:
    bomb = gzip.compress(b" " * (16 << 20))  # 16 MiB of spaces in about 16 KiB
    server.play(Reply(bomb, headers=(("Content-Encoding", "gzip"),)))
    outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "failed"
    assert outcome.error is not None and "larger than 1048576 bytes" in outcome.error


def test_an_endless_body_fails_the_run(server: FaultServer, tmp_path: Path) -> None:
    server.play(Endless())
    outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "failed"
    assert outcome.error is not None and "cut off" in outcome.error


# -- through the command line ----------------------------------------------------------------


def _config(tmp_path: Path, **harvester: int) -> Path:
    path = tmp_path / "config.toml"
    lines = ["[harvester]"] + [f"{key} = {value}" for key, value in harvester.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _harvest_cli(config: Path, db: Path, url: str) -> Result:
    args = ["--config", str(config), "--db", str(db), "harvest", "--url", url, "--name", "faulty"]
    return CliRunner().invoke(main, args)


def test_cli_harvest_retries_and_reports(server: FaultServer, tmp_path: Path) -> None:
    # Retry-After: 0 lets the real sleep run without waiting.
    server.play(Reply(b"", status=503, headers=(("Retry-After", "0"),)), Reply(PAGE))
    config = _config(tmp_path, read_timeout=1, max_attempts=2, max_response_bytes=65536)
    result = _harvest_cli(config, tmp_path / "m.db", server.url)
    assert result.exit_code == 0, result.output
    assert "faulty: completed: 2 added" in result.stdout
    assert "1 retries" in result.stdout


def test_cli_harvest_of_an_endless_body_exits_1_with_the_error(
    server: FaultServer, tmp_path: Path
) -> None:
    server.play(Endless())
    config = _config(tmp_path, read_timeout=1, max_attempts=2, max_response_bytes=65536)
    result = _harvest_cli(config, tmp_path / "m.db", server.url)
    assert result.exit_code == 1
    assert "error: faulty:" in result.stderr
    assert "larger than 65536 bytes" in result.stderr


def test_a_trickling_body_is_cut_at_the_response_deadline_and_retried(
    server: FaultServer, tmp_path: Path
) -> None:
    # Each read returns well inside read_timeout (1 s); only the whole-body deadline stops it.
    settings = dataclasses.replace(SETTINGS, response_timeout=1)
    server.play(Endless(chunk=b"<x>a</x>", pause=0.05), Reply(PAGE))
    started = time.monotonic()
    outcome = harvest(server, tmp_path / "m.db", settings)
    assert (outcome.status, outcome.error) == ("completed", None)
    assert outcome.retries == 1
    assert outcome.identifiers == ["oai:x:1", "oai:x:2"]
    assert time.monotonic() - started < 10


def test_a_list_ended_early_does_not_wait_out_a_retry_after(
    server: FaultServer, tmp_path: Path
) -> None:
    # The page process fetches ahead; when the list ends at the page cap, its wait for a
    # Retry-After of 40 s on the next page is cut short, not sat out.
    server.play(
        Reply(bodies.page(["oai:x:1"], "t1")),
        Reply(b"", status=503, headers=(("Retry-After", "40"),)),
    )
    config = _config(tmp_path, page_cap=1, max_attempts=3)
    started = time.monotonic()
    result = _harvest_cli(config, tmp_path / "m.db", server.url)
    assert result.exit_code == 0, result.output
    assert "page cap of 1 reached" in result.stdout
    assert time.monotonic() - started < 20


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text(encoding="ascii").split()
        found.extend(int(child) for child in text)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_page_process_ends_when_the_harvest_is_killed(
    server: FaultServer, tmp_path: Path
) -> None:
    # Pages come slowly, so the harvest is mid-list when it is killed with SIGKILL.
    server.play(*(Stall(0.3, Reply(bodies.page([f"oai:x:{i}"], f"t{i}"))) for i in range(40)))
    config = _config(tmp_path, read_timeout=5)
    command = [
        sys.executable,
        "-m",
        "oai",
        "--config",
        str(config),
        "--db",
        str(tmp_path / "m.db"),
        "harvest",
        "--url",
        server.url,
        "--name",
        "faulty",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        children: list[int] = []
        while not children and time.monotonic() < deadline:
            time.sleep(0.2)
            children = [c for c in _children(process.pid) if _alive(c)]
        assert children, "the page process never started"
        time.sleep(1.0)
    finally:
        process.kill()
        process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(c) for c in children), "the page process outlived its harvest"


def test_another_format_learns_its_namespace_from_list_metadata_formats(tmp_path: Path) -> None:
    formats = (
        b'<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        b"<responseDate>2024-05-01T12:00:00Z</responseDate><request>x</request>"
        b"<ListMetadataFormats><metadataFormat><metadataPrefix>marcxml</metadataPrefix>"
        b"<schema>http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd</schema>"
        b"<metadataNamespace>http://www.loc.gov/MARC21/slim</metadataNamespace>"
        b"</metadataFormat></ListMetadataFormats></OAI-PMH>"
    )

    def route(request: Request) -> Action:
        if request.verb == "Identify":
            return Reply(bodies.identify())
        if request.verb == "ListMetadataFormats":
            return Reply(formats)
        return Reply(PAGE)

    with running(route=route) as server:
        store = open_store(tmp_path / "m.db")
        client = Client(server.url, SETTINGS, sleep=lambda _: None)
        try:
            summary = SourceHarvest(
                store,
                SourceSettings("marc", server.url, metadata_prefix="marcxml"),
                client,
                SETTINGS,
                repository_identifier="repository.example.org",
                clock=lambda: datetime.now(UTC),
            ).run()
            assert summary.status == "completed"
            (namespace,) = store.conn.execute(
                "SELECT metadata_namespace FROM sources WHERE name = 'marc'"
            ).fetchone()
            xml = store.conn.execute("SELECT record_xml FROM records LIMIT 1").fetchone()[0]
        finally:
            client.close()
            store.close()
    assert namespace == "http://www.loc.gov/MARC21/slim"
    assert b"<metadataNamespace>http://www.loc.gov/MARC21/slim</metadataNamespace>" in xml


def test_requests_are_spaced_by_the_politeness_delay(server: FaultServer) -> None:
    waits: list[float] = []
    settings = dataclasses.replace(SETTINGS, politeness_delay=5.0)
    server.play(Reply(PAGE), Reply(PAGE))
    client = Client(server.url, settings, sleep=waits.append)
    try:
        client.fetch({"verb": "ListRecords", "metadataPrefix": "oai_dc"})
        client.fetch({"verb": "ListRecords", "resumptionToken": "t"})
    finally:
        client.close()
    assert len(waits) == 1 and 4.0 < waits[0] <= 5.0


def test_an_interrupt_during_list_metadata_formats_is_not_taken_for_its_failure(
    server: FaultServer,
) -> None:
    # ListMetadataFormats failing is only a warning; being stopped must still stop the run.
    server.play(Stall(0.8, Reply(bodies.identify())))
    interrupt = threading.Event()
    threading.Timer(0.2, interrupt.set).start()  # SIGINT while the answer is awaited
    client = Client(server.url, SETTINGS, sleep=lambda _: None, stop=RunStop(interrupt))
    try:
        with pytest.raises(Interrupted):
            format_namespace(client, "marc", RunCounts())
    finally:
        client.close()


def test_identify_and_list_sets_get_the_repairs_a_page_gets(tmp_path: Path) -> None:
    """Text before the root and characters XML forbids, as real servers send them, are
    repaired in Identify and ListSets answers as they are in pages."""
    broken_identify = b"Warning: session started\n" + bodies.identify().replace(
        b"Fault server", b"Fault\x0b server"
    )
    sets = bodies.list_sets([("a", "Set\x01 A", "")])
    with running(identify=broken_identify) as server:
        server.list_sets = b"junk before the root\n" + sets
        server.play(Reply(PAGE))
        outcome = harvest(server, tmp_path / "m.db")
    assert (outcome.status, outcome.error, outcome.warnings) == ("completed", None, [])
    assert outcome.identifiers == ["oai:x:1", "oai:x:2"] and outcome.summary.sets == 1
    store = open_store(tmp_path / "m.db")
    try:
        (name,) = store.conn.execute(
            "SELECT repository_name FROM sources WHERE name != 'local'"
        ).fetchone()
        (set_name,) = store.conn.execute("SELECT set_name FROM sets").fetchone()
    finally:
        store.close()
    assert (name, set_name) == ("Fault server", "Set A")
