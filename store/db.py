"""Opening the store: for writing (created and migrated) or for reading (never written).

Writers get WAL, a busy timeout, foreign keys and pending migrations. Readers get a
read-only connection that takes no lock, runs no migration and creates nothing: they
answer while a harvest writes, and on a read-only copy of the mirror.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from store.errors import MissingStore, SchemaError
from store.meta import read_meta, write_meta
from store.schema import apply_migrations, pending_migrations

BUSY_TIMEOUT_MS = 30_000


@dataclass
class Store:
    """An open store: one SQLite connection, used from one thread at a time."""

    # Autocommit mode: transactions are explicit.
    conn: sqlite3.Connection
    path: str
    readonly: bool = False

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one IMMEDIATE transaction: all of it is committed, or none.

        IMMEDIATE takes the write lock up front, so two writers queue on the busy timeout
        instead of failing when a read transaction tries to become a write.
        """
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        """Return a store-wide setting, or None."""
        return read_meta(self.conn, key)

    def set_meta(self, key: str, value: str) -> None:
        """Write a store-wide setting (inside the caller's transaction, if any)."""
        write_meta(self.conn, key, value)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def connect(path: str | Path) -> Store:
    """Open a read-write connection to an existing or new store file without migrating it."""
    target = str(path)
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    # WAL + NORMAL: a commit survives a process crash; only an OS crash can lose the last
    # transactions, never corrupt the file.
    conn.execute("PRAGMA synchronous = NORMAL")
    # A writer's page cache of 32 MB (the default is 2 MB): a harvest inserts into indexes
    # keyed by hashes (match_keys), all over the file. And a checkpoint every 40 MB of WAL
    # rather than every 4 MB: each one syncs, and pages written by several commits are
    # copied once. Measured on a 20k harvest: page loop 7.45 -> 6.09 s.
    conn.execute("PRAGMA cache_size = -32000")
    conn.execute("PRAGMA wal_autocheckpoint = 10000")
    return Store(conn, target)


def _cannot_change(path: Path) -> bool:
    """True when nobody can write the store: a read-only file system, or neither the file
    nor its folder writable by anyone (permission bits, which bind even root's intent)."""
    if os.statvfs(path).f_flag & os.ST_RDONLY:
        return True
    writable = 0o222
    return not (path.stat().st_mode & writable) and not (path.parent.stat().st_mode & writable)


def _reader_connection(path: Path, *, immutable: bool) -> sqlite3.Connection:
    flags = "mode=ro&immutable=1" if immutable else "mode=ro"
    conn = sqlite3.connect(
        f"{path.as_uri()}?{flags}", uri=True, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # The first read opens the WAL index: a WAL store in a folder we cannot write fails here.
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return conn


def open_reader(path: str | Path) -> Store:
    """Open an existing store read-only: no lock taken, no migration, nothing created.

    A store nobody can change (read-only file system, or no write permission on the file
    and its folder) is opened immutable, so SQLite creates no -shm/-wal beside it. Raises
    MissingStore when there is no file at `path`, SchemaError when it is not a store of
    this version (a write command migrates an older one).
    """
    target = Path(path).resolve()
    if not target.is_file():
        raise MissingStore(
            f"{path}: no store here (a write command such as `oai import` or"
            " `oai harvest` creates one)"
        )
    try:
        try:
            conn = _reader_connection(target, immutable=_cannot_change(target))
        except sqlite3.OperationalError:
            # No -shm could be created (a WAL store in a folder this user cannot write):
            # reading it immutable is safe only when no writer can have it open either.
            if not _cannot_change(target) and os.access(target.parent, os.W_OK):
                raise
            if target.with_name(target.name + "-wal").exists() and os.access(target, os.W_OK):
                raise
            conn = _reader_connection(target, immutable=True)
        store = Store(conn, str(path), readonly=True)
        pending = pending_migrations(conn)
    except sqlite3.DatabaseError as exc:
        raise SchemaError(f"{path}: not a store this program can open ({exc})") from exc
    if pending:
        store.close()
        raise SchemaError(
            f"{path}: the store's schema is older than this program's; run a write command"
            " (e.g. `oai works recompute`) to upgrade it"
        )
    return store


def open_store(path: str | Path) -> Store:
    """Open (creating if missing) a store for writing and apply pending migrations.

    Raises SchemaError when the file is not an SQLite database.
    """
    try:
        store = connect(path)
        apply_migrations(store.conn)
    except sqlite3.DatabaseError as exc:
        raise SchemaError(f"{path}: not a store this program can open ({exc})") from exc
    return store


# The page cache (KiB) a large sort is given, with a second sorter thread. SQLite's
# sorter sorts in one thread what fits in the page cache; given less, it sorts runs in a
# helper thread while it reads, then merges them. 100k records' two indexes: 0.95-1.02 s
# with the writer's 32 MB cache, 0.49-0.57 s with 2 MB.
SORT_CACHE_KIB = 2000


@contextlib.contextmanager
def page_cache(conn: sqlite3.Connection, kib: int) -> Iterator[None]:
    """A page cache of `kib` KiB for a block (the connection's own restored after)."""
    cache = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    conn.execute(f"PRAGMA cache_size = -{kib}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA cache_size = {cache}")


@contextlib.contextmanager
def parallel_sorting(conn: sqlite3.Connection) -> Iterator[None]:
    """Sorts (index builds, GROUP BY, ORDER BY) in two threads within a small page cache;
    the connection's cache size and threads restored after."""
    threads = int(conn.execute("PRAGMA threads").fetchone()[0])
    conn.execute("PRAGMA threads = 2")
    try:
        with page_cache(conn, SORT_CACHE_KIB):
            yield
    finally:
        conn.execute(f"PRAGMA threads = {threads}")
