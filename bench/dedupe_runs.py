"""The measured refreshes of the dedupe benchmark, each in a fresh subprocess.

run_child() runs `dedupe.py --child MODE DB`, whose child() opens the store, times one
refresh (full for first and full, incremental otherwise) and prints what it did, its
seconds, its CPU time and this process's memory (VmHWM and VmRSS from /proc/self/status,
the largest worker's peak RSS) as one JSON line: so peak RSS is the refresh's own.
"""

from __future__ import annotations

import cProfile
import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench_common import ROOT
from dedupe_corpus import NOW

from store.db import open_store

# The script whose --child runs one refresh.
SCRIPT = str(Path(__file__).resolve().with_name("dedupe.py"))
CHILD_TIMEOUT_S = 7200.0


def _proc_status() -> dict[str, int]:
    """VmHWM and VmRSS of this process, in KiB."""
    values = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0])
    return values


def _cpu_seconds() -> float:
    """User and system CPU time of this process and of its finished children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def child(mode: str, db: str, profile: str | None) -> None:
    """Open the store and time one refresh (full for first/full, incremental otherwise);
    print what it did, its seconds and this process's memory as one JSON line."""
    from works.update import refresh_in_transaction

    store = open_store(db)
    before = _proc_status()
    profiler = cProfile.Profile() if profile else None
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    with store.write() as conn:
        report = refresh_in_transaction(
            conn,
            now=NOW[mode],
            full=mode != "incremental",
        )
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    after = _proc_status()
    # The largest worker process the refresh ran (0 when none): KiB on Linux.
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    store.close()
    if profiler is not None and profile:
        profiler.dump_stats(profile)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "hwm_kib": after["VmHWM"],
                "rss_before_kib": before["VmRSS"],
                "hwm_before_kib": before["VmHWM"],
                "worker_kib": workers,
                "cpu_seconds": cpu,
                "records": report.records,
                "groups": report.groups,
                "matches": report.matches,
                "works": report.works,
                "relinked": report.relinked,
                "full": report.full,
            }
        )
    )


@dataclass
class Run:
    """One measured refresh, as its subprocess reported it."""

    seconds: float
    hwm_kib: int
    rss_before_kib: int
    hwm_before_kib: int
    worker_kib: int
    cpu_seconds: float
    records: int
    groups: int
    matches: int
    works: int
    relinked: int
    full: bool

    @property
    def mib(self) -> float:
        """Peak RSS in MiB."""
        return self.hwm_kib / 1024

    @property
    def worker_mib(self) -> float:
        """Peak RSS of the largest worker process in MiB (0 when none ran)."""
        return self.worker_kib / 1024


def run_child(mode: str, db: Path, profile: Path | None = None) -> Run:
    """Run one refresh in a fresh subprocess."""
    command = [sys.executable, SCRIPT, "--child", mode, str(db)]
    if profile is not None:
        command += ["--child-profile", str(profile)]
    finished = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False
    )
    if finished.returncode != 0:
        tail = "\n".join((finished.stdout + finished.stderr).splitlines()[-30:])
        raise RuntimeError(f"{mode} refresh of {db} exited {finished.returncode}:\n{tail}")
    run = Run(**json.loads(finished.stdout.strip().splitlines()[-1]))
    print(
        f"  {mode:<11} {run.seconds:8.2f} s (CPU {run.cpu_seconds:.1f} s), peak RSS"
        f" {run.mib:7.1f} MiB (before refresh {run.rss_before_kib / 1024:.1f}, largest worker"
        f" {run.worker_mib:.1f}); {run.records:,} records, {run.groups:,} groups,"
        f" {run.matches:,} matches, {run.works:,} works, {run.relinked:,} relinked"
        f"{'' if run.full or mode != 'incremental' else ' (incremental)'}",
        file=sys.stderr,
        flush=True,
    )
    return run
