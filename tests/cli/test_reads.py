"""Reads never write: read commands open the store read-only, take no lock, create nothing.

They answer on a read-only copy of the mirror (also as an unprivileged user, for whom file
modes bind), while a harvest is writing, and refuse a missing store without creating it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from oai.cli import main
from provider.settings import ProviderSettings
from store.db import open_reader, open_store
from store.records import SourceInfo, ensure_source
from tests.conftest import NOW, REPOSITORY_IDENTIFIER, SAMPLE, fill_store, filled_store_file, serve
from tests.harvester.remote import Mirror, ProviderClock, committed_pages
from tests.xsd import ResponseValidator

CONFERENCE_PAPER = "oai:repository.example.org:8912z"
ELSEWHERE = Path(str(resources.files("oai") / "data" / "sample_elsewhere.jsonl"))
# Every command that only reads, with arguments that find something in the sample mirror.
READS: dict[str, list[str]] = {
    "authors": ["authors", "--format", "json"],
    "related": ["related", CONFERENCE_PAPER, "--format", "json"],
    "works": ["works", "--min-members", "2", "--format", "json"],
    "search": ["search", "peer support", "--format", "json"],
    "export": ["export"],
    "status": ["status"],
    "sources": ["sources"],
    "override list": ["override", "list", "--format", "json"],
    "serve --get": ["serve", "--get", "/oai?verb=ListRecords&metadataPrefix=oai_dc"],
    "datasette-metadata": ["datasette-metadata"],
}
NOBODY = 65534


def _invoke(db: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", str(db), *args])


@pytest.fixture(scope="module")
def sample_mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mirror built by write commands (two imports, works, an override) and a source
    remembered from an ad hoc harvest."""
    db = tmp_path_factory.mktemp("mirror") / "mirror.db"
    for sample in (SAMPLE, ELSEWHERE):
        result = _invoke(db, "import", str(sample))
        assert result.exit_code == 0, result.output
    store = open_store(db)
    try:
        with store.write() as conn:
            ensure_source(conn, SourceInfo("adhoc", "http://127.0.0.1:9/oai"), NOW)
            # Remembered: its Identify answered once.
            conn.execute("UPDATE sources SET identified_at = ? WHERE name = 'adhoc'", [NOW])
    finally:
        store.close()
    authors = json.loads(_invoke(db, "authors", "--format", "json").stdout)
    joined = _invoke(db, "override", "join", authors[-1]["key"], authors[0]["key"])
    assert joined.exit_code == 0, joined.output
    return db


def _answers(db: Path) -> dict[str, str]:
    """Every read command's stdout on the store at `db`; each must succeed."""
    found = {}
    for name, args in READS.items():
        result = _invoke(db, *args)
        assert result.exit_code == 0, f"{name}: {result.output}"
        assert result.stdout.strip(), f"{name} printed nothing"
        # The clock, not the store: two runs may fall on either side of a second.
        found[name] = re.sub(r"<responseDate>[^<]*</responseDate>", "", result.stdout)
    return found


def _digest(folder: Path) -> dict[str, str]:
    """Each file in the folder by name, with a hash of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def read_only_copy(sample_mirror: Path) -> Iterator[Path]:
    """The mirror copied into a folder of its own (outside pytest's private tmp, so another
    user can reach it), file and folder made read-only for everyone."""
    folder = Path(tempfile.mkdtemp(prefix="oai-readonly-"))
    copy = folder / "mirror.db"
    shutil.copyfile(sample_mirror, copy)
    copy.chmod(0o444)
    folder.chmod(0o555)
    try:
        yield copy
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


def test_every_read_answers_on_a_read_only_copy_and_leaves_it_untouched(
    sample_mirror: Path, read_only_copy: Path
) -> None:
    expected = _answers(sample_mirror)
    before = _digest(read_only_copy.parent)
    assert list(before) == ["mirror.db"]
    assert _answers(read_only_copy) == expected
    assert _digest(read_only_copy.parent) == before  # byte-identical, no -wal/-shm/-journal


def _as_nobody(db: Path) -> dict[str, list[str]]:
    """Run every read command on `db` in a child process that has dropped root for the
    unprivileged user `nobody` (modules are imported already: nobody cannot read them)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read)
        code = 0
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            report = []
            for name, args in READS.items():
                result = _invoke(db, *args)
                report.append(f"{name}\t{result.exit_code}\t{result.output[-300:]!r}")
            os.write(write, "\n".join(report).encode())
        except BaseException as exc:
            os.write(write, f"child failed: {exc!r}".encode())
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        text = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, text
    return {line.split("\t")[0]: line.split("\t", 2)[1:] for line in text.splitlines()}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become the user nobody")
@pytest.mark.parametrize("file_mode", [0o444, 0o644], ids=["file-read-only", "file-owner-only"])
def test_reads_as_an_unprivileged_user_create_nothing(
    sample_mirror: Path, read_only_copy: Path, file_mode: int
) -> None:
    """A file only root may write (0644) in a folder only root may write (0755): nobody
    cannot create the -shm SQLite wants, so the read falls back to an immutable open."""
    _answers(sample_mirror)  # imports every module the commands use, before dropping root
    folder = read_only_copy.parent
    folder.chmod(0o755)
    read_only_copy.chmod(file_mode)
    before = _digest(folder)
    report = _as_nobody(read_only_copy)
    failed = {name: result for name, result in report.items() if result[0] != "0"}
    assert set(report) == set(READS) and not failed, failed
    assert _digest(folder) == before
    assert stat.S_IMODE(read_only_copy.stat().st_mode) == file_mode


def test_the_reader_connection_is_read_only(sample_mirror: Path) -> None:
    store = open_reader(sample_mirror)
    try:
        assert store.readonly
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.conn.execute("CREATE TABLE intruder (x)")
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.conn.execute("UPDATE store_meta SET value = value")
    finally:
        store.close()


@pytest.mark.parametrize("command", sorted(READS))
def test_a_read_on_a_missing_store_exits_1_and_creates_nothing(
    tmp_path: Path, command: str
) -> None:
    db = tmp_path / "no" / "such" / "folder" / "mirror.db"
    result = _invoke(db, *READS[command])
    assert result.exit_code == 1
    assert str(db) in result.stderr and "no store" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_write_command_creates_the_store(tmp_path: Path) -> None:
    db = tmp_path / "new" / "mirror.db"
    assert _invoke(db, "import", str(SAMPLE)).exit_code == 0
    assert db.is_file()


def test_reads_say_when_works_lag_behind_the_records(tmp_path: Path) -> None:
    """Records written without their works update (as a refresh that failed leaves them)."""
    db = tmp_path / "mirror.db"
    store = open_store(db)
    try:
        fill_store(store)  # the store API: no works refresh
    finally:
        store.close()
    result = _invoke(db, "works", "--format", "json")
    assert result.exit_code == 0
    assert "works are behind the records" in result.stderr
    assert result.stdout.strip().startswith("[")
    quiet = CliRunner().invoke(main, ["--db", str(db), "-q", "works"])
    assert quiet.exit_code == 0 and "behind" not in quiet.stderr
    assert _invoke(db, "works", "recompute").exit_code == 0
    assert "behind" not in _invoke(db, "works").stderr


def test_a_store_of_an_older_schema_is_not_migrated_by_a_read(sample_mirror: Path) -> None:
    old = sample_mirror.parent / "old.db"
    shutil.copyfile(sample_mirror, old)
    conn = sqlite3.connect(old)
    with conn:
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm003_works'")
    conn.close()
    before = old.read_bytes()
    result = _invoke(old, "authors")
    assert result.exit_code == 1
    assert "older" in result.stderr
    # In a folder it may write, SQLite's reader leaves the (empty) -wal and -shm any writer
    # makes; the store itself is untouched.
    assert old.read_bytes() == before


def test_reads_answer_while_a_slow_harvest_writes(
    tmp_path: Path, sample_mirror: Path, response_validator: ResponseValidator
) -> None:
    """A harvest in another process holds the harvest lock and commits page after page;
    every read command answers meanwhile (the harvest is still running when they are done)."""
    provider_db = filled_store_file(tmp_path / "provider.db", extra_local=100)
    mirror = Mirror.create(tmp_path / "m")
    shutil.copyfile(sample_mirror, mirror.db)
    clock = ProviderClock(delay=0.4)  # each page takes 0.4 s or more: ~9 s for the list
    settings = ProviderSettings(repository_identifier=REPOSITORY_IDENTIFIER, page_size=5)
    with serve(str(provider_db), response_validator, settings, clock) as remote:
        harvest = subprocess.Popen(
            mirror.command("harvest", "--url", remote.url, "--name", "slow"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while committed_pages(mirror.db, "slow") < 1:
                assert harvest.poll() is None and time.monotonic() < deadline
                time.sleep(0.02)
            _answers(mirror.db)
            assert harvest.poll() is None, "the reads waited for the harvest to end"
            assert harvest.wait(timeout=60) == 0
        finally:
            if harvest.poll() is None:
                harvest.kill()
                harvest.wait(timeout=10)
