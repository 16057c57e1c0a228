"""harvester.pages.parse against real captured responses, and its repairs.

Expected outcome per file: records read, records quarantined, OAI error code, or
malformed. Permissively licensed captures are read from tests/fixtures/real, the others
from ../shared/fixtures/real; without that folder those are skipped with the reason shown
(tests/harvester/captures.py). test_replay.py runs every capture through the harvester.
"""

from __future__ import annotations

import pytest

from harvester import pages
from harvester.errors import MalformedResponse
from harvester.pages import parse, parse_unread
from oaiformat.reading import read_record
from tests.harvester import captures

MALFORMED = "malformed"

# file -> (records, quarantined, error code) or MALFORMED
EXPECTED: dict[str, tuple[int, int, str | None] | str] = {
    # LibraryCloud's datestamps "20210311" are not ISO 8601: every record quarantined.
    "dpla-ingestion3__oai-page.xml": (0, 10, None),
    "hepcrawl__arxiv-physics-hep-ex.xml": (3, 0, None),
    "metis-framework__deletedOaiRecord.xml": (1, 0, None),
    "metis-framework__oaiListIdentifiersIncorrectMetadataPrefix.xml": (
        0,
        0,
        "cannotDisseminateFormat",
    ),
    "mit-oai-pmh-harvester__get-identifiers-no-matches__i0.xml": (0, 0, "noRecordsMatch"),
    "paperhive-oai-pmh__listrecords-arxiv-503__i0.xml": MALFORMED,
    "perl-oai-lib__badbytes.xml": (1, 0, None),
    "phpoaipmh__GoodResponseFourPage_1.xml": (200, 0, None),
    "phpoaipmh__GoodResponseFourPage_4.xml": (133, 0, None),
    "plugin-OaipmhHarvester__Harvest-ListRecords.notoken.xml": (1, 0, None),
    "pyoai__fake3-00001.xml": MALFORMED,
    "pyoai__fake4-00001.xml": MALFORMED,
    "scrapi__cogprints__i0.xml": (45, 0, None),
    "scrapi__pcurio__i0.xml": (5, 0, None),
    "sickle__ListRecords.xml": (2, 0, None),
    "sickle__ListRecords4.xml": (1, 1, None),
    "sickle__ListRecordsBroken.xml": MALFORMED,
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(
            name,
            expected,
            marks=[pytest.mark.skip(reason=r)] if (r := captures.skip_reason([name])) else [],
        )
        for name, expected in sorted(EXPECTED.items())
    ],
)
def test_capture_parses_as_expected(name: str, expected: tuple[int, int, str | None] | str) -> None:
    path = captures.locate(name)
    assert path is not None
    body = path.read_bytes()
    if expected == MALFORMED:
        with pytest.raises(MalformedResponse):
            parse(body, "src")
        return
    page = parse(body, "src")
    assert (len(page.records), len(page.quarantined), page.error_code) == expected
    assert all(r.identifier and r.datestamp for r in page.records)
    # What a walk goes on with, before the records are read, is what reading them says.
    unread = parse_unread(body, "src")
    walked_on = (unread.token, unread.error_code, unread.verb)
    assert walked_on == (page.token, page.error_code, page.verb)


def test_deleted_header_and_token_attributes() -> None:
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01T00:00:00Z</responseDate>
<request>http://x</request><ListRecords>
<record><header status="deleted"><identifier>oai:x:1</identifier><datestamp>2024-01-01</datestamp>
<setSpec>a:b</setSpec></header></record>
<record><header><identifier>oai:x:2</identifier><datestamp>2024-01-01</datestamp></header>
<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title xml:lang="en"> T </dc:title>
<dc:creator>Stirrup, V.</dc:creator></oai_dc:dc></metadata></record>
<resumptionToken cursor="0" completeListSize="5">tok</resumptionToken></ListRecords></OAI-PMH>"""
    page = parse(body, "src")
    deleted, live = page.records
    assert deleted.deleted and deleted.sets == ("a:b",) and not deleted.metadata
    assert live.metadata["title"][0].value == "T" and live.metadata["title"][0].lang == "en"
    assert (page.token, page.cursor, page.complete_list_size) == ("tok", 0, 5)
    assert page.response_date == "2024-01-01T00:00:00Z"


def test_hostile_entities_are_not_expanded() -> None:
    body = b"""<?xml version="1.0"?>
<!DOCTYPE OAI-PMH [<!ENTITY x SYSTEM "file:///etc/passwd"><!ENTITY a "aaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01T00:00:00Z</responseDate>
<request>http://x</request><ListIdentifiers><header><identifier>oai:x:&x;&b;</identifier>
<datestamp>2024-01-01</datestamp></header></ListIdentifiers></OAI-PMH>"""
    page = parse(body, "src")
    identifiers = [r.identifier for r in page.records]
    assert not any("root:" in i or "aaaaaaaaaa" in i for i in identifiers)


def _page(response_date: str, datestamp: str) -> bytes:
    return (
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        f"<responseDate>{response_date}</responseDate><request>http://x</request>"
        "<ListIdentifiers><header><identifier>oai:x:1</identifier>"
        f"<datestamp>{datestamp}</datestamp></header><header><identifier>oai:x:2</identifier>"
        "<datestamp>2024-01-01</datestamp></header></ListIdentifiers></OAI-PMH>"
    ).encode()


def test_a_record_with_an_unreadable_datestamp_is_quarantined() -> None:
    page = parse(_page("2024-01-01T00:00:00Z", "20210311"), "src")
    assert [r.identifier for r in page.records] == ["oai:x:2"]
    (item,) = page.quarantined
    assert "20210311" in item.error and b"oai:x:1" in item.raw


def test_an_unreadable_response_date_is_dropped_and_said() -> None:
    page = parse(_page("yesterday", "2024-01-01"), "src")
    assert page.response_date is None
    assert len(page.records) == 2
    assert page.repaired is not None and "responseDate" in page.repaired


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"<OAI-PMH><ListRecords/></OAI-PMH>", "<OAI-PMH> in no namespace"),
        (b'<OAI-PMH xmlns="urn:x"/>', "<OAI-PMH> in namespace urn:x"),
        (b"<html><body>Retry after 10 seconds</body></html>", "<html> in no namespace"),
    ],
)
def test_a_foreign_root_is_named_with_its_namespace(body: bytes, named: str) -> None:
    with pytest.raises(MalformedResponse, match=named):
        parse(body, "src")


def test_schema_invalid_dc_is_kept_and_reported() -> None:
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01T00:00:00Z</responseDate>
<request>http://x</request><ListRecords>
<record><header><identifier>oai:x:stray</identifier><datestamp>2024-01-01</datestamp></header>
<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>T</dc:title>(?s)</oai_dc:dc></metadata></record>
<record><header><identifier>oai:x:abstract</identifier><datestamp>2024-01-01</datestamp></header>
<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:abstract>A</dc:abstract><dc:title>T</dc:title>
</oai_dc:dc></metadata></record>
<record><header><identifier>oai:x:good</identifier><datestamp>2024-01-01</datestamp></header>
<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><!-- note --><dc:title>T</dc:title>
</oai_dc:dc></metadata></record>
</ListRecords></OAI-PMH>"""
    page = parse(body, "src")
    assert [r.identifier for r in page.records] == ["oai:x:stray", "oai:x:abstract", "oai:x:good"]
    assert page.invalid_dc == ["oai:x:stray", "oai:x:abstract"]
    assert page.verb == "ListRecords"


def test_a_salvaged_page_keeps_its_verb() -> None:
    # Not well-formed (a stray "&"), so records are read one by one; the verb still tells a
    # ListIdentifiers answer apart, which the run loop refuses.
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01T00:00:00Z</responseDate>
<request>http://x</request><ListIdentifiers>
<header><identifier>oai:x:1</identifier><datestamp>2024-01-01</datestamp></header>
<header><identifier>oai:x:&2</identifier><datestamp>2024-01-01</datestamp></header>
</ListIdentifiers></OAI-PMH>"""
    page = parse(body, "src")
    assert page.verb == "ListIdentifiers"
    assert [r.identifier for r in page.records] == ["oai:x:1"]
    assert len(page.quarantined) == 1


def test_unclosed_records_are_quarantined_with_what_follows() -> None:
    head = (
        b'<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        b"<responseDate>2024-01-01T00:00:00Z</responseDate><request>x</request><ListRecords>"
    )
    good = (
        b"<record><header><identifier>oai:x:1</identifier><datestamp>2024-01-01</datestamp>"
        b"</header></record>"
    )
    body = head + b"<record><header>" * 5000 + good + b"</ListRecords></OAI-PMH>"
    page = parse(body, "src")
    # The unclosed openings and the good record end up as one chunk, quarantined whole.
    assert (len(page.records), len(page.quarantined)) == (0, 1)


def test_records_are_read_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fetching thread parses the XML only; the records are read by whoever calls read()."""
    calls: list[str] = []

    def counted(element: object, source: str) -> object:
        calls.append(source)
        return read_record(element, source)  # type: ignore[arg-type]

    monkeypatch.setattr(pages, "read_record", counted)
    body = _page("2024-01-01T00:00:00Z", "2024-01-02")
    unread = parse_unread(body, "src")
    assert calls == [] and unread.verb == "ListIdentifiers" and unread.token is None
    assert [r.identifier for r in unread.read().records] == ["oai:x:1", "oai:x:2"]
    assert calls == ["src", "src"]


def publishable_page(title: bytes, identifier: bytes = b"oai:x:1") -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"'
        b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        b"<responseDate>2024-01-01T00:00:00Z</responseDate><request>http://x</request>"
        b"<ListRecords><record><header><identifier>" + identifier + b"</identifier>"
        b"<datestamp>2024-01-01</datestamp></header><metadata>"
        b'<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"'
        b' xmlns:dc="http://purl.org/dc/elements/1.1/" xsi:schemaLocation='
        b'"http://www.openarchives.org/OAI/2.0/oai_dc/'
        b' http://www.openarchives.org/OAI/2.0/oai_dc.xsd">'
        b"<dc:title>" + title + b"</dc:title></oai_dc:dc></metadata></record>"
        b"</ListRecords></OAI-PMH>"
    )


def test_records_of_a_repaired_page_are_not_published_as_they_came() -> None:
    """A repair may change a record's bytes: its metadata did not come as it would be
    published, so it is rendered from its fields."""
    sound = parse(publishable_page(b"Peer support"), "src")
    assert sound.repaired is None and sound.records[0].publishable
    # A control character XML forbids: the whole body is repaired.
    repaired = parse(publishable_page(b"Peer\x01 support"), "src")
    assert repaired.repaired and not repaired.records[0].publishable
    assert repaired.records[0].metadata["title"][0].value == "Peer support"

    # A stray "&" in another record: the records are read one by one, that one is
    # quarantined, and only the one whose bytes were stripped is not published as it came.
    def record(title: bytes, identifier: bytes) -> bytes:
        page = publishable_page(title, identifier)
        return page[page.index(b"<record>") : page.index(b"</ListRecords>")]

    records = record(b"Broken & record", b"oai:x:2") + record(b"Recovery\x02 colleges", b"oai:x:3")
    body = publishable_page(b"Peer support").replace(b"</ListRecords>", records + b"</ListRecords>")
    salvaged = parse(body, "src")
    assert salvaged.repaired == "records read one by one" and len(salvaged.quarantined) == 1
    assert [(r.identifier, r.publishable) for r in salvaged.records] == [
        ("oai:x:1", True),
        ("oai:x:3", False),
    ]
