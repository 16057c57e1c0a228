"""Provider in process: our WSGI app's time per ListRecords page against a floor (issue 10).

The floor is the least a provider can do for a page: a minimal WSGI app that runs the same
keyset query over the same store (the records table's list index, records changed up to the
list's start only), joins the stored `record_xml` bytes of the page between a fixed envelope
and a plain resumption token, and returns the body. No token signing, no argument checks, no
completeListSize, no HTML view: what is left is reading the rows. Our provider is `make_app`
with the benchmark's settings (page size 100), called the same way.

Both are called as WSGI apps from this process, no server and no sockets, on the store
serving.py builds (cached under bench/results/stores/). For each size it measures, for both:

* walking: a whole ListRecords list page by page, following the tokens (ms a page);
* repeating: the same page (the list's 11th) asked again and again (ms a page);

interleaving the two apps run by run, and prints ours, the floor's and the ratio, with the
target: ours within 1.5x of the floor a page.

    python bench/serving_floor.py                    # 10k and 100k, 3 runs each
    python bench/serving_floor.py --sizes 1000000 --repeat 1
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import bench_common
from bench_common import FIRST_QUERY, PAGE_SIZE, REPOSITORY_IDENTIFIER, next_query, verdict
from serving import DEFAULT_CACHE, ensure_store

from provider.app import make_app
from provider.settings import ProviderSettings

TARGET_RATIO = 1.5
REPEATED_PAGE = 11
REPEATED_CALLS = 300

App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"'
    b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    b' xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/'
    b' http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">'
    b"<responseDate>2026-01-01T00:00:00Z</responseDate>"
    b'<request verb="ListRecords">http://127.0.0.1/oai</request><ListRecords>'
)
_TAIL = b"</ListRecords></OAI-PMH>"


def floor_app(db: Path) -> App:
    """The floor: the keyset query and the stored bytes, nothing else."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    frozen = int(conn.execute("SELECT max(change_seq) FROM records").fetchone()[0])
    first = (
        "SELECT local_datestamp, local_identifier, record_xml FROM records"
        " WHERE change_seq <= ? ORDER BY local_datestamp, local_identifier LIMIT ?"
    )
    after = (
        "SELECT local_datestamp, local_identifier, record_xml FROM records"
        " WHERE change_seq <= ? AND (local_datestamp, local_identifier) > (?, ?)"
        " ORDER BY local_datestamp, local_identifier LIMIT ?"
    )

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        arguments = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        token = arguments.get("resumptionToken", [""])[0]
        if token:
            datestamp, _, identifier = token.partition(" ")
            rows = conn.execute(after, [frozen, datestamp, identifier, PAGE_SIZE + 1]).fetchall()
        else:
            rows = conn.execute(first, [frozen, PAGE_SIZE + 1]).fetchall()
        parts = [_HEAD, *(row[2] for row in rows[:PAGE_SIZE])]
        if len(rows) > PAGE_SIZE:
            last = rows[PAGE_SIZE - 1]
            parts.append(f"<resumptionToken>{last[0]} {last[1]}</resumptionToken>".encode())
        parts.append(_TAIL)
        body = b"".join(parts)
        start_response(
            "200 OK",
            [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return app


def our_app(db: Path) -> App:
    """Our provider, as `oai serve` runs it with the benchmark's settings."""
    settings = ProviderSettings(page_size=PAGE_SIZE, repository_identifier=REPOSITORY_IDENTIFIER)
    return make_app(str(db), settings)


def _call(app: App, query: str) -> bytes:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/oai",
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
    if not status or not status[0].startswith("200"):
        raise RuntimeError(f"{query}: {status}")
    return body


def walk(app: App) -> tuple[float, int, int]:
    """Walk the whole list: (seconds, pages, records)."""
    query: str | None = FIRST_QUERY
    pages = records = 0
    started = time.perf_counter()
    while query is not None:
        body = _call(app, query)
        pages += 1
        records += body.count(b"<record>") + body.count(b"<record ")
        query = next_query(body)
    return time.perf_counter() - started, pages, records


def repeat(app: App) -> float:
    """Seconds a call of the list's REPEATED_PAGE-th page takes, asked REPEATED_CALLS times."""
    query = FIRST_QUERY
    for _ in range(REPEATED_PAGE - 1):
        following = next_query(_call(app, query))
        if following is None:
            raise RuntimeError("the list is shorter than the repeated page")
        query = following
    started = time.perf_counter()
    for _ in range(REPEATED_CALLS):
        _call(app, query)
    return (time.perf_counter() - started) / REPEATED_CALLS


def measure(db: Path, runs: int) -> dict[str, dict[str, float]]:
    """Per app, the median ms a page walking and repeating over `runs` interleaved runs."""
    apps = {"ours": our_app(db), "floor": floor_app(db)}
    walked: dict[str, list[float]] = {name: [] for name in apps}
    repeated: dict[str, list[float]] = {name: [] for name in apps}
    counts: dict[str, tuple[int, int]] = {}
    for _ in range(runs):
        for name, app in apps.items():
            seconds, pages, records = walk(app)
            counts[name] = (pages, records)
            walked[name].append(seconds / pages * 1000)
            repeated[name].append(repeat(app) * 1000)
    if counts["ours"][1] != counts["floor"][1]:
        raise RuntimeError(f"the apps listed different records: {counts}")
    return {
        name: {
            "walk_ms": statistics.median(walked[name]),
            "repeat_ms": statistics.median(repeated[name]),
            "pages": counts[name][0],
            "records": counts[name][1],
        }
        for name in apps
    }


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, measure each size, print the table and the targets."""
    parser = bench_common.argument_parser(__doc__, "10000,100000", "runs per size (median)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    runs = args.repeat
    lines = []
    checks = []
    for size in bench_common.parse_sizes(args.sizes):
        db, _ = ensure_store(args.cache_dir, size, fresh=False)
        print(f"measuring {size:,} records in process", file=sys.stderr, flush=True)
        figures = measure(db, runs)
        ours, floor = figures["ours"], figures["floor"]
        for what in ("walk_ms", "repeat_ms"):
            ratio = ours[what] / floor[what]
            label = "walking the list" if what == "walk_ms" else f"page {REPEATED_PAGE} again"
            lines.append(
                f"{size:>10,}  {label:<18} ours {ours[what]:7.3f} ms a page"
                f"   floor {floor[what]:7.3f} ms   ours/floor {ratio:5.2f}x"
            )
            checks.append(
                f"  [{verdict(ratio <= TARGET_RATIO)}] in-process time a page, {label}, at"
                f" {size:,}: ours {ours[what]:.3f} ms, the floor {floor[what]:.3f} ms ="
                f" {ratio:.2f}x (target <= {TARGET_RATIO}x)"
            )
    print("\n".join(lines))
    print("\nTargets:")
    print("\n".join(checks))


if __name__ == "__main__":
    main()
