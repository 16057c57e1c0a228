"""What an operator meets: a busy port, a run a kill -9 left marked running."""

from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner

from harvester.jobs import lock_held, store_lock
from oai.cli import main
from store.db import open_store
from store.records import SourceInfo, ensure_source
from tests.conftest import SAMPLE

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
