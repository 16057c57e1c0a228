"""What every command gets: the settings, and the store opened the same way each time."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import click

from oai.config import Config
from store.datestamps import format_utc
from store.db import Store, open_store
from store.errors import StoreError
from store.records import ensure_repository_identifier


@dataclass(frozen=True)
class Context:
    """What every command gets: the settings (with --db applied)."""

    config: Config

    @contextmanager
    def store(self) -> Iterator[Store]:
        """Open the configured store, turning store errors into one-line CLI errors."""
        try:
            store = open_store(self.config.store.path)
            with store.write() as conn:
                ensure_repository_identifier(conn, self.config.provider.repository_identifier)
        except (StoreError, sqlite3.Error) as exc:
            raise click.ClickException(f"{self.config.store.path}: {exc}") from exc
        try:
            yield store
        finally:
            store.close()


def now() -> str:
    """The current time as a local datestamp."""
    return format_utc(datetime.now(UTC))
