"""A record whose oai_dc may be published as received is stored once: record_xml holds the
payload as it came (metadata_xml NULL) until same-work links are added, and again when they
go; whatever the record's state, record_received gives the XML it came with."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from oaiformat.namespaces import NS_DC, NS_OAI, NS_OAI_DC, NS_XSI, OAI_DC_SCHEMA
from oaiformat.reading import read_record
from oaiformat.record import Record
from oaiformat.xmlsafe import parse_bytes
from store.db import Store, open_store
from store.records import RECORD_COLUMNS, SourceInfo, ensure_source, load_source, row_to_record
from store.writes import prepare_record, save_records
from tests.xsd import ResponseValidator
from works.linking import work_links
from works.update import refresh

RID = "repository.example.org"
SOURCES = ("one", "two")


def _record(source: str, identifier: str, title: str, spacing: str = "\n  ") -> Record:
    """A record as read from a harvested page: dc and xsi declared on the envelope."""
    payload = (
        f'<oai_dc:dc xmlns:oai_dc="{NS_OAI_DC}"'
        f' xsi:schemaLocation="{NS_OAI_DC} {OAI_DC_SCHEMA}">{spacing}'
        f"<dc:title>{title}</dc:title>{spacing}<dc:creator>Stirrup, Valerie</dc:creator>"
        f"{spacing}<dc:creator>Kaur, Jasleen</dc:creator>{spacing}<dc:date>2021</dc:date>"
        f"{spacing}<dc:identifier>https://doi.org/10.1234/peer.{title[:4]}</dc:identifier>"
        f"{spacing}<!-- kept as it came -->\n</oai_dc:dc>"
    )
    page = (
        f'<OAI-PMH xmlns="{NS_OAI}" xmlns:dc="{NS_DC}" xmlns:xsi="{NS_XSI}"><record><header>'
        f"<identifier>{identifier}</identifier><datestamp>2024-01-01</datestamp></header>"
        f"<metadata>{payload}</metadata></record></OAI-PMH>"
    )
    element = parse_bytes(page.encode()).find(f".//{{{NS_OAI}}}record")
    assert element is not None
    record, valid = read_record(element, source)
    assert valid and record.publishable
    return record


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = open_store(tmp_path / "s.db")
    with opened.write() as conn:
        for name in SOURCES:
            ensure_source(
                conn, SourceInfo(name, f"http://{name}.example/oai"), "2024-01-01T00:00:00Z"
            )
    return opened


def _save(store: Store, records: list[Record], now: str) -> None:
    with store.write() as conn:
        save_records(conn, records, repository_identifier=RID, now=now, harvest_date=now)
    clock = datetime.fromisoformat(now.replace("Z", "+00:00")).astimezone(UTC)
    refresh(store, clock=lambda: clock)


def _rows(store: Store) -> dict[str, tuple[bool, bool, bytes, str]]:
    """identifier -> (metadata_xml stored, publishes_received, record_xml, received XML)."""
    rows = store.conn.execute(
        "SELECT r.identifier, r.metadata_xml IS NOT NULL, r.publishes_received, r.record_xml,"
        " v.metadata_xml FROM records r JOIN record_received v ON v.record_id = r.id"
    )
    return {
        str(i): (bool(kept), bool(flag), bytes(xml), str(got)) for i, kept, flag, xml, got in rows
    }


def _assert_published_as_written(store: Store) -> None:
    """Each record's row holds what writing the record with its current links writes."""
    rows = store.conn.execute(
        f"SELECT id, harvest_date, local_datestamp, header_xml, record_xml, metadata_xml,"
        f" {RECORD_COLUMNS} FROM records"
    ).fetchall()
    links = work_links(store.conn, [row[0] for row in rows])
    for record_id, harvest_date, stamp, header, xml, kept, *columns in rows:
        record = row_to_record(columns)
        prepared = prepare_record(
            record,
            repository_identifier=RID,
            source=load_source(store.conn, record.source),
            harvest_date=harvest_date,
        )
        assert prepared.published(stamp, links.get(record_id, ())) == (header, xml, kept)


def _published(record_xml: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        + f'<OAI-PMH xmlns="{NS_OAI}"><responseDate>2024-05-01T00:00:00Z</responseDate>'.encode()
        + b'<request verb="GetRecord">http://127.0.0.1/oai</request><GetRecord>'
        + record_xml
        + b"</GetRecord></OAI-PMH>"
    )


def _assert_linked(
    store: Store, records: list[Record], linked: bool, validator: ResponseValidator
) -> None:
    """Each row holds what writing its record writes; `linked` records are rendered with
    same-work links and keep their received XML beside them, the others publish it as it
    came and keep no copy; every one makes a valid response."""
    _assert_published_as_written(store)
    rows = _rows(store)
    for record in records:
        kept, flag, xml, received = rows[record.identifier]
        assert (kept, flag, received) == (linked, True, record.metadata_xml)
        if linked:
            assert b"same-work:" in xml and b'altered="true"' in xml
        else:
            assert b"same-work:" not in xml
            assert f"<metadata>{record.metadata_xml}</metadata>".encode() in xml
        assert validator.problems(_published(xml)) == []


def test_links_come_and_go_and_the_received_xml_stays(
    store: Store, response_validator: ResponseValidator
) -> None:
    # Cut back out of record_xml by SQL, the received XML must come back whole whatever
    # its characters.
    title = "Peer support in recovery: Ωμέγα 😀 中文 &amp; &lt;i&gt;"
    first = _record("one", "oai:one:1", title)
    same = _record("two", "oai:two:9", title)
    _save(store, [first], "2024-05-01T00:00:00Z")
    [(kept, flag, xml, received)] = _rows(store).values()
    assert (kept, flag, received) == (False, True, first.metadata_xml)
    assert f"<metadata>{first.metadata_xml}</metadata>".encode() in xml
    assert b'altered="false"' in xml

    # Another source brings the same work: both are published with same-work links,
    # rendered from their fields, and keep the XML they came with beside it.
    _save(store, [same], "2024-05-01T00:01:00Z")
    _assert_linked(store, [first, same], True, response_validator)

    # The second record becomes another work: the first loses its link and is published
    # as it came again, stored once.
    other = _record("two", "oai:two:9", "Shipwrecks of the northern coast")
    _save(store, [other], "2024-05-01T00:02:00Z")
    _assert_linked(store, [first, other], False, response_validator)


def test_a_payload_changed_only_in_layout_is_published_again(store: Store) -> None:
    _save(store, [_record("one", "oai:one:1", "Peer support")], "2024-05-01T00:00:00Z")
    changed = _record("one", "oai:one:1", "Peer support", spacing="\n    ")
    with store.write() as conn:
        counts = save_records(
            conn, [changed], repository_identifier=RID, now="2024-05-02T00:00:00Z"
        )
    assert counts.updated == 1
    [(_, _, _, received)] = _rows(store).values()
    assert received == changed.metadata_xml


def test_received_xml_changed_outside_the_dc_fields_is_kept_again(store: Store) -> None:
    """The content hash covers the XML a record came with, published as it came or not: a
    payload that changed only where the DC fields do not see it (a foreign attribute of a
    payload rendered from its fields) is written again, and record_received gives it."""
    first = _record("one", "oai:one:1", "Peer support")
    assert first.metadata_xml is not None
    odd = first.metadata_xml.replace("<dc:date>", '<dc:date scheme="W3CDTF">')
    before = dataclasses.replace(first, metadata_xml=odd, publishable=False)
    after = dataclasses.replace(before, metadata_xml=odd.replace("W3CDTF", "ISO8601"))
    _save(store, [before], "2024-05-01T00:00:00Z")
    with store.write() as conn:
        counts = save_records(conn, [after], repository_identifier=RID, now="2024-05-02T00:00:00Z")
    assert counts.updated == 1
    [(kept, flag, _, received)] = _rows(store).values()
    assert (kept, flag, received) == (True, False, after.metadata_xml)
