"""What the dedupe benchmark prints: the figures tables, the details and the targets.

A Result holds everything measured at one size; report() prints the timing table, the
quality table, the details of each size (the data, the candidate groups, the runs, the
change, the quality against the truth, the incremental = full check) and the targets.
"""

from __future__ import annotations

import math
import pstats
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import bench_common
from bench_common import verdict
from dedupe_change import Change
from dedupe_quality import Blocks, Quality, Shape
from dedupe_runs import Run

TARGET_FULL_S = 120.0
TARGET_FULL_AT = 1_000_000
TARGET_INCREMENTAL_S_PER_1K = 1.0
# Issue 10: a full recompute no slower than the Sickle loop's harvest of the same records.
TARGET_FULL_VS_SICKLE = 1.0


@dataclass
class Result:
    """Everything measured at one size."""

    size: int
    generated: float | None
    first: Run
    full: Run
    full_runs: list[float]
    change: Change
    incremental: Run
    blocks: Blocks
    quality: Quality
    quality_after: Quality
    data: tuple[float, float, Counter[str]]
    corpus: str
    # The works after the full recompute, and the truth's (before the change).
    shapes: tuple[Shape, Shape]
    # The Sickle loop's harvests of the same records: (seconds, peak RSS KiB) each.
    sickle: list[tuple[float, int]]
    verify: str = "skipped"
    verify_run: Run | None = None
    differences: dict[str, tuple[int, list[str]]] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Records per second of the full recompute."""
        return self.full.records / self.full.seconds if self.full.seconds else 0.0

    @property
    def sickle_seconds(self) -> float | None:
        """The median Sickle loop harvest's seconds (None when it was not run)."""
        if not self.sickle:
            return None
        return sorted(s for s, _ in self.sickle)[len(self.sickle) // 2]

    def vs_sickle(self) -> str:
        """The full recompute's time over the Sickle loop's harvest ("-" without one)."""
        sickle = self.sickle_seconds
        return f"{self.full.seconds / sickle:.2f}" if sickle else "-"

    @property
    def per_1k(self) -> float:
        """Incremental seconds per 1,000 changed records."""
        return self.incremental.seconds / max(self.incremental.records, 1) * 1000


def _own_kib(run: Run) -> int:
    """What the refresh itself added to its process's peak RSS."""
    return run.hwm_kib - run.rss_before_kib


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


# --------------------------------------------------------------------------------------
# The tables

TIMING: list[bench_common.Column[Result]] = [
    ("N", 9, lambda r: f"{r.size:,}"),
    ("gen s", 6, lambda r: "cached" if r.generated is None else f"{r.generated:.0f}"),
    ("first s", 8, lambda r: f"{r.first.seconds:.2f}"),
    ("full s", 8, lambda r: f"{r.full.seconds:.2f}"),
    ("full rec/s", 10, lambda r: f"{r.rate:,.0f}"),
    ("full CPU s", 10, lambda r: f"{r.full.cpu_seconds:.2f}"),
    ("full MiB", 8, lambda r: f"{r.full.mib:.1f}"),
    ("sickle s", 8, lambda r: "-" if r.sickle_seconds is None else f"{r.sickle_seconds:.2f}"),
    ("full/sickle", 11, lambda r: r.vs_sickle()),
    ("worker MiB", 10, lambda r: f"{r.full.worker_mib:.1f}"),
    ("changed", 7, lambda r: f"{r.incremental.records:,}"),
    ("incr s", 7, lambda r: f"{r.incremental.seconds:.2f}"),
    ("s/1k chg", 8, lambda r: f"{r.per_1k:.3f}"),
    ("incr MiB", 8, lambda r: f"{r.incremental.mib:.1f}"),
    ("verify", 8, lambda r: r.verify),
]
QUALITY: list[bench_common.Column[Result]] = [
    ("N", 9, lambda r: f"{r.size:,}"),
    ("corpus", -10, lambda r: r.corpus),
    ("live", 9, lambda r: f"{r.shapes[0].live:,}"),
    ("in 2+", 6, lambda r: f"{100 * r.shapes[0].shared_share:.1f}%"),
    ("dups", 6, lambda r: _pct(r.data[0])),
    ("DOI", 6, lambda r: _pct(r.data[1])),
    ("max group", 9, lambda r: f"{r.blocks.largest:,}"),
    ("windowed", 8, lambda r: f"{r.blocks.windowed:,}"),
    ("groups", 9, lambda r: f"{r.full.groups:,}"),
    ("matches", 9, lambda r: f"{r.full.matches:,}"),
    ("works", 9, lambda r: f"{r.full.works:,}"),
    ("precision", 9, lambda r: f"{r.quality.precision:.4f}"),
    ("recall", 7, lambda r: f"{r.quality.recall:.4f}"),
    ("F1", 6, lambda r: f"{r.quality.f1:.4f}"),
    ("P after", 7, lambda r: f"{r.quality_after.precision:.4f}"),
    ("R after", 7, lambda r: f"{r.quality_after.recall:.4f}"),
]


def print_tables(results: list[Result]) -> None:
    """The timing table and the quality table, each with its legend."""
    print()
    bench_common.print_table(TIMING, results)
    print()
    print("first: the first refresh after the load (search rows and links of every record too);")
    print("full: full recompute of the up-to-date store; incr: refresh after the change;")
    print("MiB: peak RSS (VmHWM) of the refreshing process, Python and the store opened included;")
    print("worker MiB: peak RSS of the largest worker process it started (0: none); CPU s: user +")
    print("system time of the refreshing process and its workers; sickle s: the Sickle +")
    print("sqlite-utils loop harvesting the same records (median), full/sickle: full s over it")
    print()
    bench_common.print_table(QUALITY, results)
    print()
    print("live: live records; in 2+: their share in works of two or more (after the full")
    print("recompute); works: works written by the full recompute (all of them)")
    print("dups: records that are re-deposits of another; max group: records under the largest")
    print("candidate key; windowed: groups compared in a sliding window; precision/recall:")
    print("pairwise, against the generator's truth, after the full recompute and after the change")


# --------------------------------------------------------------------------------------
# The details of each size


def _print_data(r: Result) -> None:
    """The corpus, the works it formed, the records by kind and the candidate groups."""
    stored, truth = r.shapes
    print(f"  corpus {r.corpus}: after the full recompute {stored.describe()}")
    print(f"    the truth: {truth.describe()}")
    kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(r.data[2].items()))
    print(f"  records by kind: {kinds}")
    authors = ", ".join(f"{k!r} {n:,}" for k, n in r.blocks.top_authors)
    print(
        f"  candidate keys {r.blocks.keys:,}, groups of 2+ {r.blocks.groups:,}, windowed"
        f" {r.blocks.windowed:,} holding {r.blocks.windowed_records:,} key rows;"
        f" biggest creator keys: {authors}"
    )


def _print_runs(r: Result) -> None:
    """The full runs, the first refresh, the change and the incremental refresh."""
    if r.sickle:
        print(
            "  Sickle loop runs (interleaved with the full runs): "
            + ", ".join(f"{s:.2f} s ({kib / 1024:.0f} MiB)" for s, kib in r.sickle)
        )
    print(
        f"  full runs: {', '.join(f'{s:.2f}' for s in r.full_runs)} s; first refresh"
        f" {r.first.seconds:.2f} s ({r.first.relinked:,} relinked, peak {r.first.mib:.1f}"
        f" MiB); before the refresh the process held {r.full.rss_before_kib / 1024:.1f} MiB"
    )
    c = r.change
    print(
        f"  change: {c.total:,} records ({c.edited:,} edited, {c.retitled:,} replaced,"
        f" {c.deleted:,} deleted, {c.added:,} added); incremental: {r.incremental.groups:,}"
        f" groups, {r.incremental.matches:,} matches, {r.incremental.works:,} works written,"
        f" {r.incremental.relinked:,} relinked"
        + (" [took the full path]" if r.incremental.full else "")
    )


def _print_quality(label: str, q: Quality) -> None:
    """The pairs against the truth, the duplicates joined, the false and missed pairs."""
    joined = ", ".join(
        f"{kind} {ok:,}/{n:,} ({_pct(ok / n if n else 1)})"
        for kind, (n, ok) in sorted(q.duplicates.items())
    )
    print(
        f"  quality {label}: pairs predicted {q.predicted_pairs:,}, true"
        f" {q.true_pairs:,}, correct {q.correct_pairs:,}; duplicates joined to their"
        f" original: {joined}"
    )
    if q.unassigned:
        print(f"    WARNING: {q.unassigned:,} live records belong to no work")
    false = "; ".join(f"{a}+{b} {n:,}" for a, b, n in q.false_pairs) or "none"
    missed = "; ".join(f"{a}+{b} {n:,}" for a, b, n in q.missed_pairs) or "none"
    print(f"    false pairs by kinds: {false}")
    print(f"    missed pairs by kinds: {missed}")


def _print_verify(r: Result, v: Run) -> None:
    """The full recompute of the changed store and how its rows compare."""
    print(
        f"  verify: full recompute of a copy after the incremental refresh took"
        f" {v.seconds:.2f} s and relinked {v.relinked:,} records (0 expected);"
        f" memberships {r.verify}"
    )
    for name, (differ, examples) in r.differences.items():
        state = "identical" if differ == 0 else f"{differ:,} rows differ"
        print(f"    {name}: {state}")
        for example in examples:
            print(f"      {example[:300]}")


def print_details(r: Result) -> None:
    """Everything measured at one size, beyond the tables."""
    print()
    print(f"N = {r.size:,}:")
    _print_data(r)
    _print_runs(r)
    for label, q in (("after full", r.quality), ("after change", r.quality_after)):
        _print_quality(label, q)
    if r.verify_run is not None:
        _print_verify(r, r.verify_run)


# --------------------------------------------------------------------------------------
# The targets


def _print_speed_targets(results: list[Result]) -> None:
    """The full recompute (the target at 1M, scaled below it) and the incremental one."""
    for r in results:
        if r.size == TARGET_FULL_AT:
            print(
                f"  [{verdict(r.full.seconds < TARGET_FULL_S)}] full recompute at {r.size:,}:"
                f" {r.full.seconds:.1f} s (target < {TARGET_FULL_S:.0f} s)"
            )
        else:
            scaled = TARGET_FULL_S * r.size / TARGET_FULL_AT
            print(
                f"  [info] full recompute at {r.size:,}: {r.full.seconds:.2f} s (the 1M target"
                f" scaled linearly: {scaled:.1f} s; at this rate 1M would take"
                f" {TARGET_FULL_AT / r.rate if r.rate else float('inf'):.0f} s)"
            )
    for r in results:
        sickle = r.sickle_seconds
        if sickle is None:
            print(f"  [info] full vs the Sickle loop at {r.size:,}: not measured (--no-sickle)")
            continue
        ratio = r.full.seconds / sickle
        print(
            f"  [{verdict(ratio <= TARGET_FULL_VS_SICKLE)}] full recompute at {r.size:,}:"
            f" {r.full.seconds:.2f} s vs the Sickle loop's harvest of the same records"
            f" {sickle:.2f} s = x{ratio:.2f} (target <= x{TARGET_FULL_VS_SICKLE:g})"
        )
    for r in results:
        print(
            f"  [{verdict(r.per_1k <= TARGET_INCREMENTAL_S_PER_1K)}] incremental at"
            f" {r.size:,}: {r.per_1k:.3f} s per 1k changed records ({r.incremental.seconds:.2f} s"
            f" for {r.incremental.records:,}; target <= {TARGET_INCREMENTAL_S_PER_1K} s)"
        )


def _print_agreement_targets(results: list[Result]) -> None:
    """Incremental = full, at each size it was checked."""
    for r in results:
        if r.verify != "skipped":
            ok = r.verify == "MATCH"
            print(f"  [{verdict(ok)}] incremental = full at {r.size:,}: memberships {r.verify}")


def _print_memory_targets(small: Result, large: Result) -> None:
    """Peak memory from the smallest size to the largest: bounded by sqrt of the growth."""
    growth = large.size / small.size
    # The refresh's own memory: its peak less what the process held before it began
    # (Python, the modules, the store opened); a worker's: its whole peak.
    for what, a, b in (
        ("full", _own_kib(small.full), _own_kib(large.full)),
        ("full's largest worker", small.full.worker_kib, large.full.worker_kib),
        ("incremental", _own_kib(small.incremental), _own_kib(large.incremental)),
    ):
        if a <= 0 or b <= 0:
            sizes = [f"{r.size:,}" for r, kib in ((small, a), (large, b)) if kib <= 0]
            print(f"  [info] {what}: none at {' and '.join(sizes)}")
            continue
        ratio = b / a
        slope = (b - a) * 1024 / (large.size - small.size)
        print(
            f"  [{verdict(ratio <= math.sqrt(growth))}] {what} memory at {large.size:,} vs"
            f" {small.size:,}: {b / 1024:.1f} / {a / 1024:.1f} MiB = {ratio:.2f}x for"
            f" {growth:.0f}x the records (bounded: <= sqrt = {math.sqrt(growth):.1f}x);"
            f" {slope:,.0f} bytes per extra record"
        )
    print(
        "  (full and incremental: peak RSS less the RSS before the refresh began; the"
        " whole peaks are in the table)"
    )


def print_targets(results: list[Result]) -> None:
    """Each target and its verdict (or [info] where there is none to judge)."""
    print()
    print("Targets:")
    _print_speed_targets(results)
    _print_agreement_targets(results)
    if len(results) > 1:
        _print_memory_targets(results[0], results[-1])
    else:
        print("  [info] memory: give two sizes or more to compare peak RSS across sizes")


def report(results: list[Result]) -> None:
    """Print the figures tables, the details and the targets."""
    print_tables(results)
    for r in results:
        print_details(r)
    print_targets(results)


def print_profile(path: Path, label: str) -> None:
    """The top 15 functions of a profiled refresh, by cumulative and by own time (cProfile
    sees the refreshing process only, not worker processes it starts)."""
    for order, what in (("cumulative", "cumulative time"), ("tottime", "own (self) time")):
        print(
            f"\nProfile of the {label} (cProfile: the refreshing process only, not its"
            f" workers), top 15 by {what}:"
        )
        stats = pstats.Stats(str(path), stream=sys.stdout)
        stats.strip_dirs().sort_stats(order).print_stats(15)
    sys.stdout.flush()
