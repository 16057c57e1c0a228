"""Our own provider as the harvester's remote: its clock, what it publishes, what a mirror holds.

The views read both stores with plain sqlite3 so the comparison does not go through the code
under test: the provider side is read from the rendered headers it sends, the mirror side
from the records table the harvester wrote.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from lxml import etree

from oai.cli import main

NS = {"o": "http://www.openarchives.org/OAI/2.0/"}
_SUMMARY = re.compile(
    r"^(?P<source>\S+): (?P<status>\w+): (?P<added>\d+) added, (?P<updated>\d+) updated,"
    r" (?P<deleted>\d+) deleted, (?P<tombstoned>\d+) tombstoned,"
    r" (?P<quarantined>\d+) quarantined, (?P<unchanged>\d+) unchanged; (?P<pages>\d+) pages",
    re.MULTILINE,
)
COUNTS = ("added", "updated", "deleted", "tombstoned", "quarantined", "unchanged", "pages")


@dataclass
class ProviderClock:
    """The provider's clock, set by the test: `fixed` (or real time) shifted by `offset`.

    The provider reads its clock once per request, so `delay` seconds of sleep here slow
    every reply (the crash tests need time to kill a harvest in the middle of a list).
    """

    fixed: datetime | None = None
    offset: timedelta = timedelta(0)
    delay: float = 0.0

    def __call__(self) -> datetime:
        if self.delay > 0:
            time.sleep(self.delay)
        return (self.fixed or datetime.now(UTC)) + self.offset


@dataclass(frozen=True)
class Seen:
    """A record as a harvester sees it: its header and its DC fields (None for a tombstone)."""

    datestamp: str
    deleted: bool
    sets: tuple[str, ...]
    metadata: dict[str, Any] | None


def _query(db_path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db_path, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def published(db_path: Path) -> dict[str, Seen]:
    """Every record the provider over `db_path` publishes, by published identifier."""
    found = {}
    for header_xml, metadata in _query(db_path, "SELECT header_xml, metadata FROM records"):
        header = etree.fromstring(bytes(header_xml))
        identifier = str(header.findtext("o:identifier", namespaces=NS))
        found[identifier] = Seen(
            str(header.findtext("o:datestamp", namespaces=NS)),
            header.get("status") == "deleted",
            tuple(sorted(str(s.text) for s in header.iterfind("o:setSpec", NS))),
            None if metadata is None else json.loads(metadata),
        )
    return found


def in_set(records: dict[str, Seen], set_spec: str) -> dict[str, Seen]:
    """The records in `set_spec` or below it in the set hierarchy."""
    return {
        identifier: seen
        for identifier, seen in records.items()
        if any(s == set_spec or s.startswith(f"{set_spec}:") for s in seen.sets)
    }


def mirrored(db_path: Path, source: str) -> dict[str, Seen]:
    """The records the mirror holds for `source`, by identifier at the origin."""
    rows = _query(
        db_path,
        "SELECT identifier, datestamp, deleted, sets, metadata FROM records WHERE source = ?",
        (source,),
    )
    return {
        identifier: Seen(
            datestamp,
            bool(deleted),
            tuple(sorted(json.loads(sets))),
            None if metadata is None else json.loads(metadata),
        )
        for identifier, datestamp, deleted, sets, metadata in rows
    }


def mirror_rows(db_path: Path, source: str) -> dict[str, tuple[Any, ...]]:
    """Everything the mirror keeps of each record of `source` that does not depend on when
    it was harvested, its published set memberships included."""
    memberships: dict[str, list[str]] = {}
    for identifier, spec in _query(
        db_path,
        "SELECT r.identifier, s.set_spec FROM record_sets s JOIN records r ON r.id = s.record_id"
        " WHERE r.source = ?",
        (source,),
    ):
        memberships.setdefault(identifier, []).append(spec)
    rows = _query(
        db_path,
        "SELECT identifier, local_identifier, datestamp, datestamp_raw, deleted, sets, metadata,"
        " metadata_xml, content_hash FROM records WHERE source = ?",
        (source,),
    )
    return {row[0]: (*row, sorted(memberships.get(row[0], []))) for row in rows}


def harvest_runs(db_path: Path, source: str) -> list[tuple[Any, ...]]:
    """Each run of `source`, oldest first:
    (status, finished_at, added, updated, deleted, tombstoned, pages)."""
    return _query(
        db_path,
        "SELECT status, finished_at, added, updated, deleted, tombstoned, pages"
        " FROM harvest_runs WHERE source = ? ORDER BY id",
        (source,),
    )


def committed_pages(db_path: Path, source: str) -> int:
    """Pages of the list in progress committed so far (0 before the first)."""
    try:
        rows = _query(db_path, "SELECT pages FROM harvest_state WHERE source = ?", (source,))
    except sqlite3.OperationalError:  # the harvest has not created its state yet
        return 0
    return int(rows[0][0]) if rows else 0


def summary(result: Result, source: str) -> dict[str, Any]:
    """The counts of `source` in the summary `oai harvest` printed. Fails when it is missing."""
    for match in _SUMMARY.finditer(result.stdout):
        if match["source"] == source:
            return {"status": match["status"], **{k: int(match[k]) for k in COUNTS}}
    raise AssertionError(f"no summary line for {source!r} in:\n{result.stdout}{result.stderr}")


@dataclass(frozen=True)
class Mirror:
    """A mirror store and the config.toml the `oai` command runs with."""

    db: Path
    config: Path

    @classmethod
    def create(cls, directory: Path, config_text: str = "") -> Mirror:
        """A mirror in `directory` (its store is created by the first command)."""
        directory.mkdir(parents=True, exist_ok=True)
        config = directory / "config.toml"
        config.write_text(config_text, encoding="utf-8")
        return cls(directory / "mirror.db", config)

    def run(self, *args: str) -> Result:
        """Run `oai --config CONFIG --db DB ARGS...` in-process."""
        return CliRunner().invoke(main, ["--config", str(self.config), "--db", str(self.db), *args])

    def command(self, *args: str) -> list[str]:
        """The same command line, for a subprocess."""
        return [
            sys.executable,
            "-m",
            "oai",
            "--config",
            str(self.config),
            "--db",
            str(self.db),
            *args,
        ]

    def harvest_killed(self, source: str, args: list[str], pages: int) -> int:
        """Run `oai harvest ARGS` in a subprocess and kill -9 it once `pages` pages of the
        list are committed. Returns the pages committed when it died."""
        log = self.db.with_suffix(".killed.log")
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                self.command("harvest", *args),
                cwd=self.db.parent,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
            try:
                deadline = time.monotonic() + 30
                while committed_pages(self.db, source) < pages:
                    finished = process.poll() is not None
                    if finished or time.monotonic() > deadline:
                        raise AssertionError(
                            f"the harvest {'ended' if finished else 'hung'} before page"
                            f" {pages}: {log.read_text(encoding='utf-8', errors='replace')}"
                        )
                    time.sleep(0.02)
                process.kill()  # SIGKILL: no cleanup, no finally blocks, no atexit
                assert process.wait(timeout=10) == -9
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)
        return committed_pages(self.db, source)
