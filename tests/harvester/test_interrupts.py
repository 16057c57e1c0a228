"""SIGINT and SIGTERM sent to a real `oai harvest`: it stops within seconds, commits whole
pages only, records its runs interrupted (no failure, checkpoint kept), prints its summary,
exits 130 or 143 without a traceback, and the next run resumes from the checkpoint."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from provider.settings import ProviderSettings
from store.db import open_store
from tests.conftest import REPOSITORY_IDENTIFIER, fill_store, serve
from tests.harvester.remote import Mirror, ProviderClock, committed_pages, mirrored, published
from tests.xsd import ResponseValidator

PAGE_SIZE = 5


@pytest.fixture
def provider_db(tmp_path: Path) -> Path:
    path = tmp_path / "provider.db"
    store = open_store(path)
    try:
        fill_store(store, extra_local=60)
    finally:
        store.close()
    return path


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
        process = subprocess.Popen(
            mirror.command("harvest", "--url", remote.url, "--name", "src"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while committed_pages(mirror.db, "src") < 2:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.02)
            sent = time.monotonic()
            if group:
                os.killpg(process.pid, signum)
            else:
                os.kill(process.pid, signum)
            stdout, stderr = process.communicate(timeout=15)
            stopped_in = time.monotonic() - sent
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        assert process.returncode == code, stderr
        assert stopped_in < 5, stopped_in
        assert "Traceback" not in stderr
        assert "src: interrupted:" in stdout
        assert "works not updated: interrupted" in stdout
        status, failures, token = _last_run(mirror.db)
        assert (status, failures) == ("interrupted", 0)
        assert token  # the checkpoint is kept
        kept = committed_pages(mirror.db, "src")
        assert 2 <= kept < 14
        # The next run resumes from the checkpoint and completes the list.
        again = mirror.run("harvest", "src")
        assert again.exit_code == 0, again.output
    assert _last_run(mirror.db)[0] == "completed"
    assert mirrored(mirror.db, "src") == published(provider_db)


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
