"""The dedupe benchmark's corpus: duplicate-rich stores with their ground truth, cached.

A cached store holds the generated records of a profile (see dedupe_records), loaded with
the store's own writes, and a side file their ground truth: per live record, its work, its
kind, whether it carries a DOI and the record it duplicates (tombstones have none). Stores
are cached by size, profile, DATA_VERSION and a digest of store/schema.py; each run
measures a copy of one (copy_db).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import sqlite3
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import bench_common
from bench_common import REPOSITORY_IDENTIFIER, ROOT
from dedupe_records import BASE_TIME, Generated, Profile, generate
from dedupe_vocabulary import DATA_VERSION, TRUTH_VERSION
from dedupe_works import SOURCES

from oaiformat.datestamps import format_utc
from store.db import Store, open_store
from store.records import SourceInfo, ensure_source
from store.writes import save_records

LOAD_BATCH = 5000
# The `now` of each measured operation (fixed, so runs are comparable).
NOW = {
    "first": "2024-07-01T00:00:00Z",
    "full": "2024-07-02T00:00:00Z",
    "change": "2024-07-03T00:00:00Z",
    "incremental": "2024-07-03T00:00:01Z",
}

# --------------------------------------------------------------------------------------
# The cached store and its ground truth

_TRUTH_DDL = """
CREATE TABLE truth (
    source TEXT NOT NULL,
    identifier TEXT NOT NULL,
    work INTEGER NOT NULL,
    kind TEXT NOT NULL,
    doi INTEGER NOT NULL,
    of_source TEXT,
    of_identifier TEXT,
    PRIMARY KEY (source, identifier)
) WITHOUT ROWID
"""
INSERT_TRUTH = "INSERT INTO truth VALUES (?, ?, ?, ?, ?, ?, ?)"


def schema_digest() -> str:
    """A digest of store/schema.py: a cached store holds the tables its migrations made, so
    a change there (even to a migration in place) generates the store again."""
    return hashlib.sha256((ROOT / "store" / "schema.py").read_bytes()).hexdigest()[:10]


# The packages whose code a dedupe run measures.
MEASURED_PACKAGES = ("works", "store", "oaiformat")


def store_code_digest() -> str:
    """A digest of the measured packages' code: which version was measured."""
    digest = hashlib.sha256()
    for package in MEASURED_PACKAGES:
        for source in sorted((ROOT / package).glob("*.py")):
            digest.update(f"{package}/{source.name}".encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:12]


def _cache_prefix(size: int, profile: Profile) -> str:
    """What the cached files of a size and profile are named from (`light` keeps the names
    it had before there were profiles)."""
    return f"dedupe-{size}" if profile.name == "light" else f"dedupe-{size}-{profile.name}"


def cache_paths(cache_dir: Path, size: int, profile: Profile) -> tuple[Path, Path]:
    """Where the store of `size` records of `profile` and its ground truth are cached."""
    stem = f"{_cache_prefix(size, profile)}-v{DATA_VERSION}t{TRUTH_VERSION}-{schema_digest()}"
    return cache_dir / f"{stem}.db", cache_dir / f"{stem}.truth.db"


def remove_db(path: Path) -> None:
    """Remove a store file and its WAL and shared-memory files, if any."""
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)


def _add_sources(store: Store) -> None:
    """The sources the records come from, as a harvest would have added them."""
    with store.write() as conn:
        for source in SOURCES:
            info = SourceInfo(
                source.name,
                base_url=f"https://{source.host}/oai",
                repository_name=source.publisher,
            )
            ensure_source(conn, info, format_utc(BASE_TIME))


def _truth_row(item: Generated) -> tuple[Any, ...]:
    """A generated record's row in the truth table."""
    record = item.record
    of = item.of or (None, None)
    return (record.source, record.identifier, item.truth, item.kind, int(item.has_doi), *of)


def _load(store: Store, truth: sqlite3.Connection, batch: list[Generated], done: int) -> None:
    """Save a batch of generated records (`done` saved before it) and add their truth."""
    now = format_utc(BASE_TIME + timedelta(days=200, seconds=done))
    with store.write() as conn:
        save_records(
            conn,
            (g.record for g in batch),
            repository_identifier=REPOSITORY_IDENTIFIER,
            now=now,
        )
    truth.execute("BEGIN")
    truth.executemany(INSERT_TRUTH, [_truth_row(g) for g in batch if g.kind != "deleted"])
    truth.execute("COMMIT")


def build_store(path: Path, truth_path: Path, size: int, profile: Profile) -> float:
    """Generate `size` records of `profile` into a fresh store and their truth into a side
    file; return the seconds taken. Built under temporary names, renamed when complete."""
    building = path.with_name(path.name + ".building")
    truth_building = truth_path.with_name(truth_path.name + ".building")
    remove_db(building)
    remove_db(truth_building)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    store = open_store(building)
    truth = sqlite3.connect(truth_building, isolation_level=None)
    try:
        truth.execute(_TRUTH_DDL)
        _add_sources(store)
        step = max(size // 10, LOAD_BATCH)
        done = 0
        generated = generate(size, profile)
        while batch := list(itertools.islice(generated, LOAD_BATCH)):
            _load(store, truth, batch, done)
            done += len(batch)
            bench_common.print_progress("generated", done, size, started, step, LOAD_BATCH)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
        truth.close()
    os.replace(truth_building, truth_path)
    os.replace(building, path)
    return time.perf_counter() - started


def ensure_cached(
    cache_dir: Path, size: int, profile: Profile, fresh: bool
) -> tuple[Path, Path, float | None]:
    """The cached store and truth of `size` records of `profile`, generated first if needed;
    the third value is the generation time, None when the cache was used."""
    path, truth_path = cache_paths(cache_dir, size, profile)
    if path.exists() and truth_path.exists() and not fresh:
        return path, truth_path, None
    for stale in cache_dir.glob(f"{_cache_prefix(size, profile)}-v*"):
        stale.unlink()
    print(f"generating {size:,} records ({profile.name}) into {path}", file=sys.stderr, flush=True)
    return path, truth_path, build_store(path, truth_path, size, profile)


def copy_db(source: Path, target: Path) -> None:
    """Copy a store file (and its WAL, if any) over `target`."""
    remove_db(target)
    shutil.copyfile(source, target)
    wal = Path(f"{source}-wal")
    if wal.exists() and wal.stat().st_size:
        shutil.copyfile(wal, Path(f"{target}-wal"))
