"""Records and sources in the store: the Record and SourceInfo types, source rows, look-ups."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from oaiformat import dublin_core
from oaiformat.identifiers import (
    LOCAL_SOURCE,
    local_identifier,
)
from oaiformat.namespaces import NS_OAI_DC
from oaiformat.record import Record
from store.errors import IdentifierConflict, UnknownRecord
from store.meta import read_meta, write_meta
from store.schema import RECEIVED_XML
from store.tables import RECORDS, SOURCES


@dataclass
class SaveCounts:
    """What save_records() did."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0

    def add(self, other: SaveCounts) -> None:
        """Add another count into this one."""
        self.added += other.added
        self.updated += other.updated
        self.deleted += other.deleted
        self.unchanged += other.unchanged


@dataclass(frozen=True)
class SourceInfo:
    """A source row: where its records come from and in which format."""

    name: str
    base_url: str | None = None
    metadata_prefix: str = "oai_dc"
    metadata_namespace: str = NS_OAI_DC
    set_spec: str | None = None
    repository_name: str | None = None


def ensure_source(conn: sqlite3.Connection, source: SourceInfo, now: str) -> None:
    """Insert the source, or update its description; keeps created_at."""
    conn.execute(
        f"INSERT INTO {SOURCES} (name, base_url, metadata_prefix, metadata_namespace, set_spec,"
        " repository_name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET base_url = excluded.base_url,"
        " metadata_prefix = excluded.metadata_prefix,"
        " metadata_namespace = excluded.metadata_namespace, set_spec = excluded.set_spec,"
        " repository_name = coalesce(excluded.repository_name, repository_name)",
        [
            source.name,
            source.base_url,
            source.metadata_prefix,
            source.metadata_namespace,
            source.set_spec,
            source.repository_name,
            now,
        ],
    )


def load_source(conn: sqlite3.Connection, name: str) -> SourceInfo | None:
    """Return the source row, or None."""
    row = conn.execute(
        f"SELECT name, base_url, metadata_prefix, metadata_namespace, set_spec, repository_name"
        f" FROM {SOURCES} WHERE name = ?",
        [name],
    ).fetchone()
    return None if row is None else SourceInfo(*row)


def row_to_record(row: sqlite3.Row | tuple[object, ...]) -> Record:
    """Build a Record from a row of RECORD_COLUMNS."""
    source, identifier, datestamp_raw, deleted, sets, metadata, metadata_xml, publishable = row
    return Record(
        source=str(source),
        identifier=str(identifier),
        datestamp=str(datestamp_raw),
        deleted=bool(deleted),
        sets=tuple(json.loads(str(sets))),
        metadata={} if metadata is None else dublin_core.from_json(json.loads(str(metadata))),
        metadata_xml=None if metadata_xml is None else str(metadata_xml),
        publishable=bool(publishable),
    )


_RECORD_FIELDS = "source, identifier, datestamp_raw, deleted, sets, metadata"
RECORD_COLUMNS = f"{_RECORD_FIELDS}, {RECEIVED_XML}, publishes_received"
# The same for readers of the fields only (export): no received XML (NULL), which is cut
# out of each row's record_xml (0.28 -> 0.65-1.1 s to read 100k rows).
RECORD_FIELD_COLUMNS = f"{_RECORD_FIELDS}, NULL, 0"


def find_record_id(conn: sqlite3.Connection, identifier: str) -> int:
    """Return the row id of the record with this local identifier, or origin identifier.

    Raises UnknownRecord when none matches, or when an origin identifier is ambiguous
    across sources.
    """
    row = conn.execute(
        f"SELECT id FROM {RECORDS} WHERE local_identifier = ?", [identifier]
    ).fetchone()
    if row is not None:
        return int(row[0])
    # Naming the sources lets SQLite use the (source, identifier) index: no full scan.
    rows = conn.execute(
        f"SELECT id, source FROM {RECORDS} WHERE identifier = ?"
        f" AND source IN (SELECT name FROM {SOURCES})",
        [identifier],
    ).fetchall()
    if not rows:
        raise UnknownRecord(f"no record has the identifier {identifier!r}")
    if len(rows) > 1:
        names = ", ".join(sorted(str(r[1]) for r in rows))
        raise UnknownRecord(
            f"identifier {identifier!r} is in several sources ({names}); "
            "give this repository's identifier instead"
        )
    return int(rows[0][0])


def ensure_repository_identifier(conn: sqlite3.Connection, repository_identifier: str) -> None:
    """Check that the store publishes under `repository_identifier`; record it the first time.

    Raises IdentifierConflict as check_repository_identifier() does.
    """
    if not check_repository_identifier(conn, repository_identifier):
        write_meta(conn, "repository_identifier", repository_identifier)


def check_repository_identifier(conn: sqlite3.Connection, repository_identifier: str) -> bool:
    """Return whether the store has recorded `repository_identifier` (a read).

    Raises IdentifierConflict when harvested records are already published under another
    namespace: re-publishing them would silently drop identifiers harvesters know, which a
    repository declaring deletedRecord=persistent must not do.
    """
    if read_meta(conn, "repository_identifier") == repository_identifier:
        return True
    # Naming the sources lets SQLite use the (source, identifier) index instead of scanning
    # a store of local records only (seconds at 1M records).
    sample = conn.execute(
        f"SELECT source, identifier, local_identifier FROM {RECORDS}"
        f" WHERE source IN (SELECT name FROM {SOURCES} WHERE name != ?) LIMIT 1",
        [LOCAL_SOURCE],
    ).fetchone()
    if sample is not None and sample[2] != local_identifier(repository_identifier, *sample[:2]):
        published = str(sample[2]).split(":")[1]
        raise IdentifierConflict(
            f"this store publishes harvested records under the namespace {published!r}, not"
            f" {repository_identifier!r}: set [provider] repository_identifier back, or"
            " harvest into a new store"
        )
    return False
