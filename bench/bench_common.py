"""What the benchmarks in bench/ (serving.py and harvesting.py; dedupe.py in part) share.

* The constants both use: the repository root, the address everything binds to, the page
  size, the repository identifier, how long a server subprocess may take to start.
* The synthetic vocabulary and the random draws both record generators are built from (a
  sentence, a date, a creator, a subject). Each draw takes from the generator in a fixed
  order, so a record number still gives the same record, every run.
* A server subprocess that announces its port on stderr: started, waited for, its peak
  RSS read from /proc, killed at the end.
* The client side of a ListRecords list: the query for the first page, and the query for
  the next one from the resumptionToken at the end of a body.
* The command line both take (`--sizes`, `--repeat`), the figures table (its first two
  columns and its printing) and the PASS/MISS verdict of a target.

Both scripts run as `python bench/<script>.py`, so bench/ is sys.path[0]; they import this
module as `bench_common`, a name that shadows no other module.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from xml.sax.saxutils import unescape

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PAGE_SIZE = 100
REPOSITORY_IDENTIFIER = "bench.example.org"
START_TIMEOUT_S = 600.0

# --------------------------------------------------------------------------------------
# Synthetic records: the vocabulary and the draws

_WORD_TEXT = (
    "analysis model data network learning system method approach study results evidence "
    "framework dynamics structure process theory measurement signal energy climate ocean "
    "protein cell gene population health policy economic market social urban rural water "
    "soil carbon sensor image language corpus archive metadata repository protocol open "
    "access scholarly communication citation impact quality assessment survey experiment "
    "simulation optimisation algorithm distributed parallel scalable robust efficient "
    "novel comparative longitudinal regional global local temporal spatial statistical "
    "bayesian neural graph semantic ontology interoperability preservation digital library "
    "heritage museum collection education student teacher curriculum research innovation"
)
_SURNAME_TEXT = (
    "Stirrup Okafor Lindqvist Moreau Tanaka Novak Haddad Silva Kowalski Nguyen Schmidt "
    "Rossi Fernandez O'Brien Petrov Jansen Dubois Kim Chen Garcia Müller Andersson Costa "
    "Ibrahim Yamamoto Horvath Papadopoulos Murphy Walsh Ahmed"
)
WORDS = tuple(_WORD_TEXT.split())
SURNAMES = tuple(_SURNAME_TEXT.split())
TYPES = ("Text", "Article", "Conference paper", "Dataset", "Thesis", "Report")
LANGUAGES = ("en", "en", "en", "de", "fr", "es")
PUBLISHERS = ("University Press", "Example Society", "Open Repository Consortium")


def sentence(rng: random.Random, low: int, high: int) -> str:
    """A capitalised sentence (no full stop) of `low` to `high` words."""
    words = rng.choices(WORDS, k=rng.randint(low, high))
    return " ".join(words).capitalize()


def random_date(rng: random.Random) -> tuple[int, str]:
    """A year from 1995 to 2024 and a date in it, YYYY-MM-DD (days 1-28 of any month)."""
    year = rng.randint(1995, 2024)
    return year, f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def random_creator(rng: random.Random) -> str:
    """A creator's name: "Surname, I."."""
    return f"{rng.choice(SURNAMES)}, {chr(65 + rng.randrange(26))}."


def random_subject(rng: random.Random) -> str:
    """A subject of two words."""
    return " ".join(rng.choices(WORDS, k=2))


# --------------------------------------------------------------------------------------
# Server subprocesses

# The servers print their base URL on stderr once they listen: `oai serve`, pyoai's server
# (serving.py --serve-peer) and the page server (harvesting.py --serve).
_SERVING = re.compile(r"http://127\.0\.0\.1:(\d+)/oai")


@dataclass
class Server:
    """A server subprocess and the port it serves on."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: collections.deque[str]
    start_seconds: float

    @property
    def url(self) -> str:
        """The OAI-PMH base URL it serves."""
        return f"http://{HOST}:{self.port}/oai"

    def peak_rss_kib(self) -> tuple[int, int]:
        """Return (VmHWM, VmRSS) of the server process, in KiB."""
        values = {}
        with open(f"/proc/{self.process.pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    values[key] = int(rest.split()[0])
        return values["VmHWM"], values["VmRSS"]


def _drain(stream: Any, log: collections.deque[str], port_found: threading.Event) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip()
        log.append(line)
        if _SERVING.search(line):
            port_found.set()


@contextlib.contextmanager
def running(name: str, command: list[str], poll_s: float = 0.01) -> Iterator[Server]:
    """Start a server subprocess in ROOT that announces its port on stderr; kill it afterwards.

    Its stderr is kept (the last 200 lines) in the Server's log; it is checked for the
    announcement every `poll_s` seconds, which bounds the error of the start time measured.
    """
    process = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    log: collections.deque[str] = collections.deque(maxlen=200)
    found = threading.Event()
    drainer = threading.Thread(target=_drain, args=(process.stderr, log, found), daemon=True)
    drainer.start()
    try:
        started = time.monotonic()
        while not found.wait(poll_s):
            if process.poll() is not None or time.monotonic() > started + START_TIMEOUT_S:
                raise RuntimeError(f"{name} server did not start:\n" + "\n".join(log))
        port = next(int(m.group(1)) for line in log if (m := _SERVING.search(line)))
        yield Server(name, process, port, log, time.monotonic() - started)
    finally:
        process.kill()
        process.wait(timeout=30)
        drainer.join(timeout=5)


# --------------------------------------------------------------------------------------
# ListRecords clients

FIRST_QUERY = "verb=ListRecords&metadataPrefix=oai_dc"
_TOKEN = re.compile(rb"<resumptionToken[^>]*>([^<]*)</resumptionToken>")


def next_query(body: bytes) -> str | None:
    """The query for the page after the ListRecords page `body`; None at the list's end.

    The list ends where the body has no resumptionToken or an empty one. The token is at the
    end of the body: it is searched for from its last start tag only.
    """
    match = _TOKEN.search(body, max(0, body.rfind(b"<resumptionToken")))
    if match is None or not match.group(1).strip():
        return None
    token = unescape(match.group(1).decode("utf-8").strip())
    return "verb=ListRecords&resumptionToken=" + urllib.parse.quote(token, safe="")


# --------------------------------------------------------------------------------------
# Arguments and reports


Row = TypeVar("Row")
# A column of a figures table: (heading, width, cell); see print_table.
Column = tuple[str, int, Callable[[Row], str]]


def argument_parser(doc: str, default_sizes: str, repeat_help: str) -> argparse.ArgumentParser:
    """A parser described by `doc`'s first paragraph, with the options both scripts take.

    `--sizes`, record counts for parse_sizes (`default_sizes` when not given), and
    `--repeat`, how many times each figure is measured (1 when not given; `repeat_help`
    says which run is reported).
    """
    parser = argparse.ArgumentParser(description=doc.split("\n\n", maxsplit=1)[0])
    parser.add_argument(
        "--sizes",
        default=default_sizes,
        help=f"comma-separated record counts (default {default_sizes})",
    )
    parser.add_argument("--repeat", type=int, default=1, help=f"{repeat_help} (default 1)")
    return parser


def print_progress(verb: str, done: int, size: int, started: float, step: int, batch: int) -> None:
    """A line on stderr each `step` records (and at the end) while a store is built."""
    if done % step < batch or done == size:
        elapsed = time.perf_counter() - started
        print(
            f"  {verb} {done:,}/{size:,} records in {elapsed:.0f} s ({done / elapsed:,.0f} rec/s)",
            file=sys.stderr,
            flush=True,
        )


def parse_sizes(text: str) -> list[int]:
    """The record counts of `--sizes` ("10000,100_000"), without repeats, smallest first."""
    return sorted({int(s.replace("_", "")) for s in text.split(",") if s.strip()})


def verdict(ok: bool) -> str:
    """How a target's line is marked: PASS or MISS."""
    return "PASS" if ok else "MISS"


def key_columns(heading: str, width: int, label: Callable[[Any], str]) -> list[Column[Any]]:
    """The columns both tables start with: what was measured (`label`, left-aligned in
    `width` characters under `heading`) and N, the `size` of the row (records in the list).
    """
    return [(heading, -width, label), ("N", 9, lambda r: f"{r.size:,}")]


def print_table(columns: Sequence[Column[Row]], rows: Iterable[Row]) -> None:
    """Print a header, a rule under it and a line a row.

    Each column is (heading, width, cell): a negative width left-aligns the column in
    -width characters, a positive one right-aligns it.
    """

    def line(cells: list[str]) -> str:
        return " ".join(
            cell.ljust(-width) if width < 0 else cell.rjust(width)
            for cell, (_, width, _) in zip(cells, columns, strict=True)
        )

    head = line([name for name, _, _ in columns])
    print(head)
    print("-" * len(head))
    for row in rows:
        print(line([cell(row) for _, _, cell in columns]))
