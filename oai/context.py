"""What every command gets: the settings, and the store opened for writing or for reading."""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import click

from oai.config import Config
from oaiformat.datestamps import format_utc
from provider.token_keys import ensure_secret_file
from store.db import Store, open_reader, open_store
from store.errors import StoreError
from store.records import ensure_repository_identifier
from works.report import WorksReport
from works.update import records_behind, refresh

logger = logging.getLogger(__name__)


class Context:
    """What every command gets: the settings (with --db applied), read when a command first
    asks for them. The global options may follow the command's name, so they are all known
    only when the command runs: a broken ./config.toml must not fail `oai search x --config
    good.toml` before its --config is seen."""

    def __init__(self, load: Callable[[], Config], *, quiet: bool = False) -> None:
        self._load = load
        # -q: a command that succeeds prints nothing (cron mails nothing); errors still go
        # to stderr, and data asked for (export, search, listings) still goes to stdout.
        self.quiet = quiet

    @functools.cached_property
    def config(self) -> Config:
        """The settings, read once (a broken file is a one-line CLI error)."""
        return self._load()

    def say(self, line: str) -> None:
        """Print what a write command did (nothing under -q)."""
        if not self.quiet:
            click.echo(line)

    @contextmanager
    def store(self) -> Iterator[Store]:
        """Open the configured store for a write command: created and migrated if need be,
        its repository identifier checked. Store errors become one-line CLI errors."""
        try:
            store = open_store(self.config.store.path)
            with store.write() as conn:
                ensure_repository_identifier(conn, self.config.provider.repository_identifier)
            # Kept beside the store, not in it, so a provider reading it signs tokens that
            # survive restarts (provider.token_keys).
            ensure_secret_file(self.config.store.path, self.config.provider)
        except (StoreError, sqlite3.Error, OSError) as exc:
            raise click.ClickException(f"{self.config.store.path}: {exc}") from exc
        try:
            yield store
        except StoreError as exc:
            raise click.ClickException(str(exc)) from exc
        finally:
            store.close()

    @contextmanager
    def reader(self) -> Iterator[Store]:
        """Open the configured store for a read command: read-only, no lock, no migration,
        nothing created. Says on stderr when the works lag behind the records (a refresh
        failed or was cut short); the answer is still given."""
        try:
            store = open_reader(self.config.store.path)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from exc
        try:
            behind = records_behind(store.conn)
            if behind:
                logger.warning(
                    "works are behind the records (%d records written since the last works"
                    " update); the next write command, or `oai works recompute`, catches up",
                    behind,
                )
            yield store
        except (StoreError, sqlite3.Error) as exc:
            raise click.ClickException(f"{self.config.store.path}: {exc}") from exc
        finally:
            store.close()

    def refresh_works(
        self,
        store: Store,
        *,
        full: bool = False,
        change: Callable[[sqlite3.Connection], Sequence[int]] | None = None,
    ) -> WorksReport:
        """Bring the store's works up to date (what every write command ends with)."""
        return refresh(store, full=full, change=change)


def now() -> str:
    """The current time as a local datestamp."""
    return format_utc(datetime.now(UTC))
