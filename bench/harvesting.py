"""Harvester benchmark: `oai harvest` against a Sickle loop, oaipmh-scythe and a reference.

Measures the harvester, not the server. For each size N a page server subprocess
(http.server's ThreadingHTTPServer on 127.0.0.1, keep-alive, no compression) renders N
oai_dc records of a corpus into ListRecords pages of 100 once, then serves them from memory
(harvesting_pages). The corpus (`--corpus`) is by default `aggregator`, duplicate-rich as an
aggregator's mirror is (issue 10): the dedupe benchmark's generator (dedupe_records), ~1.4 KB
a record, 3% tombstones, re-deposits across sources with and without DOIs, title variants
and creators in each source's style, so that at 100k the 97k live records form ~88k works
and ~17% of them are in works of two or more. `light` is the dedupe benchmark's earlier
corpus (~8% re-deposits, no tombstones); `uniform` the earlier corpus of this benchmark
(every record a work of its own, ~1.45 KB). Each contender is then timed against the same
server, on a fresh temporary database, the contenders interleaved run by run:

* ours: `python -m oai --db TMP.db -v harvest --url URL --name bench --report-json R`, the
  whole process (start up, Identify, every page, every write, the works update, the
  summary); it must exit 0 and leave the N records (tombstones among them). Where its time
  went (harvesting_runs.Breakdown): start-up, the page loop (the source's seconds in the
  report), the works update (from the source's end to the works update's log line) and
  what follows it (the works commit, the summary, closing the store, exit); the works the
  records formed are read from its database;
* sickle: what a user writes from Sickle's README, `for r in
  Sickle(url).ListRecords(metadataPrefix="oai_dc")`, each record as a row (header fields,
  `r.metadata` as JSON, none for a tombstone) inserted with sqlite-utils `insert_all` in
  batches of 100 (`--sickle-batch 1`: one `table.insert` per record, one commit each);
* scythe: the same loop and inserts with oaipmh-scythe's `Scythe.list_records` (skipped,
  with a note, when it fails);
* reference: a single thread with every page already in memory (fetched first, not timed):
  lxml parses each page, the header and DC fields are pulled out of the tree, and one
  `executemany` writes all rows in one transaction. Its wall time is that timed part only.

Every contender runs as its own process (so the server's and the benchmark's CPU and memory
are not counted); wall time is from start to exit, and peak RSS is the process's
`ru_maxrss` from `os.wait4`. Each run's line also gives what its store takes on disk (the
file and its WAL, and the records table alone). The reference's peak RSS includes all N
pages held in memory.
Targets (issue 10; "x" is the Sickle loop's seconds over ours, the same run):

* the whole `oai harvest`, works update included, >= 1x the Sickle loop;
* ours' page loop >= 2x the Sickle loop;
* ours: the page loop's peak RSS (the report's peak_rss_mib: the larger of the harvest
  process and its page process, before the works update) at the largest N within 1.2x of
  that at the smallest (issue 10 states it for 1M vs 10k; the works update's memory is
  stated apart, and the whole process's peak is printed beside it);
* with `--page-delay 0.1` (the server waits 100 ms before each list page, as a fast real
  repository does) at 20k: the whole `oai harvest` within 1.1x of the server's own time for
  the list (pages x delay).

(The works update's own target is the dedupe benchmark's: a full recompute of the records
no slower than the Sickle loop's harvest of them; it is printed here for information.)
Everything binds and talks to 127.0.0.1 only; servers and contenders are killed at the end.

    python bench/harvesting.py                          # 10k and 100k, aggregator corpus
    python bench/harvesting.py --sizes 100000 --repeat 3 --contenders ours,sickle
    python bench/harvesting.py --corpus uniform         # issue 3's corpus, no duplicates
    python bench/harvesting.py --sizes 20000 --page-delay 0.1 --contenders ours,sickle

`--repeat N` runs each contender N times, interleaved, and reports the median wall time
(and the highest peak RSS). `--serve N` and `--peer-sickle/--peer-scythe/--peer-reference
URL DB` are the subprocess entries (not for direct use).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import bench_common
from bench_common import PAGE_SIZE, REPOSITORY_IDENTIFIER, verdict
from harvesting_pages import CORPORA, DEFAULT_CORPUS, Served, page_server, serve
from harvesting_runs import (
    Result,
    Run,
    measure_ours,
    measure_peer,
    peer_reference,
    peer_scythe,
    peer_sickle,
)

CONTENDERS = ("ours", "sickle", "scythe", "reference")
TARGET_WHOLE = 1.0
TARGET_PAGE_LOOP = 2.0
TARGET_RSS_RATIO = 1.2
# Against a server waiting before each page: ours within this of the server's own time.
TARGET_WAITING = 1.1
# The help of --repeat: which run is reported.
REPEAT_HELP = "runs per contender and size, interleaved; the median wall time is reported"
# Issue 10's figures (this machine, its aggregator corpus at 100k, before the speed work).
ISSUE_FIGURES = (
    "issue 10 at 100k: ours 46.6 s whole (page loop 19.1 s, works update ~31 s), peak RSS"
    " 137 MiB; Sickle loop 10.6 s, 43 MiB (x0.23)"
)

# A contender's one run, given a fresh database path.
Runner = Callable[[Path], Run]


def _times(sickle: float, ours: float) -> str:
    """How many times the Sickle loop's speed `ours` seconds are."""
    return f"x{sickle / ours:.2f}"


def _print_figures(results: list[Result]) -> None:
    """The table of every contender."""
    sickle = {r.size: r for r in results if r.contender == "sickle"}
    reference = {r.size: r for r in results if r.contender == "reference"}
    columns: list[bench_common.Column[Result]] = [
        *bench_common.key_columns("contender", 9, lambda r: r.contender),
        ("wall s", 7, lambda r: f"{r.seconds:.2f}"),
        ("records/s", 9, lambda r: f"{r.rate:,.0f}"),
        ("peak RSS MiB", 12, lambda r: f"{r.maxrss_kib / 1024:.1f}"),
        ("vs sickle", 9, lambda r: _times(sickle[r.size].seconds, r.seconds)
            if r.size in sickle else "-"),
        ("time/reference", 14, lambda r: f"{r.seconds / reference[r.size].seconds:.2f}"
            if r.size in reference else "-"),
        ("runs s", -24, lambda r: " ".join(f"{run.seconds:.2f}" for run in r.runs)),
    ]  # fmt: skip
    print()
    bench_common.print_table(columns, results)


def _print_breakdown(results: list[Result]) -> None:
    """Where ours' time went: its median run's breakdown, against the Sickle loop."""
    sickle = {r.size: r.seconds for r in results if r.contender == "sickle"}
    ours = [r for r in results if r.contender == "ours"]
    if not ours:
        return

    def part(name: str) -> Callable[[Result], str]:
        return lambda r: f"{getattr(r.median.breakdown, name):.2f}"

    def loop(r: Result) -> float:
        return r.median.breakdown.page_loop if r.median.breakdown else float("nan")

    columns: list[bench_common.Column[Result]] = [
        ("N", 9, lambda r: f"{r.size:,}"),
        ("whole s", 8, lambda r: f"{r.seconds:.2f}"),
        ("start-up s", 10, part("startup")),
        ("page loop s", 11, part("page_loop")),
        ("works s", 8, part("works")),
        ("after s", 8, part("tail")),
        ("loop rec/s", 10, lambda r: f"{r.size / loop(r):,.0f}"),
        ("sickle s", 8, lambda r: f"{sickle[r.size]:.2f}" if r.size in sickle else "-"),
        ("whole", 6, lambda r: _times(sickle[r.size], r.seconds) if r.size in sickle else "-"),
        ("loop", 6, lambda r: _times(sickle[r.size], loop(r)) if r.size in sickle else "-"),
    ]
    print()
    print("ours: where the time went (its median run; x: the Sickle loop's seconds over ours)")
    bench_common.print_table(columns, ours)
    for r in ours:
        runs = "; ".join(
            f"{b.startup:.2f} + {b.page_loop:.2f} + {b.works:.2f} + {b.tail:.2f}"
            for b in (run.breakdown for run in r.runs)
            if b is not None
        )
        print(f"  at {r.size:,}, each run (start-up + page loop + works + after): {runs}")


def _print_targets(results: list[Result], waiting: bool) -> None:
    """Each target and its verdict, and the works update for information. Against a
    server that waits (`waiting`) both contenders wait for it: the static server's targets
    are then for information only."""
    sickle = {r.size: r for r in results if r.contender == "sickle"}
    ours = {r.size: r for r in results if r.contender == "ours"}
    print()
    print("Targets:")
    for size in sorted(set(ours) & set(sickle)):
        s, o = sickle[size].seconds, ours[size]
        whole = s / o.seconds
        print(
            f"  [{_judged(whole >= TARGET_WHOLE, waiting)}] whole oai harvest (works update"
            f" included) at {size:,}: {o.seconds:.2f} s vs the Sickle loop's {s:.2f} s ="
            f" x{whole:.2f} (target >= x{TARGET_WHOLE:g})"
        )
        parts = o.median.breakdown
        if parts is None:
            continue
        # The upper median of an even count, as Result.median picks runs.
        page_loop = statistics.median_high([r.breakdown.page_loop for r in o.runs if r.breakdown])
        loop = s / page_loop
        print(
            f"  [{_judged(loop >= TARGET_PAGE_LOOP, waiting)}] page loop at {size:,} (median of"
            f" the runs): {page_loop:.2f} s = x{loop:.2f} the Sickle loop (target >="
            f" x{TARGET_PAGE_LOOP:g})"
        )
        print(
            f"  [info] works update after the harvest at {size:,}: {parts.works:.2f} s ="
            f" {parts.works / s:.2f} of the Sickle loop's time (the dedupe benchmark's target"
            " for a full recompute: <= 1)"
        )
        print(
            f"  [info] peak RSS at {size:,}: ours {o.maxrss_kib / 1024:.1f} MiB (page loop"
            f" {_loop_rss(o) / 1024:.1f} MiB), the Sickle loop"
            f" {sickle[size].maxrss_kib / 1024:.1f} MiB"
        )
    if len(ours) > 1:
        smallest, largest = min(ours), max(ours)
        growth = _loop_rss(ours[largest]) / _loop_rss(ours[smallest])
        whole = ours[largest].maxrss_kib / ours[smallest].maxrss_kib
        note = "" if (smallest, largest) == (10_000, 1_000_000) else " (issue 10: 1M vs 10k)"
        print(
            f"  [{verdict(growth <= TARGET_RSS_RATIO)}] ours page loop's peak RSS at {largest:,}"
            f" vs {smallest:,}: {growth:.2f}x (target <= {TARGET_RSS_RATIO}x){note}; the whole"
            f" process's, works update included: {whole:.2f}x"
        )


def _loop_rss(result: Result) -> int:
    """The highest page-loop peak RSS of a contender's runs (KiB)."""
    return max(r.breakdown.page_loop_rss_kib for r in result.runs if r.breakdown)


def _judged(passed: bool, waiting: bool) -> str:
    """A static-server target's verdict; information only against a waiting server."""
    return "info" if waiting else verdict(passed)


def _print_waiting_target(results: list[Result], served: list[Served], delay: float) -> None:
    """Against a server that waits before each page: ours' whole harvest against the time
    the server needs for the list."""
    print()
    print(f"Against a server that waits {delay:g} s before each list page:")
    pages_of = {item.records: item.pages for item in served}
    for result in results:
        if result.contender != "ours":
            continue
        pages = pages_of[result.size]
        server = pages * delay
        ratio = result.median.seconds / server
        print(
            f"  [{verdict(ratio <= TARGET_WAITING)}] whole oai harvest at {result.size:,}:"
            f" {result.median.seconds:.2f} s, the server's time for the list {server:.2f} s"
            f" ({pages:,} pages) = {ratio:.3f}x (target <= {TARGET_WAITING}x)"
        )


def report(
    results: list[Result],
    served: list[Served],
    skipped: list[str],
    sickle_batch: int,
    delay: float = 0.0,
) -> None:
    """Print the figures tables, the corpus, the breakdown, the ratios and the targets."""
    _print_figures(results)
    print()
    how = "one table.insert per record" if sickle_batch <= 1 else f"insert_all of {sickle_batch}"
    print(f"sickle, scythe: sqlite-utils {how}, default journal (rollback, synchronous FULL)")
    print("reference: timed part only (pages already in memory); its RSS holds every page")
    for note in skipped:
        print(note)
    for result in results:
        if result.contender == "reference":
            print(f"reference at {result.size:,}: {result.median.note}")
    for item in served:
        print(
            f"corpus at {item.records:,}: {item.corpus}, {item.tombstones:,} tombstones,"
            f" {item.bytes / item.records:,.0f} bytes a record served"
            + (f"; the truth: {item.truth.describe()}" if item.truth else "")
        )
    for result in results:
        if result.contender == "ours" and result.median.shape is not None:
            print(f"ours at {result.size:,}: {result.median.shape.describe()}")
    _print_breakdown(results)
    _print_targets(results, waiting=delay > 0)
    if delay:
        _print_waiting_target(results, served, delay)
    print()
    print(ISSUE_FIGURES)


def _parser() -> argparse.ArgumentParser:
    """The command line: the shared options and this benchmark's own."""
    parser = bench_common.argument_parser(__doc__, "10000,100000", REPEAT_HELP)
    parser.add_argument(
        "--corpus",
        choices=CORPORA,
        default=DEFAULT_CORPUS,
        help=f"the records served (default {DEFAULT_CORPUS}: duplicate-rich, 3%% tombstones)",
    )
    parser.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help=f"which to run (default {','.join(CONTENDERS)})",
    )
    parser.add_argument(
        "--sickle-batch",
        type=int,
        default=PAGE_SIZE,
        help="rows per sqlite-utils insert_all for sickle and scythe; 1: table.insert per"
        f" record, a commit each (default {PAGE_SIZE})",
    )
    parser.add_argument(
        "--page-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="the page server waits this long before each list page, as a real repository"
        " does (issue 10 measures 0.1 s at 20,000 records; default 0: a static server)",
    )
    parser.add_argument("--tmp-dir", type=Path, default=None, help="where the databases go")
    parser.add_argument("--serve", type=int, metavar="N", help=argparse.SUPPRESS)
    for mode in CONTENDERS[1:]:
        parser.add_argument(
            f"--peer-{mode}", nargs=2, metavar=("URL", "DB"), help=argparse.SUPPRESS
        )
    return parser


def _subprocess_entry(args: argparse.Namespace) -> bool:
    """Run the page server or a peer when asked to; whether one was asked for."""
    if args.serve:
        serve(args.serve, args.corpus, args.page_delay)
    elif args.peer_sickle:
        url, db = args.peer_sickle
        peer_sickle(url, db, args.sickle_batch)
    elif args.peer_scythe:
        url, db = args.peer_scythe
        peer_scythe(url, db, args.sickle_batch)
    elif args.peer_reference:
        url, db = args.peer_reference
        peer_reference(url, db)
    else:
        return False
    return True


def runners(url: str, served: Served, config: Path, batch: int) -> dict[str, Runner]:
    """Each contender's one run against the list at `url`."""
    size, live = served.records, served.live
    return {
        "ours": lambda db: measure_ours(url, db, config, (size, live)),
        "sickle": lambda db: measure_peer("sickle", url, db, batch, size),
        "scythe": lambda db: measure_peer("scythe", url, db, batch, size),
        "reference": lambda db: measure_peer("reference", url, db, 1, size),
    }


def run_once(name: str, size: int, attempt: int, tmp: Path, runner: Runner) -> Run:
    """One run of a contender on a fresh database, removed afterwards."""
    db = tmp / f"{name}-{size}-{attempt}.db"
    try:
        run = runner(db)
    finally:
        for leftover in tmp.glob(f"{db.name}*"):
            leftover.unlink()
    parts = run.breakdown
    where = (
        f"; start-up {parts.startup:.2f} + page loop {parts.page_loop:.2f} + works"
        f" {parts.works:.2f} + after {parts.tail:.2f} s"
        if parts
        else ""
    )
    print(
        f"  {name:<9} N={size:>9,}: {run.seconds:7.2f} s, {size / run.seconds:>8,.0f} rec/s,"
        f" peak RSS {run.maxrss_kib / 1024:6.1f} MiB ({run.note}){where}",
        file=sys.stderr,
        flush=True,
    )
    return run


def measure_size(
    size: int, args: argparse.Namespace, chosen: list[str], tmp: Path, config: Path
) -> tuple[list[Result], Served, list[str]]:
    """Every chosen contender against one list, `--repeat` times, interleaved."""
    print(f"N = {size:,} ({args.corpus})", file=sys.stderr, flush=True)
    skipped: list[str] = []
    with page_server(size, args.corpus, args.page_delay) as (server, served):
        run = runners(server.url, served, config, args.sickle_batch)
        runs: dict[str, list[Run]] = {name: [] for name in chosen}
        for attempt in range(args.repeat):
            for name in chosen:
                if name in runs:
                    try:
                        runs[name].append(run_once(name, size, attempt, tmp, run[name]))
                    except RuntimeError as exc:
                        if name != "scythe":
                            raise
                        first = str(exc).strip().splitlines()
                        skipped.append(f"scythe at {size:,} skipped: {first[-1] if first else exc}")
                        print(f"  {skipped[-1]}", file=sys.stderr, flush=True)
                        del runs[name]
    return [Result(name, size, found) for name, found in runs.items()], served, skipped


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and run the benchmark (or one of its subprocesses)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if _subprocess_entry(args):
        return
    sizes = bench_common.parse_sizes(args.sizes)
    if not sizes or min(sizes) < PAGE_SIZE:
        parser.error(f"sizes must be at least {PAGE_SIZE}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    chosen = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = set(chosen) - set(CONTENDERS)
    if unknown:
        parser.error(f"unknown contenders: {', '.join(sorted(unknown))}")

    results: list[Result] = []
    served: list[Served] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="oai-bench-harvest-", dir=args.tmp_dir) as name:
        tmp = Path(name)
        config = tmp / "config.toml"
        config.write_text(
            f'[provider]\nrepository_identifier = "{REPOSITORY_IDENTIFIER}"\n', encoding="utf-8"
        )
        for size in sizes:
            found, listed, missing = measure_size(size, args, chosen, tmp, config)
            results += found
            served.append(listed)
            skipped += missing
    report(results, served, skipped, args.sickle_batch, args.page_delay)


if __name__ == "__main__":
    main()
