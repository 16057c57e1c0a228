"""What an operator meets: a busy port, a run a kill -9 left marked running."""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from harvester.jobs import lock_held, store_lock
from harvester.settings import HarvesterSettings
from oai.cli import main
from provider.settings import ProviderSettings
from store.db import open_store
from store.records import SourceInfo, ensure_source
from tests.conftest import REPOSITORY_IDENTIFIER, SAMPLE, filled_store_file, serve
from tests.harvester.remote import Mirror
from tests.xsd import ResponseValidator

NOW = "2024-05-01T12:00:00Z"


def test_serve_on_a_busy_port_is_one_line_and_exit_1(tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db, "import", str(SAMPLE)]).exit_code == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(main, ["--db", db, "serve", "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def _run_left_running(db: Path) -> None:
    store = open_store(db)
    try:
        with store.write() as conn:
            ensure_source(conn, SourceInfo("src", "http://127.0.0.1:9/oai"), NOW)
            conn.execute(
                "INSERT INTO harvest_runs (source, started_at, status)"
                " VALUES ('src', ?, 'running')",
                [NOW],
            )
    finally:
        store.close()


def test_a_run_left_running_without_the_lock_shows_as_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    _run_left_running(db)
    before = db.read_bytes()
    runner = CliRunner()
    assert not lock_held(str(db))
    shown = runner.invoke(main, ["--db", str(db), "status", "src"])
    assert shown.exit_code == 0, shown.output
    assert "last run interrupted" in shown.stdout
    with store_lock(str(db)):
        assert lock_held(str(db))
        running = runner.invoke(main, ["--db", str(db), "status", "src"])
    assert "last run running" in running.stdout
    assert db.read_bytes() == before  # status wrote nothing


def _provider_db(tmp_path: Path) -> Path:
    return filled_store_file(tmp_path / "provider.db", extra_local=20)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_what_cron_gets(tmp_path: Path, response_validator: ResponseValidator) -> None:
    """-q: nothing on success. Default off a terminal: a line per source and the works line,
    nothing per page. -v: the page lines too. A failed source: one short line with the cause."""
    # The provider runs in this process; `oai serve` in an earlier test turned its access
    # lines on (they belong to serving, not to the harvest measured here).
    logging.getLogger("provider.app").setLevel(logging.NOTSET)
    provider_db = _provider_db(tmp_path)
    settings = ProviderSettings(repository_identifier=REPOSITORY_IDENTIFIER, page_size=5)
    with serve(str(provider_db), response_validator, settings) as remote:
        quiet = Mirror.create(tmp_path / "quiet")
        silent = quiet.run("-q", "harvest", "--url", remote.url, "--name", "src")
        assert silent.exit_code == 0
        assert (silent.stdout, silent.stderr) == ("", "")
        plain = Mirror.create(tmp_path / "plain")
        report = tmp_path / "report.json"
        default = plain.run(
            "harvest", "--url", remote.url, "--name", "src", "--report-json", str(report)
        )
        assert default.exit_code == 0
        lines = default.stdout.splitlines()
        assert len(lines) == 2 and lines[0].startswith("src: completed:")
        assert lines[1].startswith("works ")
        assert default.stderr == ""
        written = json.loads(report.read_text(encoding="utf-8"))
        assert written["started_at"] <= written["finished_at"]
        assert written["works"]["updated"] is True and written["works"]["records"] > 0
        (source,) = written["sources"]
        assert source["status"] == "completed" and source["from"] is None
        assert source["started_at"] <= source["finished_at"]
        chatty = Mirror.create(tmp_path / "chatty")
        verbose = chatty.run("-v", "harvest", "--url", remote.url, "--name", "src")
        assert verbose.exit_code == 0
        assert "src: page 1:" in verbose.stderr
    bad = Mirror.create(tmp_path / "bad", "[harvester]\nmax_attempts = 2\n")
    url = f"http://127.0.0.1:{_closed_port()}/oai"
    failed = bad.run("harvest", "--url", url, "--name", "gone")
    assert failed.exit_code == 1
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: gone: {url}: connection refused after 2 attempts"]
    assert "HTTPConnectionPool" not in failed.stderr


def _published_states(db: Path, source: str) -> list[int]:
    conn = sqlite3.connect(db)
    try:
        return sorted(
            int(r[0])
            for r in conn.execute("SELECT deleted FROM records WHERE source = ?", [source])
        )
    finally:
        conn.close()


def test_sources_are_remembered_once_identified_and_can_be_removed(
    tmp_path: Path, response_validator: ResponseValidator
) -> None:
    logging.getLogger("provider.app").setLevel(logging.NOTSET)
    provider_db = _provider_db(tmp_path)
    settings = ProviderSettings(repository_identifier=REPOSITORY_IDENTIFIER, page_size=50)
    mirror = Mirror.create(tmp_path / "m", "[harvester]\nmax_attempts = 1\n")
    refused = f"http://127.0.0.1:{_closed_port()}/oai"
    assert mirror.run("harvest", "--url", refused, "--name", "typo").exit_code == 1
    with serve(str(provider_db), response_validator, settings) as remote:
        assert mirror.run("harvest", "--url", remote.url, "--name", "src").exit_code == 0
        listed = mirror.run("sources").stdout
        assert "src\t" in listed and "typo" not in listed
        # A later cron run harvests the remembered source only, and succeeds.
        again = mirror.run("harvest")
        assert again.exit_code == 0, again.output
        assert "typo" not in again.output
    kept = mirror.run("sources", "remove", "src")
    assert kept.exit_code == 0, kept.output
    assert "stay published" in kept.stdout
    assert "src" not in mirror.run("sources").stdout
    assert 0 in _published_states(mirror.db, "src")  # its live records stay published
    conn = sqlite3.connect(mirror.db)
    try:
        state = conn.execute("SELECT count(*) FROM harvest_state WHERE source = 'src'")
        assert state.fetchone()[0] == 0  # its checkpoint is gone
    finally:
        conn.close()
    gone = mirror.run("sources", "remove", "src", "--withdraw")
    assert gone.exit_code == 0, gone.output
    assert set(_published_states(mirror.db, "src")) == {1}
    unknown = mirror.run("sources", "remove", "nope")
    assert unknown.exit_code == 1 and "unknown source" in unknown.stderr
    # The local records are no source to remove, and a refused removal withdraws nothing.
    local = tmp_path / "local.jsonl"
    local.write_text('{"identifier": "oai:x:1", "datestamp": "2020-01-01"}\n', "utf-8")
    assert mirror.run("import", str(local)).exit_code == 0
    refused_local = mirror.run("sources", "remove", "local", "--withdraw")
    assert refused_local.exit_code == 1 and "unknown source" in refused_local.stderr
    assert _published_states(mirror.db, "local") == [0]


def test_a_configured_source_is_removed_from_the_config(tmp_path: Path) -> None:
    mirror = Mirror.create(tmp_path / "m", '[sources.conf]\nurl = "http://127.0.0.1:9/oai"\n')
    result = mirror.run("sources", "remove", "conf")
    assert result.exit_code == 1
    assert "config.toml" in result.stderr


def test_harvest_help_states_the_timeout_defaults() -> None:
    """What `oai harvest --help` tells an operator agrees with the settings' defaults."""
    shown = " ".join(CliRunner().invoke(main, ["harvest", "--help"]).stdout.split())
    defaults = HarvesterSettings()
    for fact in (
        f"connect timeout {defaults.connect_timeout} s",
        f"read timeout {defaults.read_timeout} s",
        f"{defaults.response_timeout} s for a whole response",
        f"{defaults.max_attempts} attempts per request",
        f"{defaults.retry_budget} s of retry waits per source",
        f"Retry-After honoured up to {defaults.max_retry_after} s",
        "no run time cap" if defaults.run_time_cap == 0 else f"{defaults.run_time_cap} s",
        f"bodies over {defaults.spool_bytes >> 20} MiB go to a temporary file",
        f"over {defaults.max_response_bytes >> 20} MiB are refused",
    ):
        assert fact in shown, fact
