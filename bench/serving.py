"""Provider benchmark: our keyset provider against pyoai's OFFSET-batching server.

For each size N it loads N synthetic oai_dc records (~1.4 KB rendered each) into a store
(cached under bench/results/stores/), serves the store from a subprocess with our provider
(`python -m oai serve`, waitress, page size 100) and with pyoai's `BatchingServer` over
the same SQLite file (LIMIT/OFFSET batches of 100, waitress), walks a whole ListRecords
list against each with one keep-alive http.client connection, and prints the figures side
by side with the targets. The client reads every body whole and extracts only the
resumptionToken; the time it spends verifying bodies (an error check and a record count,
whole-body byte searches) is left out of the wall time, so the figures are the server's.
Server peak RSS is VmHWM from /proc, read after the walk. Targets:

* ours >= 10x pyoai throughput (records/s), at 100k records and more;
* ours: median latency of the last 10 pages <= 1.2x that of pages 2-11, at 1M records;
* ours: server peak RSS (VmHWM) at 1M within 1.2x of that at 10k.

Everything binds and talks to 127.0.0.1 only; the servers are killed at the end.

    python bench/serving.py                      # 10k, 100k, 1M (pyoai up to 100k)
    python bench/serving.py --sizes 10000,100000 --repeat 3
    python bench/serving.py --sizes 1000000 --peer-max 1000000   # pyoai at 1M: minutes

Stores are cached by size and by a digest of the store package's code (a change there
rebuilds them; loading 1M records takes about 2.5 minutes and 4.6 GB). `--repeat N` walks
each list N times on fresh servers and reports the median-throughput walk.

`--serve-peer DB` is the subprocess entry of the pyoai server (not for direct use).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bench_common
from bench_common import HOST, PAGE_SIZE, REPOSITORY_IDENTIFIER, ROOT, verdict

from oaiformat.datestamps import format_utc
from oaiformat.dublin_core import DCValue
from oaiformat.record import Record
from store.db import open_store
from store.records import SourceInfo, ensure_source
from store.writes import save_records

DEFAULT_CACHE = ROOT / "bench" / "results" / "stores"
THREADS = 4
# Bump when the generated records change, so cached stores are rebuilt.
GENERATOR_VERSION = 1
LOAD_BATCH = 2000
REQUEST_TIMEOUT_S = 600.0
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)

TARGET_SPEEDUP = 10.0
# The throughput target holds at 100k and 1M records (issue 10); smaller lists are shown.
SPEEDUP_FROM = 100_000
TARGET_LATENCY_RATIO = 1.2
TARGET_RSS_RATIO = 1.2
# The help of --repeat: which walk is reported.
REPEAT_HELP = "walks per server and size; the median-throughput walk is reported"
PYOAI_ELSEWHERE = 9_300  # rec/s measured for pyoai at 100k in issue 2

# --------------------------------------------------------------------------------------
# Synthetic records


def synthetic_record(index: int) -> Record:
    """Return record number `index`: the same record for the same index, every run."""
    rng = random.Random(index)
    _, date = bench_common.random_date(rng)
    kind = rng.choice(bench_common.TYPES)
    creators = [DCValue(bench_common.random_creator(rng)) for _ in range(rng.randint(2, 5))]
    subjects = [DCValue(bench_common.random_subject(rng)) for _ in range(rng.randint(3, 6))]
    sentences = [bench_common.sentence(rng, 8, 14) for _ in range(rng.randint(2, 3))]
    description = ". ".join(sentences) + "."
    metadata = {
        "title": [DCValue(bench_common.sentence(rng, 6, 12), "en")],
        "creator": creators,
        "subject": subjects,
        "description": [DCValue(description)],
        "publisher": [DCValue(rng.choice(bench_common.PUBLISHERS))],
        "date": [DCValue(date)],
        "type": [DCValue(kind)],
        "identifier": [
            DCValue(f"https://repository.example.org/records/{index}"),
            DCValue(f"https://doi.org/10.5555/bench.{index}"),
        ],
        "language": [DCValue(rng.choice(bench_common.LANGUAGES))],
    }
    return Record(
        source="local",
        identifier=f"oai:{REPOSITORY_IDENTIFIER}:rec/{index:07d}",
        datestamp=f"{date}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z",
        sets=(f"type:{kind.split()[0].lower()}",),
        metadata=metadata,
    )


def store_code_digest() -> str:
    """A digest of the store package's code: what the stored rows and their XML depend on.

    Part of a cached store's name, so a change to the schema or the rendering rebuilds it.
    """
    digest = hashlib.sha256(f"generator {GENERATOR_VERSION}".encode())
    for source in sorted((ROOT / "store").glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:12]


def store_path(cache_dir: Path, size: int) -> Path:
    """Where the store of `size` records is cached."""
    return cache_dir / f"oai_dc-{size}-{store_code_digest()}.db"


def build_store(path: Path, size: int) -> float:
    """Load `size` synthetic records into a fresh store at `path`; return the seconds taken.

    The store is built under a temporary name and renamed when complete, so an interrupted
    load is never mistaken for a cached store.
    """
    building = path.with_name(path.name + ".building")
    for leftover in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
        leftover.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    store = open_store(building)
    try:
        with store.write() as conn:
            ensure_source(conn, SourceInfo("local"), format_utc(BASE_TIME))
        step = max(size // 10, LOAD_BATCH)
        for start in range(0, size, LOAD_BATCH):
            # One local datestamp per batch: lists have runs of equal datestamps, as after
            # real imports, and the keyset's identifier tie-break is exercised.
            now = format_utc(BASE_TIME + timedelta(seconds=start // LOAD_BATCH))
            batch = (synthetic_record(i) for i in range(start, min(size, start + LOAD_BATCH)))
            with store.write() as conn:
                save_records(conn, batch, repository_identifier=REPOSITORY_IDENTIFIER, now=now)
            done = min(size, start + LOAD_BATCH)
            bench_common.print_progress("loaded", done, size, started, step, LOAD_BATCH)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    os.replace(building, path)
    return time.perf_counter() - started


def ensure_store(cache_dir: Path, size: int, fresh: bool) -> tuple[Path, float | None]:
    """Return the cached store of `size` records, building it first if needed.

    The second value is the load time in seconds, or None when the cache was used.
    """
    path = store_path(cache_dir, size)
    if path.exists() and not fresh:
        return path, None
    # Stores of this size built by other code are stale: make room for the new one.
    for stale in cache_dir.glob(f"oai_dc-{size}-*.db*"):
        stale.unlink()
    print(f"building a store of {size:,} records at {path}", file=sys.stderr, flush=True)
    return path, build_store(path, size)


# --------------------------------------------------------------------------------------
# Server commands (each run with bench_common.running)


def ours_command(db: Path, config: Path) -> list[str]:
    """`oai serve` on a free port of 127.0.0.1 (it prints the port on stderr)."""
    return [
        sys.executable, "-m", "oai", "--config", str(config), "--db", str(db),
        "serve", "--host", HOST, "--port", "0", "--threads", str(THREADS),
    ]  # fmt: skip


def peer_command(db: Path) -> list[str]:
    """This script's --serve-peer mode: pyoai's BatchingServer over the same store."""
    return [sys.executable, str(Path(__file__).resolve()), "--serve-peer", str(db)]


# --------------------------------------------------------------------------------------
# The client


@dataclass
class Walk:
    """One complete ListRecords list, as the client saw it."""

    records: int
    pages: int
    seconds: float
    latencies: list[float]
    bytes_read: int

    @property
    def rate(self) -> float:
        """Records per second over the whole walk."""
        return self.records / self.seconds

    @property
    def median_ms(self) -> float:
        """Median latency of all pages, in ms."""
        return statistics.median(self.latencies) * 1000

    @property
    def early_ms(self) -> float:
        """Median latency of pages 2-11, in ms."""
        return statistics.median(self.latencies[1:11]) * 1000

    @property
    def late_ms(self) -> float:
        """Median latency of the last 10 pages, in ms."""
        return statistics.median(self.latencies[-10:]) * 1000


def walk_list(port: int, max_requests: int) -> Walk:
    """Harvest a whole ListRecords list over one keep-alive connection, without gzip.

    Each body is read whole; only the resumptionToken is extracted (and records counted
    with a byte search), so the figures are the server's, not an XML parser's.
    """
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
    query: str | None = bench_common.FIRST_QUERY
    latencies: list[float] = []
    records = size = 0
    checking = 0.0  # seconds spent verifying bodies, left out of the walk's wall time
    started = time.perf_counter()
    try:
        while query is not None:
            if len(latencies) >= max_requests:
                raise RuntimeError(f"the list did not end within {max_requests} requests")
            path = f"/oai?{query}"
            sent = time.perf_counter()
            # http.client sends Accept-Encoding: identity: the body comes uncompressed.
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            received = time.perf_counter()
            latencies.append(received - sent)
            # Checks that scan the whole body (~75 us for 150 KB each, a tenth of a page's
            # time) are not the server's doing: their time is taken out of the wall time.
            if response.status != 200 or b"<error" in body:
                raise RuntimeError(f"HTTP {response.status} for {path}: {body[:500]!r}")
            records += body.count(b"</record>")
            checking += time.perf_counter() - received
            size += len(body)
            query = bench_common.next_query(body)
    finally:
        conn.close()
    wall = time.perf_counter() - started - checking
    return Walk(records, len(latencies), wall, latencies, size)


# --------------------------------------------------------------------------------------
# pyoai's server (the subprocess side of --serve-peer)


def serve_peer(db: str) -> None:
    """Serve `db` with pyoai's BatchingServer under waitress on a free port of 127.0.0.1."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import cgi

        # pyoai (the peer, the bench extra) ships no type hints: its names are Any here.
        from oaipmh import common, metadata, server
        from oaipmh.datestamp import datestamp_to_datetime
    import waitress

    # pyoai 2.5 decodes its resumption tokens with cgi.parse_qs, gone since Python 3.8.
    cgi.parse_qs = urllib.parse.parse_qs  # type: ignore[attr-defined]

    class SQLiteBatchingServer:
        """An IBatchingOAIPMH over the store: each list batch is a LIMIT/OFFSET query."""

        def __init__(self, path: str) -> None:
            self.path = path
            self.local = threading.local()
            self.base_url = "http://127.0.0.1/oai"
            self.identity: Any = None
            row = self._conn().execute("SELECT min(local_datestamp) FROM records").fetchone()
            self.earliest = datestamp_to_datetime(row[0] or format_utc(BASE_TIME))

        def _conn(self) -> sqlite3.Connection:
            conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
            if conn is None:
                uri = f"file:{Path(self.path).resolve()}?mode=ro"
                conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
                self.local.conn = conn
            return conn

        def identify(self) -> Any:
            # Built once: pyoai asks for it on every request (for <request>'s base URL).
            if self.identity is None:
                self.identity = self._identify()
            return self.identity

        def _identify(self) -> Any:
            return common.Identify(
                repositoryName="pyoai over the bench store",
                baseURL=self.base_url,
                protocolVersion="2.0",
                adminEmails=["oai-admin@bench.example.org"],
                earliestDatestamp=self.earliest,
                deletedRecord="persistent",
                granularity="YYYY-MM-DDThh:mm:ssZ",
                compression=["identity"],
            )

        def listMetadataFormats(self, identifier: str | None = None) -> list[tuple[str, ...]]:
            return [
                (
                    "oai_dc",
                    "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
                    "http://www.openarchives.org/OAI/2.0/oai_dc/",
                )
            ]

        def listSets(self, cursor: int = 0, batch_size: int = 10) -> list[tuple[str, str, None]]:
            rows = self._conn().execute(
                "SELECT DISTINCT set_spec FROM record_sets ORDER BY set_spec LIMIT ? OFFSET ?",
                [batch_size, cursor],
            )
            return [(spec, spec, None) for (spec,) in rows]

        def _item(self, row: tuple[Any, ...], full: bool) -> Any:
            identifier, datestamp, deleted, sets, dc = row
            header = common.Header(
                None, identifier, datestamp_to_datetime(datestamp), json.loads(sets), deleted
            )
            if not full:
                return header
            fields: dict[str, list[str]] = {}
            for name, values in json.loads(dc or "{}").items():
                fields[name] = [v if isinstance(v, str) else v["value"] for v in values]
            return header, common.Metadata(None, fields), None

        def _select(
            self,
            where: str,
            params: list[Any],
            set_spec: str | None,
            from_: datetime | None,
            until: datetime | None,
        ) -> tuple[str, list[Any]]:
            sql = (
                "SELECT r.local_identifier, r.local_datestamp, r.deleted, r.sets, r.metadata"
                " FROM records r"
            )
            clauses = [where] if where else []
            if set_spec is not None:
                sql += " JOIN record_sets s ON s.record_id = r.id"
                clauses.append("s.set_spec = ?")
                params.append(set_spec)
            if from_ is not None:
                clauses.append("r.local_datestamp >= ?")
                params.append(format_utc(from_.replace(tzinfo=UTC)))
            if until is not None:
                clauses.append("r.local_datestamp <= ?")
                params.append(format_utc(until.replace(tzinfo=UTC)))
            if clauses:
                sql += " WHERE " + " AND ".join(clauses)
            return sql, params

        def _list(self, kw: dict[str, Any], full: bool) -> list[Any]:
            if kw.get("metadataPrefix") != "oai_dc":
                from oaipmh import error

                raise error.CannotDisseminateFormatError("only oai_dc")
            sql, params = self._select("", [], kw.get("set"), kw.get("from_"), kw.get("until"))
            sql += " ORDER BY r.local_datestamp, r.local_identifier LIMIT ? OFFSET ?"
            rows = self._conn().execute(
                sql, [*params, int(kw.get("batch_size", 10)), int(kw.get("cursor", 0))]
            )
            return [self._item(row, full) for row in rows]

        def listIdentifiers(self, **kw: Any) -> list[Any]:
            return self._list(kw, full=False)

        def listRecords(self, **kw: Any) -> list[Any]:
            return self._list(kw, full=True)

        def getRecord(self, metadataPrefix: str, identifier: str) -> Any:
            from oaipmh import error

            if metadataPrefix != "oai_dc":
                raise error.CannotDisseminateFormatError("only oai_dc")
            sql, params = self._select("r.local_identifier = ?", [identifier], None, None, None)
            row = self._conn().execute(sql, params).fetchone()
            if row is None:
                raise error.IdDoesNotExistError(identifier)
            return self._item(row, full=True)

    registry = metadata.MetadataRegistry()
    registry.registerWriter("oai_dc", server.oai_dc_writer)
    backend = SQLiteBatchingServer(db)
    oai = server.BatchingServer(
        backend, metadata_registry=registry, resumption_batch_size=PAGE_SIZE
    )

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/oai":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        body = oai.handleRequest({name: values[0] for name, values in query.items()})
        start_response(
            "200 OK",
            [("Content-Type", "text/xml; charset=UTF-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    web = waitress.create_server(app, host=HOST, port=0, threads=THREADS, ident="pyoai")
    backend.base_url = f"http://{HOST}:{web.effective_port}/oai"
    print(f"serving pyoai on {backend.base_url}", file=sys.stderr, flush=True)
    try:
        web.run()
    finally:
        web.close()


# --------------------------------------------------------------------------------------
# The run


@dataclass
class Result:
    """One server walking one list."""

    server: str
    size: int
    walk: Walk
    hwm_kib: int
    rss_kib: int
    start_seconds: float


def measure(name: str, command: list[str], size: int, repeat: int) -> Result:
    """Start a server, walk the whole list once, read its peak RSS, stop it.

    With `repeat` > 1, a fresh server walks the list each time and the walk with the median
    throughput is kept (the peak RSS reported is the highest seen).
    """
    results = []
    for _ in range(repeat):
        with bench_common.running(name, command) as server:
            walk = walk_list(server.port, max_requests=size // PAGE_SIZE + 10)
            hwm, rss = server.peak_rss_kib()
        if walk.records != size:
            raise RuntimeError(f"{name} served {walk.records} records of {size}")
        results.append(Result(name, size, walk, hwm, rss, server.start_seconds))
    results.sort(key=lambda result: result.walk.rate)
    kept = results[len(results) // 2]
    kept.hwm_kib = max(result.hwm_kib for result in results)
    return kept


def report(results: list[Result], loads: dict[int, float | None], skipped: list[int]) -> None:
    """Print the figures table, the ratios and the targets."""
    print()
    print("Stores:")
    for size, seconds in loads.items():
        how = (
            "cached"
            if seconds is None
            else f"loaded in {seconds:,.1f} s ({size / seconds:,.0f} rec/s)"
        )
        print(f"  {size:>9,} records: {how}")
    print()
    columns: list[bench_common.Column[Result]] = [
        *bench_common.key_columns("server", 6, lambda r: r.server),
        ("records", 9, lambda r: f"{r.walk.records:,}"),
        ("pages", 6, lambda r: f"{r.walk.pages:,}"),
        ("wall s", 7, lambda r: f"{r.walk.seconds:.2f}"),
        ("rec/s", 8, lambda r: f"{r.walk.rate:,.0f}"),
        ("MB/s", 5, lambda r: f"{r.walk.bytes_read / r.walk.seconds / 1e6:.0f}"),
        ("page1 ms", 8, lambda r: f"{r.walk.latencies[0] * 1000:.1f}"),
        ("median ms", 9, lambda r: f"{r.walk.median_ms:.2f}"),
        ("p2-11 ms", 8, lambda r: f"{r.walk.early_ms:.2f}"),
        ("last10 ms", 9, lambda r: f"{r.walk.late_ms:.2f}"),
        ("last/first", 10, lambda r: f"{r.walk.late_ms / r.walk.early_ms:.2f}"),
        ("peak RSS MiB", 12, lambda r: f"{r.hwm_kib / 1024:.1f}"),
        ("start s", 7, lambda r: f"{r.start_seconds:.2f}"),
    ]
    bench_common.print_table(columns, results)
    for size in skipped:
        print(f"pyoai  {size:>9,}  skipped (above --peer-max)")
    ours = {r.size: r for r in results if r.server == "ours"}
    peer = {r.size: r for r in results if r.server == "pyoai"}
    print()
    print("Targets:")
    for size in sorted(ours):
        if size in peer:
            speedup = ours[size].walk.rate / peer[size].walk.rate
            judged = size >= SPEEDUP_FROM
            mark = verdict(speedup >= TARGET_SPEEDUP) if judged else "info"
            note = "" if judged else f" (the target is stated from {SPEEDUP_FROM:,} records)"
            print(
                f"  [{mark}] throughput ours/pyoai at {size:,}:"
                f" {speedup:.1f}x (target >= {TARGET_SPEEDUP:.0f}x){note}"
            )
        vs_elsewhere = ours[size].walk.rate / PYOAI_ELSEWHERE
        print(
            f"         ours at {size:,} vs pyoai's {PYOAI_ELSEWHERE:,} rec/s measured elsewhere:"
            f" {vs_elsewhere:.1f}x"
        )
    if ours:
        largest = max(ours)
        ratio = ours[largest].walk.late_ms / ours[largest].walk.early_ms
        note = "" if largest >= 1_000_000 else " (target is stated at 1M; 1M not run)"
        print(
            f"  [{verdict(ratio <= TARGET_LATENCY_RATIO)}] last/first page latency at"
            f" {largest:,}: {ratio:.2f} (target <= {TARGET_LATENCY_RATIO}){note}"
        )
        steady = ours[largest].walk.late_ms / ours[largest].walk.median_ms
        print(
            f"         last 10 pages vs the median of all pages at {largest:,}: {steady:.2f}"
            " (pages 2-11 include each server thread's warm-up)"
        )
        smallest = min(ours)
        if largest != smallest:
            growth = ours[largest].hwm_kib / ours[smallest].hwm_kib
            note = "" if (smallest, largest) == (10_000, 1_000_000) else " (target: 1M vs 10k)"
            print(
                f"  [{verdict(growth <= TARGET_RSS_RATIO)}] peak RSS at {largest:,} vs"
                f" {smallest:,}: {growth:.2f}x (target <= {TARGET_RSS_RATIO}x){note}"
            )


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and run the benchmark (or the pyoai server subprocess)."""
    parser = bench_common.argument_parser(__doc__, "10000,100000,1000000", REPEAT_HELP)
    parser.add_argument(
        "--peer-max",
        type=int,
        default=100_000,
        help="skip pyoai above this many records (default 100000)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"where generated stores are kept (default {DEFAULT_CACHE.relative_to(ROOT)})",
    )
    parser.add_argument("--fresh", action="store_true", help="rebuild stores even if cached")
    parser.add_argument("--no-peer", action="store_true", help="measure only our provider")
    parser.add_argument("--serve-peer", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_peer:
        serve_peer(args.serve_peer)
        return
    sizes = bench_common.parse_sizes(args.sizes)
    if not sizes or min(sizes) < PAGE_SIZE * 12:
        parser.error(f"sizes must be at least {PAGE_SIZE * 12} (11 early and 10 late pages)")

    loads: dict[int, float | None] = {}
    results: list[Result] = []
    skipped: list[int] = []
    with tempfile.TemporaryDirectory(prefix="oai-bench-") as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(
            f"[provider]\npage_size = {PAGE_SIZE}\nthreads = {THREADS}\n"
            f'repository_identifier = "{REPOSITORY_IDENTIFIER}"\n',
            encoding="utf-8",
        )
        for size in sizes:
            db, loads[size] = ensure_store(args.cache_dir, size, args.fresh)
            print(f"walking {size:,} records: ours", file=sys.stderr, flush=True)
            results.append(measure("ours", ours_command(db, config), size, args.repeat))
            if args.no_peer:
                continue
            if size > args.peer_max:
                print(
                    f"pyoai skipped at {size:,} records (above --peer-max {args.peer_max:,})",
                    file=sys.stderr,
                )
                skipped.append(size)
                continue
            print(f"walking {size:,} records: pyoai", file=sys.stderr, flush=True)
            results.append(measure("pyoai", peer_command(db), size, args.repeat))
    report(results, loads, skipped)


if __name__ == "__main__":
    main()
