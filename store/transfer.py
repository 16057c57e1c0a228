"""Moving records in and out: oai_dc XML and JSONL import as source `local`, JSONL export.

Each file is read and checked whole before anything of it is written, then saved in one
transaction: a malformed file loads nothing, and what was stored before is untouched.
JSONL holds record lines and set lines (a set's name and description, the key `set`
telling them apart), in any order.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from oaiformat import dublin_core
from oaiformat.datestamps import Clock, format_utc, normalise
from oaiformat.identifiers import LOCAL_SOURCE, SET_SPEC, is_valid_uri
from oaiformat.namespaces import NS_OAI
from oaiformat.reading import DC_ROOT, payload_of, read_dc, read_record, received_xml
from oaiformat.record import Record
from oaiformat.xmlsafe import make_parser
from store.db import Store
from store.errors import ImportFormatError
from store.records import (
    RECORD_FIELD_COLUMNS,
    SaveCounts,
    SourceInfo,
    ensure_source,
    row_to_record,
)
from store.sets import SetInfo, description_fields, description_xml, save_sets, source_sets
from store.tables import RECORDS, SOURCES
from store.writes import save_records

logger = logging.getLogger(__name__)

_EXPORT_KEYS = {"source", "identifier", "datestamp", "deleted", "sets", "metadata"}
_LOCAL_KEYS = {"local_identifier", "local_datestamp"}
_SET_KEYS = {"set", "name", "description", "source"}


@dataclass(frozen=True)
class ImportResult:
    """What importing one file did."""

    path: str
    records: int
    counts: SaveCounts
    sets: int = 0


@dataclass(frozen=True)
class FileContents:
    """What one import file holds, read and checked."""

    records: list[Record]
    sets: list[SetInfo]


def _texts(metadata: dublin_core.Metadata) -> list[str]:
    texts: list[str] = []
    for values in metadata.values():
        texts.extend(v.value for v in values)
        texts.extend(v.lang for v in values if v.lang)
    return texts


def _check_encodable(texts: list[str], where: str) -> None:
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            # JSON can spell a lone surrogate ("\udc00"); no XML or SQLite text can hold it.
            raise ImportFormatError(f"{where}: text holds an unpaired surrogate") from exc


def _checked(record: Record, where: str) -> Record:
    texts = [record.identifier, record.datestamp, *record.sets, *_texts(record.metadata)]
    _check_encodable(texts, where)
    if not is_valid_uri(record.identifier):
        raise ImportFormatError(f"{where}: identifier {record.identifier!r} is not a URI")
    try:
        normalise(record.datestamp)
    except (ValueError, OverflowError) as exc:
        raise ImportFormatError(f"{where}: {exc}") from exc
    for spec in record.sets:
        if not SET_SPEC.fullmatch(spec):
            raise ImportFormatError(f"{where}: {spec!r} is not a legal setSpec")
    return record


def record_from_json(data: Any, where: str) -> Record:
    """Read one export-shaped object. Raises ImportFormatError naming `where`."""
    if not isinstance(data, dict):
        raise ImportFormatError(f"{where}: expected a JSON object")
    unknown = set(data) - _EXPORT_KEYS - _LOCAL_KEYS
    if unknown:
        raise ImportFormatError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("identifier", "datestamp"):
        if not isinstance(data.get(key), str):
            raise ImportFormatError(f"{where}: {key} must be a string")
    deleted = data.get("deleted", False)
    sets = data.get("sets", [])
    if not isinstance(deleted, bool):
        raise ImportFormatError(f"{where}: deleted must be true or false")
    if not isinstance(sets, list) or not all(isinstance(s, str) for s in sets):
        raise ImportFormatError(f"{where}: sets must be a list of strings")
    try:
        metadata = dublin_core.from_json(data.get("metadata") or {})
    except ValueError as exc:
        raise ImportFormatError(f"{where}: {exc}") from exc
    if deleted and metadata:
        raise ImportFormatError(f"{where}: a deleted record carries no metadata")
    record = Record(
        source=LOCAL_SOURCE,
        identifier=data["identifier"],
        datestamp=data["datestamp"],
        deleted=deleted,
        sets=tuple(sets),
        metadata=metadata,
    )
    return _checked(record, where)


def set_from_json(data: dict[str, Any], where: str) -> SetInfo:
    """Read one set line: {"set", "name", "description"} (and an ignored "source").
    Raises ImportFormatError naming `where`."""
    unknown = set(data) - _SET_KEYS
    if unknown:
        raise ImportFormatError(f"{where}: unknown keys {sorted(unknown)} in a set line")
    spec, name = data["set"], data.get("name")
    if not isinstance(spec, str) or not SET_SPEC.fullmatch(spec):
        raise ImportFormatError(f"{where}: set {spec!r} is not a legal setSpec")
    if not isinstance(name, str) or not name.strip():
        raise ImportFormatError(f"{where}: a set line's name must be a non-empty string")
    try:
        metadata = dublin_core.from_json(data.get("description") or {})
    except ValueError as exc:
        raise ImportFormatError(f"{where}: description: {exc}") from exc
    _check_encodable([name, *_texts(metadata)], where)
    return SetInfo(spec, name, description_xml(metadata))


def read_jsonl(path: Path) -> FileContents:
    """Read a JSONL file of record lines and set lines in the export shape. Raises
    ImportFormatError naming file:line."""
    contents = FileContents([], [])
    named: set[str] = set()
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ImportFormatError(f"{where}: not JSON ({exc.msg})") from exc
            if not isinstance(data, dict) or "set" not in data:
                contents.records.append(record_from_json(data, where))
                continue
            item = set_from_json(data, where)
            if item.spec in named:
                raise ImportFormatError(f"{where}: set {item.spec!r} is named twice")
            named.add(item.spec)
            contents.sets.append(item)
    return contents


def _oai_record(element: etree._Element, path: Path) -> Record:
    where = f"{path}:{element.sourceline}"
    try:
        record, valid_dc = read_record(element, LOCAL_SOURCE)
    except ValueError as exc:
        raise ImportFormatError(f"{where}: {exc}") from exc
    payload = payload_of(element)
    if not record.deleted and (payload is None or payload.tag != DC_ROOT):
        raise ImportFormatError(f"{where}: record {record.identifier!r} has no oai_dc:dc metadata")
    if not valid_dc:
        logger.warning(
            "%s: oai_dc of %r is not valid Simple DC; its DC fields are kept",
            where,
            record.identifier,
        )
    return _checked(record, where)


def read_xml(path: Path, now: str) -> list[Record]:
    """Read an OAI-PMH response holding records, or a bare oai_dc:dc document.

    A bare document's identifier is its first dc:identifier that is a URI, and its
    datestamp is `now`. Raises ImportFormatError naming file:line.
    """
    try:
        root = etree.parse(str(path), make_parser()).getroot()
    except etree.XMLSyntaxError as exc:
        raise ImportFormatError(f"{path}:{exc.lineno}: not well-formed XML ({exc.msg})") from exc
    if root.tag == f"{{{NS_OAI}}}OAI-PMH":
        return [_oai_record(r, path) for r in root.iter(f"{{{NS_OAI}}}record")]
    if root.tag == DC_ROOT:
        metadata, _, publishable = read_dc(root)
        uris = [v.value for v in metadata.get("identifier", []) if is_valid_uri(v.value)]
        if not uris:
            raise ImportFormatError(f"{path}:{root.sourceline}: oai_dc:dc has no dc:identifier URI")
        xml, publishable = received_xml(root, publishable)
        record = Record(LOCAL_SOURCE, uris[0], now, False, (), metadata, xml, publishable)
        return [_checked(record, str(path))]
    raise ImportFormatError(
        f"{path}:{root.sourceline}: root <{etree.QName(root).localname}> is neither OAI-PMH"
        " nor oai_dc:dc"
    )


def read_file(path: Path, now: str) -> FileContents:
    """Read a .jsonl/.json file or an XML file, by its name's ending."""
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        return read_jsonl(path)
    return FileContents(read_xml(path, now), [])


def import_file(store: Store, path: Path, repository_identifier: str, clock: Clock) -> ImportResult:
    """Import one file as source `local`, all of it or (on any error) none of it.

    `clock` is read once the write lock is held, so the local datestamps are as close as
    possible to the moment the records become visible to harvesters.
    """
    try:
        contents = read_file(path, format_utc(clock()))
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    records = contents.records
    seen: set[str] = set()
    for record in records:
        if record.identifier in seen:
            raise ImportFormatError(f"{path}: identifier {record.identifier!r} appears twice")
        seen.add(record.identifier)
    try:
        with store.write() as conn:
            now = format_utc(clock())
            ensure_source(conn, SourceInfo(LOCAL_SOURCE), now)
            taken = _published_elsewhere(conn, [r.identifier for r in records])
            if taken:
                raise ImportFormatError(
                    f"{path}: identifier {taken!r} is already published for a harvested record"
                )
            counts = save_records(
                conn, records, repository_identifier=repository_identifier, now=now
            )
            save_sets(conn, LOCAL_SOURCE, contents.sets, drop_others=False)
    except sqlite3.IntegrityError as exc:
        raise ImportFormatError(f"{path}: conflicts with stored records ({exc})") from exc
    return ImportResult(str(path), len(records), counts, len(contents.sets))


def _published_elsewhere(conn: sqlite3.Connection, identifiers: list[str]) -> str | None:
    """Return the first identifier a harvested record is already published under, or None."""
    for identifier in identifiers:
        row = conn.execute(
            f"SELECT 1 FROM {RECORDS} WHERE local_identifier = ? AND source != ?",
            [identifier, LOCAL_SOURCE],
        ).fetchone()
        if row is not None:
            return identifier
    return None


def export_rows(store: Store, source: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield every record (tombstones included) in the export shape, source by source: a
    source's set lines (by setSpec), then its records (by identifier)."""
    if source is not None:
        names = [source]
    else:
        names = [str(r[0]) for r in store.conn.execute(f"SELECT name FROM {SOURCES} ORDER BY name")]
    for name in names:
        for item in source_sets(store.conn, name):
            fields = description_fields(item.description)
            yield {
                "source": name,
                "set": item.spec,
                "name": item.name,
                "description": None if fields is None else dublin_core.to_json(fields),
            }
        yield from _export_records(store, name)


def _export_records(store: Store, source: str) -> Iterator[dict[str, Any]]:
    cursor = store.conn.execute(
        f"SELECT {RECORD_FIELD_COLUMNS}, local_identifier, local_datestamp FROM {RECORDS}"
        " WHERE source = ? ORDER BY identifier",
        [source],
    )
    for row in cursor:
        record = row_to_record(row[:8])
        yield {
            "source": record.source,
            "identifier": record.identifier,
            "datestamp": record.datestamp,
            "deleted": record.deleted,
            "sets": list(record.sets),
            "metadata": dublin_core.to_json(record.metadata),
            "local_identifier": row[8],
            "local_datestamp": row[9],
        }
