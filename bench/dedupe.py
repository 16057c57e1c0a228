"""Works/dedupe benchmark: full recompute, incremental refresh, their agreement and merge quality.

For each size N it generates N synthetic oai_dc records of a corpus profile (`--corpus`)
with realistic author and title distributions (cached under bench/results/dedupe/ with
their ground truth, so reruns skip the generation), copies the cached store to a working
file and measures, each in a fresh subprocess (so peak RSS, VmHWM from /proc/self/status,
is the measured operation's own; the largest worker process it starts, if any, is reported
apart, with the CPU time of all):

* first: the first refresh after the load (refresh_in_transaction, full=True, on a store whose
  works were never computed: search rows and same-work links of every record too);
  informative;
* full: a full recompute on the up-to-date store (what `oai works recompute` does);
  wall time, records/s, peak RSS, and the WorksReport figures; and the works it leaves
  (live records, works, records in works of two or more) beside the truth's;
* sickle: the harvesting benchmark's Sickle + sqlite-utils loop harvesting the same N
  records from its page server (the same generator, one endpoint), interleaved with the
  full recomputes (`--no-sickle` leaves it out): issue 10 wants the full recompute no
  slower than that harvest;
* incremental: after --change (default 1%) of the live records were changed in this process
  (not timed: titles and creators edited, records replaced by other works, tombstones, new
  duplicates in other sources), refresh() without full: seconds, seconds per 1k changed
  records, peak RSS;
* verify: the working store after the incremental refresh is copied and fully recomputed;
  both stores' work memberships (record_id, work_id) must be identical: MATCH or MISMATCH
  (skipped above 100k records unless --verify, as it costs another full run); works rows,
  evidence, matches and authors are compared too, as detail;
* quality: pairwise precision and recall of the works against the generator's ground truth
  (which records are the same work), after the full recompute and after the incremental
  refresh, with the share of duplicates joined to their original by kind.

The corpus (dedupe_records.PROFILES): `aggregator` (the default) is duplicate-rich as
issue 10's aggregator mirror: re-deposits ~1.2 times as likely as below, 3% tombstones
(their re-deposits elsewhere live on) and dc:rights and dc:format on each record (~1.4 KB
served), so that at 100k the ~97k live records form ~88k works, ~17% of them in works of
two or more. `light` is the corpus the figures before issue 10 were measured on:

The data: ~2,000 surnames drawn with weights 1/rank^1.1 (the top creator keys carry tens of
thousands of records at 1M: "wang j" ~80k), given names written in each
source's house style ("Smith, J. A.", "Smith, John", "John A. Smith", "Smith JA", "SMITH, J.",
or packed into one value), 1-6 creators, titles of 4-15 words from a Zipf-weighted
vocabulary and common templates ("A study of ...", "The role of ... in ..."), dates, a
~300-character description, subjects, publisher, type, a landing URL, a DOI for ~40% of the
works and each source's own identifiers (Zenodo DOIs, arXiv ids, handles). About 8% of the
records are duplicates of another record, re-deposited in another source (title re-cased,
re-punctuated or with one typo, authors written in that source's style, sometimes one
dropped, the year sometimes one later, the same DOI for half of them); there are series
("Part 1", "Part II"), generic titles ("Editorial") and Zenodo versions, each a work of its
own. Candidate keys pair a creator with title words, so surnames alone make no huge group:
4% of the records come from five data collections (PANGAEA-like: "Physical oceanography
during POLARSTERN cruise PS122/1", the same creators, titles differing in numbers, DOIs of
one registrant), the largest ~16k records under one key at 1M. Targets (issues 4 and 10):

* full recompute of 1M records in under 2 minutes on this 2-core machine (for smaller N the
  scaled figure is informative only);
* full recompute of N records no slower than the Sickle loop's harvest of them (issue 10);
* incremental refresh <= 1 s per 1k changed records;
* peak memory bounded (streamed by block, never all pairs in memory): what the refresh adds
  to its process's RSS (peak less the RSS before it began) grows far less than the data,
  judged as at most sqrt(N ratio) times from the smallest N to the largest; bytes per extra
  record are printed too.

    python bench/dedupe.py                                 # 10k and 100k, a few minutes
    python bench/dedupe.py --corpus light                  # the corpus before issue 10
    python bench/dedupe.py --sizes 1000000 --verify        # 1M: ~3 min to generate, once
    python bench/dedupe.py --sizes 100000 --profile        # + cProfile of both refreshes

Stores are cached by size, profile, DATA_VERSION and a digest of store/schema.py (`--fresh`
generates them again); generating 1M records takes ~3 minutes and ~5 GB. Each run copies
the cached store to a working file (removed at the end unless --keep). `--child MODE DB` is
the subprocess entry (not for direct use).

The code: dedupe_vocabulary (word lists and text draws), dedupe_works (sources, people,
works and their variants), dedupe_records (the generated records and their truth),
dedupe_corpus (the cached stores), dedupe_change (the change before the incremental
refresh), dedupe_runs (the measured subprocesses), dedupe_quality (the checks against the
truth and between stores), dedupe_report (the printing); the Sickle loop and its page
server are the harvesting benchmark's (harvesting_runs, harvesting_pages); this script
runs the phases.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import replace
from pathlib import Path

import bench_common
from bench_common import PAGE_SIZE, ROOT
from dedupe_change import Change, apply_change
from dedupe_corpus import NOW, copy_db, ensure_cached, remove_db, store_code_digest
from dedupe_quality import (
    block_stats,
    compare_stores,
    data_stats,
    evaluate,
    truth_shape,
    works_shape,
)
from dedupe_records import DEFAULT_PROFILE, PROFILES
from dedupe_report import Result, print_profile, report
from dedupe_runs import Run, child, run_child
from harvesting_pages import page_server
from harvesting_runs import measure_peer

DEFAULT_CACHE = ROOT / "bench" / "results" / "dedupe"
# Verified by default up to this size; above it only with --verify (another full run).
VERIFY_MAX = 100_000
REPEAT_HELP = "full recomputes per size; the median time (and the highest peak RSS) is reported"

# A profile to print: (its .pstats file, what was profiled).
Profile = tuple[Path, str]


def _sickle_run(url: str, size: int, work_dir: Path, attempt: int) -> tuple[float, int]:
    """One Sickle loop harvest of the page server's list: its seconds and peak RSS (KiB)."""
    db = work_dir / f"sickle-{size}-{attempt}.db"
    remove_db(db)
    try:
        run = measure_peer("sickle", url, db, PAGE_SIZE, size)
    finally:
        remove_db(db)
    print(
        f"  sickle      {run.seconds:8.2f} s, peak RSS {run.maxrss_kib / 1024:7.1f} MiB:"
        f" the Sickle loop harvesting the same {size:,} records ({run.note})",
        file=sys.stderr,
        flush=True,
    )
    return run.seconds, run.maxrss_kib


def _full_runs(
    db: Path, size: int, args: argparse.Namespace, work_dir: Path
) -> tuple[Run, list[float], list[tuple[float, int]]]:
    """`--repeat` full recomputes, each followed by a Sickle loop harvest of the same records
    unless --no-sickle: the median recompute (with the highest peak RSS of all), the seconds
    of each and the Sickle runs (seconds, peak RSS KiB)."""
    runs: list[Run] = []
    sickle: list[tuple[float, int]] = []
    with contextlib.ExitStack() as stack:
        url = None
        if not args.no_sickle:
            server, _ = stack.enter_context(page_server(size, args.corpus))
            url = server.url
        for attempt in range(args.repeat):
            runs.append(run_child("full", db))
            if url is not None:
                sickle.append(_sickle_run(url, size, work_dir, attempt))
    full = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    full = replace(full, hwm_kib=max(r.hwm_kib for r in runs))
    return full, [r.seconds for r in runs], sickle


def _profile_full(db: Path, work_dir: Path, size: int) -> Profile:
    """One more full recompute, under cProfile."""
    profile = (work_dir / f"profile-full-{size}.pstats", f"full recompute at {size:,}")
    run_child("full", db, profile[0])
    return profile


def _change(db: Path, truth_db: Path, share: float) -> Change:
    """Change `share` of the live records (not timed) and say what was changed."""
    change = apply_change(db, truth_db, share)
    print(
        f"  changed {change.total:,} records in {change.seconds:.1f} s (not timed):"
        f" {change.edited:,} edited, {change.retitled:,} replaced by another work,"
        f" {change.deleted:,} deleted, {change.added:,} new duplicates",
        file=sys.stderr,
        flush=True,
    )
    return change


def _incremental(
    db: Path, work_dir: Path, size: int, change: Change, profile: bool
) -> tuple[Run, list[Profile]]:
    """The incremental refresh after the change; with `profile`, one more under cProfile on
    a copy of the changed store (so the measured run is not disturbed)."""
    if not profile:
        return run_child("incremental", db), []
    profiled = work_dir / f"profile-incremental-{size}.db"
    copy_db(db, profiled)
    incremental = run_child("incremental", db)
    label = f"incremental refresh at {size:,} ({change.total:,} changed)"
    path = work_dir / f"profile-incremental-{size}.pstats"
    run_child("incremental", profiled, path)
    remove_db(profiled)
    return incremental, [(path, label)]


def _verify(result: Result, db: Path, work_dir: Path, keep: bool) -> None:
    """Fully recompute a copy of the incrementally refreshed store and compare the two."""
    verify_db = work_dir / f"verify-{result.size}.db"
    copy_db(db, verify_db)
    result.verify_run = run_child("full", verify_db)
    result.differences = compare_stores(db, verify_db)
    result.verify = "MATCH" if result.differences["memberships"][0] == 0 else "MISMATCH"
    if not keep:
        remove_db(verify_db)


def measure_size(
    size: int, args: argparse.Namespace, work_dir: Path, cache_dir: Path
) -> tuple[Result, list[Profile]]:
    """Generate (or reuse) the data of one size and measure it."""
    profile = PROFILES[args.corpus]
    cached, cached_truth, generated = ensure_cached(cache_dir, size, profile, args.fresh)
    work_dir.mkdir(parents=True, exist_ok=True)
    db, truth_db = work_dir / f"work-{size}.db", work_dir / f"work-{size}.truth.db"
    print(f"N = {size:,}: copying the cached store to {db}", file=sys.stderr, flush=True)
    copy_db(cached, db)
    copy_db(cached_truth, truth_db)
    first = run_child("first", db)
    blocks = block_stats(db)
    full, full_runs, sickle = _full_runs(db, size, args, work_dir)
    shapes = (works_shape(db), truth_shape(cached_truth))
    quality = evaluate(db, truth_db)
    profiles = [_profile_full(db, work_dir, size)] if args.profile else []
    change = _change(db, truth_db, args.change)
    incremental, profiled = _incremental(db, work_dir, size, change, args.profile)
    profiles += profiled
    quality_after = evaluate(db, truth_db)
    result = Result(
        size,
        generated,
        first,
        full,
        full_runs,
        change,
        incremental,
        blocks,
        quality,
        quality_after,
        data_stats(cached_truth),
        args.corpus,
        shapes,
        sickle,
    )
    if size <= VERIFY_MAX or args.verify:
        _verify(result, db, work_dir, args.keep)
    if not args.keep:
        remove_db(db)
        remove_db(truth_db)
    return result, profiles


def _parser() -> argparse.ArgumentParser:
    """The command line: the shared options and this benchmark's own."""
    parser = bench_common.argument_parser(__doc__, "10000,100000", REPEAT_HELP)
    parser.add_argument(
        "--corpus",
        choices=tuple(PROFILES),
        default=DEFAULT_PROFILE,
        help=f"the generated records (default {DEFAULT_PROFILE}: duplicate-rich, 3%% tombstones;"
        " light: ~8%% re-deposits, as measured before issue 10)",
    )
    parser.add_argument(
        "--no-sickle",
        action="store_true",
        help="leave out the Sickle loop's harvest of the same records",
    )
    parser.add_argument(
        "--change",
        type=float,
        default=0.01,
        help="share of the live records changed before the incremental refresh (default 0.01)",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help=f"compare incremental and full results above {VERIFY_MAX:,} records too"
        " (another full recompute)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run one full recompute under cProfile and print its top 15 functions",
    )
    parser.add_argument("--keep", action="store_true", help="keep the working stores")
    parser.add_argument("--fresh", action="store_true", help="regenerate the cached stores")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"where generated stores are kept (default {DEFAULT_CACHE.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="where working copies go (default CACHE/work)"
    )
    parser.add_argument("--child", nargs=2, metavar=("MODE", "DB"), help=argparse.SUPPRESS)
    parser.add_argument("--child-profile", help=argparse.SUPPRESS)
    return parser


def _sizes(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[int]:
    """The sizes to measure, once the options are checked (exits on a bad one)."""
    sizes = bench_common.parse_sizes(args.sizes)
    if not sizes or min(sizes) < 1000:
        parser.error("sizes must be at least 1000")
    if not 0 < args.change <= 0.2:
        parser.error("--change must be above 0 and at most 0.2 (past 0.25 refresh goes full)")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return sizes


def run(sizes: list[int], args: argparse.Namespace) -> None:
    """Measure each size, print the report, then the profiles; clean up unless --keep."""
    cache_dir: Path = args.cache_dir
    work_dir: Path = args.work_dir or cache_dir / "work"
    code_before = store_code_digest()
    results: list[Result] = []
    profiles: list[Profile] = []
    for size in sizes:
        result, profiled = measure_size(size, args, work_dir, cache_dir)
        results.append(result)
        profiles += profiled
    report(results)
    code_after = store_code_digest()
    print(f"\nworks/, store/, oaiformat/ code digest: {code_before}")
    if code_after != code_before:
        print(
            f"WARNING: the measured code changed during the run (now {code_after}):"
            " figures may mix versions"
        )
    for path, label in profiles:
        print_profile(path, label)
        if not args.keep:
            path.unlink(missing_ok=True)
    if not args.keep:
        with contextlib.suppress(OSError):
            work_dir.rmdir()


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and run the benchmark (or one measured refresh)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.child:
        mode, db = args.child
        if mode not in NOW or mode == "change":
            parser.error(f"unknown child mode {mode}")
        child(mode, db, args.child_profile)
        return
    run(_sizes(parser, args), args)


if __name__ == "__main__":
    main()
