"""The contenders of the harvesting benchmark, each run as a process of its own.

* ours: `python -m oai --db TMP.db -v harvest --url URL --name bench --report-json R`, the
  whole process; where its time went comes from the report (the source's seconds: the page
  loop) and the log's timestamps (when the source's run ended, when the works update logged
  its line), as a Breakdown;
* sickle and scythe: the Sickle README loop (oaipmh-scythe's alike), each record a row
  written with sqlite-utils;
* reference: lxml and one executemany over pages already in memory (its timed part only).

Wall time is from start to exit and peak RSS the process's `ru_maxrss` from `os.wait4` (its
children's included), read by a small launcher process (see _LAUNCHER: the benchmark's own
RSS would show in it otherwise), so neither the page server's nor the benchmark's count.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import bench_common
from bench_common import HOST, ROOT
from dedupe_quality import Shape, works_shape
from harvesting_pages import SCRIPT

from oaiformat.namespaces import NS_DC, NS_OAI

SOURCE_NAME = "bench"
RUN_TIMEOUT_S = 3600.0

# --------------------------------------------------------------------------------------
# Processes


@dataclass
class Finished:
    """A contender process that ran to its end."""

    seconds: float
    returncode: int
    maxrss_kib: int
    stdout: str
    stderr: str
    # time.time() when it was started (log timestamps are on that clock).
    started_at: float


# A process's own peak RSS (ru_maxrss) would include the benchmark's: a process started by
# fork or vfork (as subprocess does) takes its parent's RSS high-water mark into its own
# when it execs (Linux keeps the old memory's peak in the process's maxrss). A parent of
# 60-300 MiB (the pages held, the generator) would show as every contender's peak. So each
# contender runs under this launcher: a small Python process that forks it and reads its
# rusage from wait4 (the contender and its own children), timed from just before the fork
# to the exit; the floor is then the launcher's ~10 MiB, below any contender's peak.
_LAUNCHER = """
import json, os, sys, time
report, command = sys.argv[1], sys.argv[2:]
started_at, started = time.time(), time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(command[0], command)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(report, "w", encoding="utf-8") as out:
    json.dump({"seconds": seconds, "started_at": started_at, "maxrss_kib": usage.ru_maxrss}, out)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_process(command: list[str], cwd: Path, timeout: float) -> Finished:
    """Run `command` to its end under the launcher; wall time from start to exit, peak RSS
    (KiB) of it and its children, from wait4.

    The launcher and the command run in a session of their own, killed whole when the
    command runs longer than `timeout` seconds, or when this is interrupted.
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as folder,
    ):
        report = Path(folder) / "launched.json"
        process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(report), *command],
            cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
        )  # fmt: skip
        watchdog = threading.Timer(timeout, os.killpg, (process.pid, signal.SIGKILL))
        watchdog.start()
        try:
            process.wait()
        finally:
            watchdog.cancel()
            if process.returncode is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
        if not report.exists():
            raise RuntimeError(f"{command[0]} was killed (exit {process.returncode}):\n{stderr}")
        launched = json.loads(report.read_text(encoding="utf-8"))
        return Finished(
            launched["seconds"],
            process.returncode,
            launched["maxrss_kib"],  # KiB on Linux
            stdout,
            stderr,
            launched["started_at"],
        )


def _require(finished: Finished, what: str) -> None:
    if finished.returncode != 0:
        tail = "\n".join((finished.stdout + finished.stderr).splitlines()[-30:])
        raise RuntimeError(f"{what} exited {finished.returncode}:\n{tail}")


def count_rows(db: Path, sql: str) -> int:
    """Run a count query on a finished contender's database."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def stored_size(db: Path, records: int) -> str:
    """What a finished contender's database takes on disk: the file (and its WAL), and its
    records table alone (ours keeps works, search and links in other tables)."""
    size = sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())
    table = count_rows(db, "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = 'records'")
    return (
        f"store {size / 1e6:,.0f} MB ({size / max(records, 1):,.0f} bytes a record;"
        f" records table {table / 1e6:,.0f} MB)"
    )


# --------------------------------------------------------------------------------------
# The peers (the subprocess side of harvesting.py --peer-MODE)


def _peer_rows(records: Iterator[Any], db_path: str, batch: int) -> int:
    """Insert each record as a row with sqlite-utils, per record or in batches; a deleted
    record (Sickle gives it no metadata) as a row without any."""
    import sqlite_utils

    # db.table(): db["records"] is typed Table | View (a view of that name is none here).
    table = sqlite_utils.Database(db_path).table("records")
    rows: list[dict[str, Any]] = []
    count = 0
    for record in records:
        header = record.header
        row = {
            "identifier": header.identifier,
            "datestamp": header.datestamp,
            "deleted": header.deleted,
            "sets": json.dumps(header.setSpecs),
            "metadata": None if header.deleted else json.dumps(record.metadata),
        }
        count += 1
        if batch <= 1:
            table.insert(row, pk="identifier", replace=True)
            continue
        rows.append(row)
        if len(rows) >= batch:
            table.insert_all(rows, pk="identifier", replace=True)
            rows = []
    if rows:
        table.insert_all(rows, pk="identifier", replace=True)
    return count


def peer_sickle(url: str, db_path: str, batch: int) -> None:
    """The Sickle README loop, each record inserted with sqlite-utils."""
    from sickle import Sickle

    count = _peer_rows(Sickle(url).ListRecords(metadataPrefix="oai_dc"), db_path, batch)
    print(json.dumps({"records": count}))


def peer_scythe(url: str, db_path: str, batch: int) -> None:
    """The same loop with oaipmh-scythe."""
    from oaipmh_scythe import Scythe

    with Scythe(url) as scythe:
        count = _peer_rows(scythe.list_records(metadata_prefix="oai_dc"), db_path, batch)
    print(json.dumps({"records": count}))


def fetch_pages(url: str) -> list[bytes]:
    """Every ListRecords page body, over one keep-alive connection (the reference's input)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or HOST, parts.port, timeout=600)
    query: str | None = bench_common.FIRST_QUERY
    bodies = []
    try:
        while query is not None:
            conn.request("GET", f"{parts.path}?{query}")
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status} for {query}")
            bodies.append(body)
            query = bench_common.next_query(body)
    finally:
        conn.close()
    return bodies


def peer_reference(url: str, db_path: str) -> None:
    """Pages fetched first (not timed); then, timed: lxml parse, field extraction and one
    executemany in one transaction, in a single thread."""
    from lxml import etree

    pages = fetch_pages(url)
    oai = f"{{{NS_OAI}}}"
    record_tag, header_tag, metadata_tag = f"{oai}record", f"{oai}header", f"{oai}metadata"
    identifier_tag, datestamp_tag, set_tag = f"{oai}identifier", f"{oai}datestamp", f"{oai}setSpec"
    dc_prefix = len(f"{{{NS_DC}}}")
    started = time.perf_counter()
    parsing = 0.0
    rows = []
    for body in pages:
        before = time.perf_counter()
        root = etree.fromstring(body)
        parsing += time.perf_counter() - before
        for record in root.iter(record_tag):
            header = record.find(header_tag)
            if header is None:
                raise RuntimeError("a ListRecords <record> without a <header>")
            metadata: dict[str, list[str | None]] = {}
            container = record.find(metadata_tag)
            if container is not None and len(container):
                for element in container[0]:
                    metadata.setdefault(element.tag[dc_prefix:], []).append(element.text)
            rows.append(
                (
                    header.findtext(identifier_tag),
                    header.findtext(datestamp_tag),
                    int(header.get("status") == "deleted"),
                    json.dumps([s.text for s in header.iterfind(set_tag)]),
                    json.dumps(metadata),
                )
            )
    parsed = time.perf_counter()
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.execute(
            "CREATE TABLE records (identifier TEXT PRIMARY KEY, datestamp TEXT,"
            " deleted INTEGER, sets TEXT, metadata TEXT)"
        )
        conn.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
    finally:
        conn.close()
    ended = time.perf_counter()
    report = {
        "records": len(rows),
        "seconds": ended - started,
        "parse_seconds": parsing,
        "extract_seconds": parsed - started - parsing,
        "write_seconds": ended - parsed,
    }
    print(json.dumps(report))


# --------------------------------------------------------------------------------------
# One run of a contender


@dataclass(frozen=True)
class Breakdown:
    """Where the time of one `oai harvest` process went, in seconds."""

    # Process start to the source's run: Python, imports, config, opening the store.
    startup: float
    # The source's run (its seconds in --report-json): Identify, every page, ListSets.
    page_loop: float
    # The source's run's end to the works update's log line: the works update after the
    # last page (a first harvest's is a full recompute).
    works: float
    # After that line: the works transaction's commit, the summary, closing the store, exit.
    tail: float
    # The peak RSS of the larger of the harvest process and its page process by the
    # source's run's end, before the works update (the report's peak_rss_mib), in KiB.
    page_loop_rss_kib: int = 0


@dataclass(frozen=True)
class Run:
    """One contender process harvesting the list once."""

    seconds: float
    maxrss_kib: int
    note: str
    breakdown: Breakdown | None = None
    # The works the harvested records formed (ours only).
    shape: Shape | None = None


# A log line of `oai -v`: "2024-06-01 12:00:00,123 INFO harvester.sets: bench: ListSets ...".
_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) [A-Z]+ ([\w.]+): (.*)$")


def _log_times(stderr: str) -> tuple[float, float]:
    """When the last line of the harvester's was logged (the source's run ending: the
    ListSets after the last page) and when the works update logged its line; time.time()
    seconds, to the millisecond."""
    harvest_end = works_end = None
    for line in stderr.splitlines():
        match = _LOG_LINE.match(line)
        if match is None:
            continue
        stamp, logger, message = match.groups()
        # The log's asctime is local time.
        at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
        if logger.startswith("harvester."):
            harvest_end = at
        elif logger == "works.update" and message.startswith("works:"):
            works_end = at
    if harvest_end is None or works_end is None:
        raise RuntimeError("oai harvest -v logged no harvester or works line:\n" + stderr[-2000:])
    return harvest_end, works_end


def breakdown(finished: Finished, report: dict[str, Any]) -> Breakdown:
    """Where an `oai harvest -v --report-json` process's time went."""
    (source,) = report["sources"]
    page_loop = float(source["seconds"])
    harvest_end, works_end = _log_times(finished.stderr)
    startup = harvest_end - page_loop - finished.started_at
    ended = finished.started_at + finished.seconds
    loop_rss = int(float(source["peak_rss_mib"]) * 1024)
    return Breakdown(startup, page_loop, works_end - harvest_end, ended - works_end, loop_rss)


def measure_ours(url: str, db: Path, config: Path, expected: tuple[int, int]) -> Run:
    """`oai harvest` as a whole process; checks its exit status and the records stored
    (`expected`: records, live ones) and reads where its time went."""
    report_path = db.with_suffix(".report.json")
    command = [
        sys.executable, "-m", "oai", "--config", str(config), "--db", str(db), "-v",
        "harvest", "--url", url, "--name", SOURCE_NAME, "--report-json", str(report_path),
    ]  # fmt: skip
    finished = run_process(command, ROOT, RUN_TIMEOUT_S)
    _require(finished, "oai harvest")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    report_path.unlink()
    where = f"FROM records WHERE source = '{SOURCE_NAME}'"
    stored = (
        count_rows(db, f"SELECT count(*) {where}"),
        count_rows(db, f"SELECT count(*) {where} AND deleted = 0"),
    )
    if stored != expected:
        raise RuntimeError(f"ours stored (records, live) {stored}, expected {expected}")
    shape = works_shape(db)
    note = (
        f"{stored[0]:,} stored, {stored[0] - stored[1]:,} tombstones, {stored_size(db, stored[0])};"
        f" {shape.describe()}"
    )
    return Run(finished.seconds, finished.maxrss_kib, note, breakdown(finished, report), shape)


def measure_peer(mode: str, url: str, db: Path, batch: int, expected: int) -> Run:
    """One of harvesting.py's peer modes as a whole process; checks the rows written."""
    command = [sys.executable, SCRIPT, f"--peer-{mode}", url, str(db), "--sickle-batch", str(batch)]
    finished = run_process(command, ROOT, RUN_TIMEOUT_S)
    _require(finished, mode)
    stored = count_rows(db, "SELECT count(*) FROM records")
    if stored != expected:
        raise RuntimeError(f"{mode} stored {stored} records of {expected}")
    if mode == "reference":
        # The timed part only: the process also fetched every page first.
        report = json.loads(finished.stdout.strip().splitlines()[-1])
        note = (
            f"{stored:,} stored; lxml parse {report['parse_seconds']:.2f} s, extract"
            f" {report['extract_seconds']:.2f} s, write {report['write_seconds']:.2f} s"
        )
        return Run(report["seconds"], finished.maxrss_kib, note)
    return Run(
        finished.seconds, finished.maxrss_kib, f"{stored:,} stored, {stored_size(db, stored)}"
    )


@dataclass
class Result:
    """A contender's runs harvesting one list."""

    contender: str
    size: int
    runs: list[Run]

    @property
    def median(self) -> Run:
        """The run of the median wall time (the upper one of an even count)."""
        return sorted(self.runs, key=lambda r: r.seconds)[len(self.runs) // 2]

    @property
    def seconds(self) -> float:
        """The median wall time."""
        return self.median.seconds

    @property
    def maxrss_kib(self) -> int:
        """The highest peak RSS of the runs."""
        return max(r.maxrss_kib for r in self.runs)

    @property
    def rate(self) -> float:
        """Records per second of the median run."""
        return self.size / self.seconds
