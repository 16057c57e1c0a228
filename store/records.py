"""Records in the store: the Record dataclass, upserts with tombstones, and look-ups."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from store import dublin_core
from store.datestamps import normalise
from store.dublin_core import DCValue
from store.errors import IdentifierConflict, UnknownRecord
from store.identifiers import (
    LOCAL_SOURCE,
    local_identifier,
    published_set_specs,
    with_ancestors,
)
from store.render import Provenance, render
from store.schema import RECORD_SETS, RECORDS, SOURCES, STORE_META

_XSD_DATE_OR_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$", re.ASCII
)


@dataclass(frozen=True)
class Record:
    """One record as its origin describes it (identifier, datestamp and sets at the origin)."""

    source: str
    identifier: str
    datestamp: str
    deleted: bool = False
    sets: tuple[str, ...] = ()
    metadata: Mapping[str, Sequence[DCValue]] = field(default_factory=dict)
    metadata_xml: str | None = None


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
    metadata_namespace: str = dublin_core.NS_OAI_DC
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


def content_hash(
    record: Record, normalised_datestamp: str, sets_json: str, metadata_json: str | None
) -> str:
    """Hash of everything the provider's dissemination of a record depends on."""
    parts = (
        str(record.deleted),
        record.datestamp,
        normalised_datestamp,
        sets_json,
        metadata_json or "",
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _existing_rows(
    conn: sqlite3.Connection, records: Sequence[Record | PreparedRecord]
) -> dict[tuple[str, str], tuple[int, str, int]]:
    """(source, identifier) -> (id, content_hash, deleted) of the records already stored."""
    found: dict[tuple[str, str], tuple[int, str, int]] = {}
    keys = sorted({(r.source, r.identifier) for r in records})
    for start in range(0, len(keys), 400):
        chunk = keys[start : start + 400]
        where = " OR ".join(["(source = ? AND identifier = ?)"] * len(chunk))
        params = [value for key in chunk for value in key]
        for source, identifier, row_id, digest, deleted in conn.execute(
            f"SELECT source, identifier, id, content_hash, deleted FROM {RECORDS} WHERE {where}",
            params,
        ):
            found[(str(source), str(identifier))] = (int(row_id), str(digest), int(deleted))
    return found


def _provenance_datestamp(raw: str, normalised: str) -> str:
    # Provenance copies the origin's datestamp in its own granularity when it is a legal
    # xs:date/xs:dateTime; anything stranger is published normalised.
    return raw if _XSD_DATE_OR_DATETIME.fullmatch(raw) else normalised


def current_change_seq(conn: sqlite3.Connection) -> int:
    """Return the number of the last write that changed a record (0 before any)."""
    row = conn.execute(f"SELECT value FROM {STORE_META} WHERE key = 'change_seq'").fetchone()
    return 0 if row is None else int(row[0])


def _next_change_seq(conn: sqlite3.Connection) -> int:
    seq = current_change_seq(conn) + 1
    conn.execute(
        f"INSERT INTO {STORE_META} (key, value) VALUES ('change_seq', ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [str(seq)],
    )
    return seq


# Rendered with this in place of the local datestamp, which is known only when the record
# is written (a record may be prepared in another process, ahead of its write).
STAMP_PLACEHOLDER = "0000-00-00T00:00:00Z"
_STAMP_ELEMENT = f"<datestamp>{STAMP_PLACEHOLDER}</datestamp>".encode()


@dataclass(frozen=True)
class PreparedRecord:
    """A record with everything its row needs but the local datestamp and write number.

    Holds `record` when the rendering is left to write time (so an unchanged record is
    never rendered), or the rendered templates when it was done ahead, e.g. in a harvest's
    parsing process.
    """

    source: str
    identifier: str
    deleted: bool
    datestamp_raw: str
    datestamp: str
    sets_json: str
    metadata_json: str | None
    metadata_xml: str | None
    content_hash: str
    local_identifier: str
    set_specs: tuple[str, ...]
    harvest_date: str | None
    provenance: Provenance | None
    record: Record | None = None
    header_template: bytes | None = None
    record_template: bytes | None = None

    def rendered(self, now: str) -> tuple[bytes, bytes]:
        """The header and record XML with `now` as the local datestamp."""
        header, record = self.header_template, self.record_template
        if header is None or record is None:
            source = self.record
            if source is None:
                raise ValueError(f"{self.identifier}: neither templates nor a record to render")
            done = render(
                local_identifier=self.local_identifier,
                local_datestamp=STAMP_PLACEHOLDER,
                set_specs=list(self.set_specs),
                deleted=self.deleted,
                metadata=None if self.deleted else source.metadata,
                provenance=self.provenance,
            )
            header, record = done.header_xml, done.record_xml
        stamp = f"<datestamp>{now}</datestamp>".encode()
        # The header comes first in both, so the first datestamp element is the header's.
        return header.replace(_STAMP_ELEMENT, stamp, 1), record.replace(_STAMP_ELEMENT, stamp, 1)


def prepare_record(
    record: Record,
    *,
    repository_identifier: str,
    source: SourceInfo | None,
    harvest_date: str | None,
    render_now: bool = False,
) -> PreparedRecord:
    """Do a record's CPU work ahead of its write (pure: no I/O).

    `harvest_date` is the provenance harvestDate of a harvested record. Raises ValueError
    for an unreadable datestamp.
    """
    normalised = normalise(record.datestamp)
    sets_json = json.dumps(sorted(set(record.sets)))
    metadata_json = (
        None
        if record.deleted
        else json.dumps(dublin_core.to_json(record.metadata), ensure_ascii=False)
    )
    harvested = record.source != LOCAL_SOURCE
    provenance = None
    if harvested and source is not None and source.base_url and harvest_date:
        provenance = Provenance(
            base_url=source.base_url,
            identifier=record.identifier,
            datestamp=_provenance_datestamp(record.datestamp, normalised),
            metadata_namespace=source.metadata_namespace,
            harvest_date=harvest_date,
        )
    prepared = PreparedRecord(
        source=record.source,
        identifier=record.identifier,
        deleted=record.deleted,
        datestamp_raw=record.datestamp,
        datestamp=normalised,
        sets_json=sets_json,
        metadata_json=metadata_json,
        metadata_xml=None if record.deleted else record.metadata_xml,
        content_hash=content_hash(record, normalised, sets_json, metadata_json),
        local_identifier=local_identifier(repository_identifier, record.source, record.identifier),
        set_specs=tuple(published_set_specs(record.source, record.sets)),
        harvest_date=harvest_date if harvested else None,
        provenance=provenance,
        record=record,
    )
    if not render_now:
        return prepared
    header, full = prepared.rendered(STAMP_PLACEHOLDER)
    return dataclasses.replace(prepared, record=None, header_template=header, record_template=full)


def save_records(
    conn: sqlite3.Connection,
    records: Iterable[Record],
    *,
    repository_identifier: str,
    now: str,
    harvest_date: str | None = None,
) -> SaveCounts:
    """Upsert records by (source, identifier) inside the caller's transaction.

    An unchanged record is left alone (its local datestamp stays); a changed or deleted one
    gets local datestamp `now` and a fresh rendering; a deleted one becomes a tombstone.
    Sources must exist already (ensure_source). Raises ValueError for an unreadable
    datestamp, before anything of the batch is written.
    """
    batch = list(records)
    sources = {name: load_source(conn, name) for name in {r.source for r in batch}}
    prepared = [
        prepare_record(
            record,
            repository_identifier=repository_identifier,
            source=sources[record.source],
            harvest_date=harvest_date or now,
        )
        for record in batch
    ]
    return write_prepared(conn, prepared, now=now)


def write_prepared(
    conn: sqlite3.Connection, batch: Sequence[PreparedRecord], *, now: str
) -> SaveCounts:
    """Write prepared records inside the caller's transaction (see save_records)."""
    counts = SaveCounts()
    # Every record this call changes carries the same write number; the provider freezes a
    # list at the number current when it began, so a record changed mid-list is not served
    # twice, while records written earlier in the same second are still served.
    change_seq: int | None = None
    # One query for the whole batch instead of one per record; updated as records are
    # written, so a record listed twice in one batch is an update the second time.
    existing_rows = _existing_rows(conn, batch)
    # Set memberships by record, written in one statement at the end; a record written
    # twice in the batch keeps only its last memberships.
    set_rows: dict[int, list[tuple[str, str, str, str, int, int]]] = {}
    for item in batch:
        existing = existing_rows.get((item.source, item.identifier))
        if existing is not None and existing[1] == item.content_hash:
            counts.unchanged += 1
            continue
        if change_seq is None:
            change_seq = _next_change_seq(conn)
        header_xml, record_xml = item.rendered(now)
        values = {
            "source": item.source,
            "identifier": item.identifier,
            "local_identifier": item.local_identifier,
            "datestamp": item.datestamp,
            "datestamp_raw": item.datestamp_raw,
            "local_datestamp": now,
            "deleted": int(item.deleted),
            "sets": item.sets_json,
            "metadata": item.metadata_json,
            "metadata_xml": item.metadata_xml,
            "harvest_date": item.harvest_date,
            "content_hash": item.content_hash,
            "change_seq": change_seq,
            "header_xml": header_xml,
            "record_xml": record_xml,
        }
        if existing is None:
            columns = ", ".join(values)
            marks = ", ".join("?" * len(values))
            record_id = int(
                conn.execute(
                    f"INSERT INTO {RECORDS} ({columns}) VALUES ({marks})", list(values.values())
                ).lastrowid
                or 0
            )
            if item.deleted:
                counts.deleted += 1
            else:
                counts.added += 1
        else:
            record_id = existing[0]
            assignments = ", ".join(f"{name} = ?" for name in values)
            conn.execute(
                f"UPDATE {RECORDS} SET {assignments} WHERE id = ?",
                [*values.values(), record_id],
            )
            conn.execute(f"DELETE FROM {RECORD_SETS} WHERE record_id = ?", [record_id])
            if item.deleted and not existing[2]:
                counts.deleted += 1
            else:
                counts.updated += 1
        existing_rows[(item.source, item.identifier)] = (
            record_id,
            item.content_hash,
            int(item.deleted),
        )
        set_rows[record_id] = [
            (spec, now, item.local_identifier, item.source, change_seq, record_id)
            for spec in with_ancestors(item.set_specs)
        ]
    conn.executemany(
        f"INSERT INTO {RECORD_SETS} (set_spec, local_datestamp, local_identifier,"
        " source, change_seq, record_id) VALUES (?, ?, ?, ?, ?, ?)",
        [row for rows in set_rows.values() for row in rows],
    )
    return counts


def row_to_record(row: sqlite3.Row | tuple[object, ...]) -> Record:
    """Build a Record from (source, identifier, datestamp_raw, deleted, sets, metadata, xml)."""
    source, identifier, datestamp_raw, deleted, sets, metadata, metadata_xml = row
    return Record(
        source=str(source),
        identifier=str(identifier),
        datestamp=str(datestamp_raw),
        deleted=bool(deleted),
        sets=tuple(json.loads(str(sets))),
        metadata={} if metadata is None else dublin_core.from_json(json.loads(str(metadata))),
        metadata_xml=None if metadata_xml is None else str(metadata_xml),
    )


RECORD_COLUMNS = "source, identifier, datestamp_raw, deleted, sets, metadata, metadata_xml"


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

    Raises IdentifierConflict when harvested records are already published under another
    namespace: re-publishing them would silently drop identifiers harvesters know, which a
    repository declaring deletedRecord=persistent must not do.
    """
    row = conn.execute(
        f"SELECT value FROM {STORE_META} WHERE key = 'repository_identifier'"
    ).fetchone()
    if row is not None and row[0] == repository_identifier:
        return
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
    conn.execute(
        f"INSERT INTO {STORE_META} (key, value) VALUES ('repository_identifier', ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [repository_identifier],
    )
