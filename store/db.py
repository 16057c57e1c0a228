"""Opening the store: WAL, busy timeout, foreign keys, migrations and store-wide settings."""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from store.errors import SchemaError
from store.meta import read_meta, write_meta
from store.schema import migrations

BUSY_TIMEOUT_MS = 30_000


@dataclass
class Store:
    """An open store: one SQLite connection, used from one thread at a time."""

    db: Database
    path: str

    @property
    def conn(self) -> sqlite3.Connection:
        """The underlying connection (autocommit mode; transactions are explicit)."""
        return self.db.conn

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


def connect(path: str | Path, *, readonly: bool = False) -> Store:
    """Open a connection to an existing or new store file without migrating it."""
    target = str(path)
    if readonly:
        conn = sqlite3.connect(
            f"file:{Path(target).resolve()}?mode=ro",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
        )
    else:
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL: a commit survives a process crash; only an OS crash can lose the last
        # transactions, never corrupt the file.
        conn.execute("PRAGMA synchronous = NORMAL")
    return Store(Database(conn, execute_plugins=False), target)


def open_store(path: str | Path) -> Store:
    """Open (creating if missing) a store and apply pending migrations.

    Raises SchemaError when the file is not an SQLite database.
    """
    try:
        store = connect(path)
        migrations.apply(store.db)
    except sqlite3.DatabaseError as exc:
        raise SchemaError(f"{path}: not a store this program can open ({exc})") from exc
    return store


def token_secret(store: Store) -> str:
    """Return the resumption-token signing secret, generating and keeping one on first use."""
    secret = store.get_meta("token_secret")
    if secret is None:
        with store.write():
            secret = store.get_meta("token_secret")
            if secret is None:
                secret = secrets.token_urlsafe(32)
                store.set_meta("token_secret", secret)
    return secret
