"""Harvester benchmark: `oai harvest` against a Sickle loop, oaipmh-scythe and a reference.

Measures the harvester, not the server. For each size N a page server subprocess
(http.server's ThreadingHTTPServer on 127.0.0.1, keep-alive, no compression) renders N
synthetic oai_dc records (~1.4 KB each: identifier, datestamp, 1-2 setSpecs, title, 2-5
creators, 3 subjects, a 400-700-character description, date, type, identifier, language,
publisher) into ListRecords pages of 100 once, then serves them from memory: the first page
for metadataPrefix=oai_dc, the next ones by resumptionToken (the token is the page number,
with completeListSize and cursor; the last page has an empty token), and a valid Identify
(seconds granularity). Each contender is then timed against the same server, on a fresh
temporary database:

* ours: `python -m oai --db TMP.db harvest --url URL --name bench`, the whole process (start
  up, Identify, every page, every write, the summary); it must exit 0 and leave N records;
* sickle: what a user writes from Sickle's README, `for r in
  Sickle(url).ListRecords(metadataPrefix="oai_dc")`, each record as a row (header fields,
  `r.metadata` as JSON) inserted with sqlite-utils `insert_all` in batches of 100
  (`--sickle-batch 1`: one `table.insert` per record, one commit each);
* scythe: the same loop and inserts with oaipmh-scythe's `Scythe.list_records` (skipped,
  with a note, when it fails);
* reference: a single thread with every page already in memory (fetched first, not timed):
  lxml parses each page, the header and DC fields are pulled out of the tree, and one
  `executemany` writes all rows in one transaction. Its wall time is that timed part only.

Every contender runs as its own process (so the server's and the benchmark's CPU and memory
are not counted); wall time is from start to exit, and peak RSS is the process's
`ru_maxrss` from `os.wait4`. The reference's peak RSS includes all N pages held in memory.
Targets:

* ours >= 2.5x the Sickle loop's records/s in the same run (issue 3 measured Sickle +
  sqlite-utils at ~9,700 rec/s and the reference at ~19,200 at 100k: 2.5x is about 0.8x
  the reference's time);
* ours: peak RSS at the largest N within 1.2x of that at the smallest (issue 3 states it
  for 1M vs 10k).

Everything binds and talks to 127.0.0.1 only; servers and contenders are killed at the end.

    python bench/harvesting.py                          # 10k and 100k
    python bench/harvesting.py --sizes 10000,100000,1000000 --repeat 3

`--repeat N` runs each contender N times and reports the median wall time (and the highest
peak RSS). `--serve N` and `--peer-sickle/--peer-scythe/--peer-reference URL DB` are the
subprocess entries (not for direct use).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import http.server
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import bench_common
from bench_common import HOST, PAGE_SIZE, REPOSITORY_IDENTIFIER, ROOT, verdict

SCRIPT = str(Path(__file__).resolve())
SOURCE_NAME = "bench"
RUN_TIMEOUT_S = 3600.0
RESPONSE_DATE = "2024-06-01T12:00:00Z"

TARGET_SPEEDUP = 2.5
TARGET_RSS_RATIO = 1.2
# The help of --repeat: which run is reported.
REPEAT_HELP = "runs per contender and size; the median wall time is reported"
ISSUE_FIGURES = {"sickle": 9_700, "scythe": 11_200, "reference": 19_200}  # rec/s at 100k

NS_OAI = "http://www.openarchives.org/OAI/2.0/"
NS_OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"

# --------------------------------------------------------------------------------------
# Synthetic records and pages

_DC_OPEN = f'<oai_dc:dc xmlns:oai_dc="{NS_OAI_DC}" xmlns:dc="{NS_DC}">'
# Descriptions of 400-700 characters (550 on average): with the other fields, ~1.45 KB.
DESCRIPTION_CHARS = (400, 700)


def _description(rng: random.Random) -> str:
    length = rng.randint(*DESCRIPTION_CHARS)
    text = ""
    while len(text) < length:
        text += bench_common.sentence(rng, 8, 14) + ". "
    return text[:length].rstrip() + "."


def record_xml(index: int) -> str:
    """Return record number `index` as a ListRecords <record>: the same for the same index."""
    rng = random.Random(index)
    year, date = bench_common.random_date(rng)
    stamp = f"{date}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z"
    kind = rng.choice(bench_common.TYPES)
    sets = [f"type:{kind.split()[0].lower()}"]
    if rng.random() < 0.5:
        sets.append(f"year:{year}")
    parts = [
        f"<record><header><identifier>oai:{REPOSITORY_IDENTIFIER}:rec/{index:07d}</identifier>"
        f"<datestamp>{stamp}</datestamp>",
        *(f"<setSpec>{spec}</setSpec>" for spec in sets),
        "</header><metadata>",
        _DC_OPEN,
        f'<dc:title xml:lang="en">{escape(bench_common.sentence(rng, 5, 10))}</dc:title>',
    ]
    for _ in range(rng.randint(2, 5)):
        parts.append(f"<dc:creator>{escape(bench_common.random_creator(rng))}</dc:creator>")
    parts.extend(f"<dc:subject>{bench_common.random_subject(rng)}</dc:subject>" for _ in "abc")
    parts += [
        f"<dc:description>{escape(_description(rng))}</dc:description>",
        f"<dc:date>{date}</dc:date>",
        f"<dc:type>{kind}</dc:type>",
        f"<dc:identifier>https://doi.org/10.5555/bench.{index}</dc:identifier>",
        f"<dc:language>{rng.choice(bench_common.LANGUAGES)}</dc:language>",
        f"<dc:publisher>{rng.choice(bench_common.PUBLISHERS)}</dc:publisher>",
        "</oai_dc:dc></metadata></record>\n",
    ]
    return "".join(parts)


def _envelope(base_url: str, request_attributes: str, body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<OAI-PMH xmlns="{NS_OAI}" xmlns:xsi="{NS_XSI}" xsi:schemaLocation="{NS_OAI}'
        ' http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n'
        f"<responseDate>{RESPONSE_DATE}</responseDate>\n"
        f"<request{request_attributes}>{base_url}</request>\n{body}</OAI-PMH>\n"
    ).encode()


def _http_response(body: bytes) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def identify_response(base_url: str) -> bytes:
    """The Identify response, as a whole HTTP response."""
    body = (
        "<Identify><repositoryName>Harvester benchmark pages</repositoryName>"
        f"<baseURL>{base_url}</baseURL><protocolVersion>2.0</protocolVersion>"
        f"<adminEmail>oai-admin@{REPOSITORY_IDENTIFIER}</adminEmail>"
        "<earliestDatestamp>1995-01-01T00:00:00Z</earliestDatestamp>"
        "<deletedRecord>no</deletedRecord><granularity>YYYY-MM-DDThh:mm:ssZ</granularity>"
        "</Identify>\n"
    )
    return _http_response(_envelope(base_url, ' verb="Identify"', body))


def error_response(base_url: str, code: str, message: str) -> bytes:
    """An OAI-PMH error response (HTTP 200), as a whole HTTP response."""
    body = f'<error code="{code}">{escape(message)}</error>\n'
    return _http_response(_envelope(base_url, "", body))


def render_pages(size: int, base_url: str) -> list[bytes]:
    """Every ListRecords page of a list of `size` records, as whole HTTP responses."""
    pages = []
    count = (size + PAGE_SIZE - 1) // PAGE_SIZE
    for number in range(count):
        start = number * PAGE_SIZE
        records = "".join(record_xml(i) for i in range(start, min(size, start + PAGE_SIZE)))
        token = str(number + 1) if number + 1 < count else ""
        attributes = (
            ' verb="ListRecords" metadataPrefix="oai_dc"'
            if number == 0
            else f' verb="ListRecords" resumptionToken="{number}"'
        )
        body = (
            f"<ListRecords>\n{records}"
            f'<resumptionToken completeListSize="{size}" cursor="{start}">{token}'
            "</resumptionToken>\n</ListRecords>\n"
        )
        pages.append(_http_response(_envelope(base_url, attributes, body)))
    return pages


# --------------------------------------------------------------------------------------
# The page server (the subprocess side of --serve)


def serve(size: int) -> None:
    """Render `size` records into pages, then serve them on a free port of 127.0.0.1."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, query: str) -> None:
            arguments = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
            verb = arguments.get("verb")
            if verb == "Identify":
                response = identify
            elif verb == "ListSets":
                response = error_response(base_url, "noSetHierarchy", "no sets here")
            elif verb != "ListRecords":
                response = error_response(base_url, "badVerb", f"not served here: {verb}")
            elif "resumptionToken" in arguments:
                number = arguments["resumptionToken"]
                if number.isdigit() and 0 < int(number) < len(pages):
                    response = pages[int(number)]
                else:
                    response = error_response(base_url, "badResumptionToken", number)
            elif arguments.get("metadataPrefix") == "oai_dc":
                response = pages[0]
            else:
                response = error_response(base_url, "cannotDisseminateFormat", "only oai_dc")
            self.wfile.write(response)

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            if path != "/oai":
                self.send_error(404)
                return
            self._answer(query)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._answer(self.rfile.read(length).decode("utf-8"))

    server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    base_url = f"http://{HOST}:{server.server_address[1]}/oai"
    started = time.perf_counter()
    identify = identify_response(base_url)
    pages = render_pages(size, base_url)
    total = sum(len(p) for p in pages)
    print(
        f"rendered {size:,} records in {len(pages):,} pages, {total / 1e6:.1f} MB"
        f" ({total / size:,.0f} bytes a record) in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    print(f"serving {base_url}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


@contextlib.contextmanager
def page_server(size: int) -> Iterator[bench_common.Server]:
    """Start the page server for `size` records; kill it afterwards."""
    command = [sys.executable, SCRIPT, "--serve", str(size)]
    with bench_common.running("the page", command, poll_s=0.05) as server:
        for line in server.log:
            if line.startswith("rendered"):
                print(f"  {line}", file=sys.stderr, flush=True)
        yield server


# --------------------------------------------------------------------------------------
# Contender processes


@dataclass
class Finished:
    """A contender process that ran to its end."""

    seconds: float
    returncode: int
    maxrss_kib: int
    stdout: str
    stderr: str


def run_process(command: list[str], cwd: Path, timeout: float) -> Finished:
    """Run `command` to its end; wall time from start to exit, peak RSS from wait4.

    The process is killed when it runs longer than `timeout` seconds, or when this is
    interrupted.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        reaped = False
        try:
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - started
            reaped = True
            # Reaped here, not by Popen: tell it, so it never waits for the pid again.
            process.returncode = os.waitstatus_to_exitcode(status)
        finally:
            watchdog.cancel()
            if not reaped:
                process.kill()
                process.wait(timeout=30)
        out.seek(0)
        err.seek(0)
        return Finished(
            seconds,
            process.returncode,
            usage.ru_maxrss,  # KiB on Linux
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
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


def _peer_rows(records: Iterator[Any], db_path: str, batch: int) -> int:
    """Insert each record as a row with sqlite-utils, per record or in batches."""
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
            "metadata": json.dumps(record.metadata),
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
# The run


@dataclass
class Result:
    """One contender harvesting one list."""

    contender: str
    size: int
    seconds: float
    maxrss_kib: int
    note: str = ""
    runs: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.size / self.seconds


def measure_ours(url: str, db: Path, config: Path) -> tuple[float, int, str]:
    """`oai harvest` as a whole process; checks its exit status and the records stored."""
    command = [
        sys.executable, "-m", "oai", "--config", str(config), "--db", str(db), "-q",
        "harvest", "--url", url, "--name", SOURCE_NAME,
    ]  # fmt: skip
    finished = run_process(command, ROOT, RUN_TIMEOUT_S)
    _require(finished, "oai harvest")
    stored = count_rows(
        db, f"SELECT count(*) FROM records WHERE source = '{SOURCE_NAME}' AND deleted = 0"
    )
    return finished.seconds, finished.maxrss_kib, f"{stored} stored"


def measure_peer(mode: str, url: str, db: Path, batch: int) -> tuple[float, int, str]:
    """One of this script's peer modes as a whole process; checks the rows written."""
    command = [sys.executable, SCRIPT, f"--peer-{mode}", url, str(db), "--sickle-batch", str(batch)]
    finished = run_process(command, ROOT, RUN_TIMEOUT_S)
    _require(finished, mode)
    stored = count_rows(db, "SELECT count(*) FROM records")
    if mode == "reference":
        # The timed part only: the process also fetched every page first.
        report = json.loads(finished.stdout.strip().splitlines()[-1])
        note = (
            f"{stored} stored; lxml parse {report['parse_seconds']:.2f} s, extract"
            f" {report['extract_seconds']:.2f} s, write {report['write_seconds']:.2f} s"
        )
        return report["seconds"], finished.maxrss_kib, note
    return finished.seconds, finished.maxrss_kib, f"{stored} stored"


def measure(
    name: str, size: int, repeat: int, tmp: Path, run: Callable[[Path], tuple[float, int, str]]
) -> Result:
    """Run a contender `repeat` times on fresh databases; keep the median wall time."""
    runs = []
    for attempt in range(repeat):
        db = tmp / f"{name}-{size}-{attempt}.db"
        seconds, maxrss, note = run(db)
        stored = int(note.split()[0])
        if stored != size:
            raise RuntimeError(f"{name} stored {stored} records of {size}")
        runs.append((seconds, maxrss, note))
        for leftover in tmp.glob(f"{db.name}*"):
            leftover.unlink()
        print(
            f"  {name:<9} N={size:>9,}: {seconds:7.2f} s, {size / seconds:>8,.0f} rec/s,"
            f" peak RSS {maxrss / 1024:6.1f} MiB ({note})",
            file=sys.stderr,
            flush=True,
        )
    ordered = sorted(runs)
    seconds, _, note = ordered[len(ordered) // 2]
    return Result(name, size, seconds, max(r[1] for r in runs), note, [r[0] for r in runs])


def report(results: list[Result], skipped: list[str], sickle_batch: int) -> None:
    """Print the figures table, the ratios and the targets."""
    sickle = {r.size: r for r in results if r.contender == "sickle"}
    reference = {r.size: r for r in results if r.contender == "reference"}

    def vs_sickle(r: Result) -> str:
        return f"{r.rate / sickle[r.size].rate:.2f}x" if r.size in sickle else "-"

    def vs_reference(r: Result) -> str:
        return f"{r.seconds / reference[r.size].seconds:.2f}" if r.size in reference else "-"

    columns: list[bench_common.Column[Result]] = [
        *bench_common.key_columns("contender", 9, lambda r: r.contender),
        ("wall s", 7, lambda r: f"{r.seconds:.2f}"),
        ("records/s", 9, lambda r: f"{r.rate:,.0f}"),
        ("peak RSS MiB", 12, lambda r: f"{r.maxrss_kib / 1024:.1f}"),
        ("rate/sickle", 11, vs_sickle),
        ("time/reference", 14, vs_reference),
    ]
    print()
    bench_common.print_table(columns, results)
    print()
    how = "one table.insert per record" if sickle_batch <= 1 else f"insert_all of {sickle_batch}"
    print(f"sickle, scythe: sqlite-utils {how}, default journal (rollback, synchronous FULL)")
    print("reference: timed part only (pages already in memory); its RSS holds every page")
    for note in skipped:
        print(note)
    for result in results:
        if result.contender == "reference":
            print(f"reference at {result.size:,}: {result.note}")
    ours = {r.size: r for r in results if r.contender == "ours"}
    print()
    print("Targets:")
    for size in sorted(ours):
        if size in sickle:
            speedup = ours[size].rate / sickle[size].rate
            print(
                f"  [{verdict(speedup >= TARGET_SPEEDUP)}] ours/sickle records/s at {size:,}:"
                f" {speedup:.2f}x (target >= {TARGET_SPEEDUP}x)"
            )
        if size in reference and size in sickle:
            ratio = ours[size].seconds / reference[size].seconds
            needed = sickle[size].seconds / TARGET_SPEEDUP / reference[size].seconds
            print(
                f"         ours' time / reference's at {size:,}: {ratio:.2f} (the target is"
                f" {needed:.2f} in this run: {TARGET_SPEEDUP * sickle[size].rate:,.0f} rec/s)"
            )
    if len(ours) > 1:
        smallest, largest = min(ours), max(ours)
        growth = ours[largest].maxrss_kib / ours[smallest].maxrss_kib
        note = "" if (smallest, largest) == (10_000, 1_000_000) else " (issue 3: 1M vs 10k)"
        print(
            f"  [{verdict(growth <= TARGET_RSS_RATIO)}] ours peak RSS at {largest:,} vs"
            f" {smallest:,}: {growth:.2f}x (target <= {TARGET_RSS_RATIO}x){note}"
        )
    print()
    print("The issue's figures at 100k (rec/s): " + ", ".join(
        f"{name} {rate:,}" for name, rate in ISSUE_FIGURES.items()
    ))  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and run the benchmark (or one of its subprocesses)."""
    parser = bench_common.argument_parser(__doc__, "10000,100000", REPEAT_HELP)
    parser.add_argument(
        "--contenders",
        default="ours,sickle,scythe,reference",
        help="which to run (default ours,sickle,scythe,reference)",
    )
    parser.add_argument(
        "--sickle-batch",
        type=int,
        default=PAGE_SIZE,
        help="rows per sqlite-utils insert_all for sickle and scythe; 1: table.insert per"
        f" record, a commit each (default {PAGE_SIZE})",
    )
    parser.add_argument("--tmp-dir", type=Path, default=None, help="where the databases go")
    parser.add_argument("--serve", type=int, metavar="N", help=argparse.SUPPRESS)
    for mode in ("sickle", "scythe", "reference"):
        parser.add_argument(
            f"--peer-{mode}", nargs=2, metavar=("URL", "DB"), help=argparse.SUPPRESS
        )
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return
    if args.peer_sickle:
        url, db_path = args.peer_sickle
        peer_sickle(url, db_path, args.sickle_batch)
        return
    if args.peer_scythe:
        url, db_path = args.peer_scythe
        peer_scythe(url, db_path, args.sickle_batch)
        return
    if args.peer_reference:
        url, db_path = args.peer_reference
        peer_reference(url, db_path)
        return
    sizes = bench_common.parse_sizes(args.sizes)
    if not sizes or min(sizes) < PAGE_SIZE:
        parser.error(f"sizes must be at least {PAGE_SIZE}")
    chosen = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = set(chosen) - {"ours", "sickle", "scythe", "reference"}
    if unknown:
        parser.error(f"unknown contenders: {', '.join(sorted(unknown))}")

    results: list[Result] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="oai-bench-harvest-", dir=args.tmp_dir) as name:
        tmp = Path(name)
        config = tmp / "config.toml"
        config.write_text(
            f'[provider]\nrepository_identifier = "{REPOSITORY_IDENTIFIER}"\n', encoding="utf-8"
        )
        runners: dict[str, Callable[[str], Callable[[Path], tuple[float, int, str]]]] = {
            "ours": lambda url: lambda db: measure_ours(url, db, config),
            "sickle": lambda url: lambda db: measure_peer("sickle", url, db, args.sickle_batch),
            "scythe": lambda url: lambda db: measure_peer("scythe", url, db, args.sickle_batch),
            "reference": lambda url: lambda db: measure_peer("reference", url, db, 1),
        }
        for size in sizes:
            print(f"N = {size:,}", file=sys.stderr, flush=True)
            with page_server(size) as server:
                for contender in ("ours", "sickle", "scythe", "reference"):
                    if contender not in chosen:
                        continue
                    try:
                        run = runners[contender](server.url)
                        results.append(measure(contender, size, args.repeat, tmp, run))
                    except RuntimeError as exc:
                        if contender != "scythe":
                            raise
                        first = str(exc).strip().splitlines()
                        skipped.append(f"scythe at {size:,} skipped: {first[-1] if first else exc}")
                        print(f"  {skipped[-1]}", file=sys.stderr, flush=True)
    report(results, skipped, args.sickle_batch)


if __name__ == "__main__":
    main()
