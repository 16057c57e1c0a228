"""SIGINT and SIGTERM sent to a real `oai harvest`: it stops within seconds, commits whole
pages only, records its runs interrupted (no failure, checkpoint kept), prints its summary,
exits 130 or 143 without a traceback, and the next run resumes from the checkpoint."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from provider.settings import ProviderSettings
from tests.conftest import REPOSITORY_IDENTIFIER, filled_store_file, serve
from tests.harvester import bodies, faults
from tests.harvester.faults import MAX_ACTION_SECONDS, FaultServer, Reply, Stall
from tests.harvester.remote import Mirror, ProviderClock, committed_pages, mirrored, published
from tests.works.test_ahead import assert_same_as_full
from tests.xsd import ResponseValidator

PAGE_SIZE = 5


@pytest.fixture
def provider_db(tmp_path: Path) -> Path:
    return filled_store_file(tmp_path / "provider.db", extra_local=60)


def _last_run(db: Path) -> tuple[str, int, str | None]:
    conn = sqlite3.connect(db)
    try:
        status = conn.execute(
            "SELECT status FROM harvest_runs WHERE source = 'src' ORDER BY id DESC LIMIT 1"
        ).fetchone()[0]
        failures, token = conn.execute(
            "SELECT failures_in_row, token FROM harvest_state WHERE source = 'src'"
        ).fetchone()
    finally:
        conn.close()
    return str(status), int(failures), token


@dataclass(frozen=True)
class Stopped:
    """How a signalled `oai harvest` ended."""

    code: int
    stdout: str
    stderr: str
    seconds: float  # from the signal to the exit


def _signal_when(
    command: list[str], ready: Callable[[], bool], signum: int, *, group: bool = False
) -> Stopped:
    """Run `command`, send `signum` (to its process group with `group`) once `ready()`,
    and wait for it to end (killed after 15 s)."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not ready():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        sent = time.monotonic()
        if group:
            os.killpg(process.pid, signum)
        else:
            os.kill(process.pid, signum)
        stdout, stderr = process.communicate(timeout=15)
        return Stopped(process.returncode, stdout, stderr, time.monotonic() - sent)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.mark.parametrize(
    ("signum", "group", "code"),
    [(signal.SIGINT, False, 130), (signal.SIGTERM, True, 143), (signal.SIGINT, True, 130)],
    ids=["sigint-to-the-process", "sigterm-to-the-group", "sigint-to-the-group"],
)
def test_a_signal_stops_the_harvest_and_keeps_its_progress(
    tmp_path: Path,
    provider_db: Path,
    response_validator: ResponseValidator,
    signum: int,
    group: bool,
    code: int,
) -> None:
    mirror = Mirror.create(tmp_path / "mirror")
    settings = ProviderSettings(repository_identifier=REPOSITORY_IDENTIFIER, page_size=PAGE_SIZE)
    with serve(str(provider_db), response_validator, settings, ProviderClock(delay=0.3)) as remote:
        stopped = _signal_when(
            mirror.command("harvest", "--url", remote.url, "--name", "src"),
            lambda: committed_pages(mirror.db, "src") >= 2,
            signum,
            group=group,
        )
        assert stopped.code == code, stopped.stderr
        assert stopped.seconds < 5, stopped.seconds
        assert "Traceback" not in stopped.stderr
        assert "src: interrupted:" in stopped.stdout
        assert "works not updated: interrupted" in stopped.stdout
        status, failures, token = _last_run(mirror.db)
        assert (status, failures) == ("interrupted", 0)
        assert token  # the checkpoint is kept
        kept = committed_pages(mirror.db, "src")
        assert 2 <= kept < 14
        # The committed pages' records were derived with them, for the next works update.
        assert _derived_ahead(mirror.db) >= 2 * PAGE_SIZE
        # The next run resumes from the checkpoint and completes the list.
        again = mirror.run("harvest", "src")
        assert again.exit_code == 0, again.output
    assert _last_run(mirror.db)[0] == "completed"
    assert mirrored(mirror.db, "src") == published(provider_db)
    conn = sqlite3.connect(mirror.db)
    try:
        assert_same_as_full(conn)  # derived_ahead emptied, works as a full recompute has them
    finally:
        conn.close()


def _derived_ahead(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM derived_ahead").fetchone()[0])
    finally:
        conn.close()


def test_a_run_time_cap_stops_a_slow_source_and_the_next_run_resumes(
    tmp_path: Path, provider_db: Path, response_validator: ResponseValidator
) -> None:
    capped = Mirror.create(tmp_path / "mirror", "[harvester]\nrun_time_cap = 1\n")
    settings = ProviderSettings(repository_identifier=REPOSITORY_IDENTIFIER, page_size=PAGE_SIZE)
    with serve(str(provider_db), response_validator, settings, ProviderClock(delay=0.3)) as remote:
        first = capped.run("harvest", "--url", remote.url, "--name", "src")
        assert first.exit_code == 0, first.output  # a cap is not a failure
        assert "src: interrupted:" in first.stdout
        status, failures, token = _last_run(capped.db)
        assert (status, failures) == ("interrupted", 0) and token
        assert 1 <= committed_pages(capped.db, "src") < 14
        uncapped = Mirror(capped.db, tmp_path / "none.toml")
        (tmp_path / "none.toml").write_text("", encoding="utf-8")
        again = uncapped.run("harvest", "src")
        assert again.exit_code == 0, again.output
    assert _last_run(capped.db)[0] == "completed"
    assert mirrored(capped.db, "src") == published(provider_db)


def _in_flight(server: FaultServer) -> bool:
    """Whether the server has a request (and a moment has passed, so it is in flight)."""
    if not server.requests:
        return False
    time.sleep(0.3)
    return True


def test_a_signal_during_a_hung_identify_ends_the_harvest_at_once(tmp_path: Path) -> None:
    # The parent's own request (Identify) is given up, not waited out for read_timeout.
    mirror = Mirror.create(tmp_path / "mirror")
    hung = Stall(MAX_ACTION_SECONDS, Reply(bodies.identify()))
    with faults.running(route=lambda request: hung) as server:
        stopped = _signal_when(
            mirror.command("harvest", "--url", server.url, "--name", "src"),
            lambda: _in_flight(server),
            signal.SIGINT,
        )
    assert stopped.code == 130, stopped.stderr
    assert stopped.seconds < 3, stopped.seconds
    assert "Traceback" not in stopped.stderr
    assert "src: interrupted:" in stopped.stdout
    assert [r.verb for r in server.requests] == ["Identify"]


def test_a_run_time_cap_ends_a_request_that_hangs(tmp_path: Path) -> None:
    # read_timeout would wait 30 s for the page; the cap of 1 s ends the run, which keeps
    # its (empty) checkpoint and is recorded interrupted, not failed.
    config = "[harvester]\nrun_time_cap = 1\nread_timeout = 30\n"
    mirror = Mirror.create(tmp_path / "mirror", config)
    with faults.running(identify=bodies.identify()) as server:
        server.play(Stall(MAX_ACTION_SECONDS, Reply(bodies.page(["oai:x:1"]))))
        started = time.monotonic()
        result = mirror.run("harvest", "--url", server.url, "--name", "src")
        took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert took < 5, took
    assert "src: interrupted:" in result.stdout
    assert "run time cap of 1 s reached" in result.stdout + result.stderr
    assert _last_run(mirror.db)[:2] == ("interrupted", 0)


def test_a_hung_source_does_not_delay_a_source_on_another_host(tmp_path: Path) -> None:
    # Listed first, the hung source takes one job; the other host's source runs at once in
    # the second and is done long before the hung one answers.
    report = tmp_path / "report.json"
    with (
        faults.running(identify=bodies.identify()) as hung,
        faults.running(identify=bodies.identify()) as quick,
    ):
        hung.play(Stall(4.0, Reply(bodies.page(["oai:h:1"]))))
        quick.play(Reply(bodies.page(["oai:q:1"])))
        config = (
            f'[harvester]\nread_timeout = 30\n[sources.hung]\nurl = "{hung.url}"\n'
            f'[sources.quick]\nurl = "{quick.url}"\n'
        )
        mirror = Mirror.create(tmp_path / "mirror", config)
        result = mirror.run("harvest", "--jobs", "2", "--report-json", str(report))
    assert result.exit_code == 0, result.output
    runs = {row["source"]: row for row in json.loads(report.read_text())["sources"]}
    assert runs["hung"]["status"] == runs["quick"]["status"] == "completed"
    assert runs["hung"]["seconds"] >= 4
    assert runs["quick"]["seconds"] < 2
    assert runs["quick"]["finished_at"] < runs["hung"]["finished_at"]
