"""Writing records: prepare (pure CPU work) then write (SQL), with tombstones, local
datestamps and the write number that freezes the provider's lists.

prepare_record() may run in another process (a harvest renders pages there); write_prepared()
runs inside the caller's transaction; save_records() does both for a batch.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from oaiformat import dublin_core
from oaiformat.datestamps import normalise
from oaiformat.dublin_core import Metadata
from oaiformat.identifiers import (
    LOCAL_SOURCE,
    local_identifier,
    published_set_specs,
    with_ancestors,
)
from oaiformat.reading import METADATA_END
from oaiformat.record import Record
from oaiformat.render import Provenance, render
from store.meta import next_count, read_meta
from store.records import SaveCounts, SourceInfo, load_source
from store.tables import RECORD_SETS, RECORDS

_XSD_DATE_OR_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$", re.ASCII
)


def content_hash(
    record: Record,
    normalised_datestamp: str,
    sets_json: str,
    metadata_json: str | None,
    received_xml: str | None = None,
) -> str:
    """Hash of everything the provider's dissemination of a record depends on, and of the
    metadata XML it came with (published as it came, or kept beside the rendering)."""
    parts = [str(record.deleted), record.datestamp, normalised_datestamp, sets_json]
    parts.append(metadata_json or "")
    if received_xml is not None:
        parts.append(received_xml)
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
    return int(read_meta(conn, "change_seq") or 0)


_ROW_COLUMNS = (
    "source",
    "identifier",
    "local_identifier",
    "datestamp",
    "datestamp_raw",
    "local_datestamp",
    "deleted",
    "sets",
    "metadata",
    "metadata_xml",
    "publishes_received",
    "harvest_date",
    "content_hash",
    "change_seq",
    "header_xml",
    "record_xml",
)
_INSERT_RECORD = (
    f"INSERT INTO {RECORDS} ({', '.join(_ROW_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(_ROW_COLUMNS))})"
)
_UPDATE_RECORD = (
    f"UPDATE {RECORDS} SET {', '.join(f'{name} = ?' for name in _ROW_COLUMNS)} WHERE id = ?"
)

# Rendered with this in place of the local datestamp, which is known only when the record
# is written (a record may be prepared in another process, ahead of its write).
STAMP_PLACEHOLDER = "0000-00-00T00:00:00Z"
_STAMP_ELEMENT = f"<datestamp>{STAMP_PLACEHOLDER}</datestamp>".encode()


class Published(NamedTuple):
    """What a record's row holds of its dissemination."""

    header_xml: bytes
    record_xml: bytes
    # The received metadata XML the row keeps: None when record_xml holds it as it came.
    metadata_xml: str | None


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
    # metadata_xml is valid oai_dc (oaiformat.reading judged it), published as it came
    # unless same-work links are added to it.
    publishes_received: bool
    content_hash: str
    local_identifier: str
    set_specs: tuple[str, ...]
    # set_specs with their ancestors: the record_sets rows.
    memberships: tuple[str, ...]
    harvest_date: str | None
    provenance: Provenance | None
    record: Record | None = None
    header_template: bytes | None = None
    record_template: bytes | None = None

    def published(self, now: str, links: Sequence[str] = ()) -> Published:
        """The header and record XML with `now` as the local datestamp and `links` (the
        other records of its work) as same-work relations, and the received XML the row
        keeps beside them."""
        # Templates (prepare_record makes them with render_published) go with the received
        # XML the row keeps, in metadata_xml.
        header, record, kept = self.header_template, self.record_template, self.metadata_xml
        if header is None or record is None or links:
            source = self.record
            if source is None:
                raise ValueError(f"{self.identifier}: neither templates nor a record to render")
            header, record, kept = render_published(
                local_identifier=self.local_identifier,
                local_datestamp=STAMP_PLACEHOLDER,
                set_specs=self.set_specs,
                deleted=self.deleted,
                metadata=lambda: source.metadata,
                provenance=self.provenance,
                links=links,
                received=self.metadata_xml,
                publishes_received=self.publishes_received,
            )
        stamp = f"<datestamp>{now}</datestamp>".encode()
        # The header comes first in both, so the first datestamp element is the header's.
        return Published(
            header.replace(_STAMP_ELEMENT, stamp, 1), record.replace(_STAMP_ELEMENT, stamp, 1), kept
        )


def render_published(
    *,
    local_identifier: str,
    local_datestamp: str,
    set_specs: Sequence[str],
    deleted: bool,
    metadata: Callable[[], Metadata],
    provenance: Provenance | None,
    links: Sequence[str],
    received: str | None,
    publishes_received: bool,
) -> Published:
    """A record rendered for publishing: its received XML as it came when it may be and
    gains no links (then the row keeps no copy of it), else rendered from `metadata()`."""
    # record_received cuts the XML back out of record_xml at the first "</metadata>"
    # (oaiformat.reading judges no XML holding one publishable; checked again here).
    as_received = (
        publishes_received and not links and received is not None and METADATA_END not in received
    )
    done = render(
        local_identifier=local_identifier,
        local_datestamp=local_datestamp,
        set_specs=list(set_specs),
        deleted=deleted,
        metadata=None if deleted or as_received else metadata(),
        provenance=provenance,
        links=links,
        received=received if as_received else None,
    )
    return Published(done.header_xml, done.record_xml, None if as_received else received)


def provenance_of(
    source: SourceInfo | None,
    identifier: str,
    datestamp_raw: str,
    normalised: str,
    harvest_date: str | None,
) -> Provenance | None:
    """The provenance a harvested record is published with (None for a local record, or
    without its source's base URL or a harvest date)."""
    if source is None or source.name == LOCAL_SOURCE or not source.base_url or not harvest_date:
        return None
    return Provenance(
        base_url=source.base_url,
        identifier=identifier,
        datestamp=_provenance_datestamp(datestamp_raw, normalised),
        metadata_namespace=source.metadata_namespace,
        harvest_date=harvest_date,
    )


class _SetColumns(NamedTuple):
    sets_json: str
    set_specs: tuple[str, ...]
    memberships: tuple[str, ...]


@functools.lru_cache(maxsize=4096)
def _set_columns(source: str, origin_sets: tuple[str, ...]) -> _SetColumns:
    """What a record's origin sets give its row: the sets as stored, the setSpecs it is
    published in and those with their ancestors (cached: a list's records share a few
    combinations of sets)."""
    specs = published_set_specs(source, origin_sets)
    return _SetColumns(
        json.dumps(sorted(set(origin_sets))), tuple(specs), tuple(with_ancestors(specs))
    )


# One encoder for every record's DC JSON (json.dumps with options makes one a call).
_JSON = json.JSONEncoder(ensure_ascii=False)


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
    set_columns = _set_columns(record.source, tuple(record.sets))
    sets_json, specs = set_columns.sets_json, set_columns.set_specs
    metadata_json = None if record.deleted else _JSON.encode(dublin_core.to_json(record.metadata))
    publishes_received = (
        record.publishable and not record.deleted and record.metadata_xml is not None
    )
    harvested = record.source != LOCAL_SOURCE
    provenance = (
        provenance_of(source, record.identifier, record.datestamp, normalised, harvest_date)
        if harvested
        else None
    )
    local = local_identifier(repository_identifier, record.source, record.identifier)
    received = None if record.deleted else record.metadata_xml
    templates: Published | None = None
    if render_now:
        # The templates hold what the record says; a payload published as received goes
        # into the record template only (the pipe from a page process carries it once).
        templates = render_published(
            local_identifier=local,
            local_datestamp=STAMP_PLACEHOLDER,
            set_specs=specs,
            deleted=record.deleted,
            metadata=lambda: record.metadata,
            provenance=provenance,
            links=(),
            received=received,
            publishes_received=publishes_received,
        )
    return PreparedRecord(
        source=record.source,
        identifier=record.identifier,
        deleted=record.deleted,
        datestamp_raw=record.datestamp,
        datestamp=normalised,
        sets_json=sets_json,
        metadata_json=metadata_json,
        metadata_xml=received if templates is None else templates.metadata_xml,
        publishes_received=publishes_received,
        content_hash=content_hash(record, normalised, sets_json, metadata_json, received),
        local_identifier=local,
        set_specs=specs,
        memberships=set_columns.memberships,
        harvest_date=harvest_date if harvested else None,
        # Rendered already: neither is needed again (nor pickled to the writer).
        provenance=provenance if templates is None else None,
        record=record if templates is None else None,
        header_template=None if templates is None else templates.header_xml,
        record_template=None if templates is None else templates.record_xml,
    )


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
            change_seq = next_count(conn, "change_seq")
        published = item.published(now)
        values = [  # in _ROW_COLUMNS order
            item.source,
            item.identifier,
            item.local_identifier,
            item.datestamp,
            item.datestamp_raw,
            now,
            int(item.deleted),
            item.sets_json,
            item.metadata_json,
            published.metadata_xml,
            int(item.publishes_received),
            item.harvest_date,
            item.content_hash,
            change_seq,
            published.header_xml,
            published.record_xml,
        ]
        if existing is None:
            record_id = int(conn.execute(_INSERT_RECORD, values).lastrowid or 0)
            if item.deleted:
                counts.deleted += 1
            else:
                counts.added += 1
        else:
            record_id = existing[0]
            conn.execute(_UPDATE_RECORD, [*values, record_id])
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
            for spec in item.memberships
        ]
    conn.executemany(
        f"INSERT INTO {RECORD_SETS} (set_spec, local_datestamp, local_identifier,"
        " source, change_seq, record_id) VALUES (?, ?, ?, ?, ?, ?)",
        [row for rows in set_rows.values() for row in rows],
    )
    return counts
