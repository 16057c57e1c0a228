"""peak_rss_kib is the calling process's own peak, not one inherited from its parent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PARENT = """
import multiprocessing
from harvester.memory import peak_rss_kib

def child(queue):
    queue.put(peak_rss_kib())

if __name__ == "__main__":
    held = b"x" * (400 << 20)  # the parent's peak: 400 MiB, resident
    context = multiprocessing.get_context("spawn")  # as the page process is started
    queue = context.Queue()
    process = context.Process(target=child, args=(queue,))
    process.start()
    print(peak_rss_kib(), queue.get(timeout=60))
    process.join()
"""


def test_a_spawned_process_reports_its_own_peak_not_its_parents(tmp_path: Path) -> None:
    """A process started by spawn (fork, then exec) takes its parent's peak into its
    ru_maxrss; VmHWM, which peak_rss_kib reads on Linux, is the process's own."""
    script = tmp_path / "parent.py"  # a file: spawn imports the child's function from it
    script.write_text(PARENT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    parent, child = map(int, done.stdout.split())
    assert parent >= 400 << 10
    assert child < 200 << 10  # an interpreter with the harvester imported: tens of MiB
