"""harvester.pages.parse_large: a spooled body read record by record, in parts.

It must say what parse() says of the same body (records, quarantine, token, verb, error),
only cut into parts; and it refuses what parse() would have to repair.
"""

from __future__ import annotations

import dataclasses
import io
import re

import pytest

from harvester.errors import MalformedResponse
from harvester.pages import Page, parse, parse_large
from tests.harvester import bodies, captures
from tests.harvester.test_pages import EXPECTED, MALFORMED, publishable_page

# Captures parse() reads whole, at most with its first repair (characters XML forbids and
# text before the root dropped): the one a large body gets too.
NEEDS_UTF8_REREAD = "perl-oai-lib__badbytes.xml"
WELL_FORMED = sorted(
    name
    for name, expected in EXPECTED.items()
    if expected != MALFORMED and name != NEEDS_UTF8_REREAD
)


def _whole(parts: list[tuple[Page, bool]]) -> Page:
    """The parts joined back into one page."""
    *first, (last, final) = parts
    assert final and not any(f for _, f in first)
    return dataclasses.replace(
        last,
        records=[r for page, _ in parts for r in page.records],
        quarantined=[q for page, _ in parts for q in page.quarantined],
        invalid_dc=[i for page, _ in parts for i in page.invalid_dc],
    )


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            name, marks=[pytest.mark.skip(reason=r)] if (r := captures.skip_reason([name])) else []
        )
        for name in WELL_FORMED
    ],
)
def test_a_capture_read_in_parts_says_what_parse_says(name: str) -> None:
    path = captures.locate(name)
    assert path is not None
    body = path.read_bytes()
    whole = parse(body, "src")
    parts = list(parse_large(io.BytesIO(body), "src", part_records=3))
    assert _whole(parts) == whole
    assert all(len(p.records) + len(p.quarantined) == 3 for p, final in parts if not final)


def test_a_body_needing_more_than_the_first_repair_is_refused() -> None:
    path = captures.locate(NEEDS_UTF8_REREAD)
    if path is None:
        pytest.skip(captures.skip_reason([NEEDS_UTF8_REREAD]) or "capture missing")
    body = path.read_bytes()
    assert parse(body, "src").repaired == "re-read as UTF-8 without its XML declaration"
    with pytest.raises(MalformedResponse, match="large body is not repaired"):
        list(parse_large(io.BytesIO(body), "src", 3))


def test_text_before_the_root_and_forbidden_bytes_are_dropped_on_the_way() -> None:
    body = b"\n\n  " + bodies.page(["oai:x:1", "oai:x:2"]).replace(
        b"oai:x:2</dc:title>", b"oai:x\x0b:2</dc:title>"
    )
    ((page, final),) = parse_large(io.BytesIO(body), "src", 10)
    assert final and page.repaired == parse(body, "src").repaired
    assert page.repaired is not None and page.repaired.startswith("stripped")
    assert [r.identifier for r in page.records] == ["oai:x:1", "oai:x:2"]


def test_parts_carry_the_verb_and_the_date_and_the_final_part_the_token() -> None:
    body = bodies.page([f"oai:x:{i}" for i in range(7)], "next", size=20)
    parts = list(parse_large(io.BytesIO(body), "src", part_records=3))
    assert [(len(p.records), final) for p, final in parts] == [(3, False), (3, False), (1, True)]
    assert {p.verb for p, _ in parts} == {"ListRecords"}
    assert [p.token for p, _ in parts] == [None, None, "next"]
    assert parts[-1][0].complete_list_size == 20
    # Every part's records were harvested at the response's date, not the harvester's.
    assert {p.response_date for p, _ in parts} == {bodies.RESPONSE_DATE}


def test_an_error_answer_is_one_final_page() -> None:
    parts = list(parse_large(io.BytesIO(bodies.error("noRecordsMatch", "none")), "src", 3))
    assert [(p.error_code, p.error_message, final) for p, final in parts] == [
        ("noRecordsMatch", "none", True)
    ]


def test_a_body_cut_mid_record_raises_after_the_whole_parts() -> None:
    body = bodies.page([f"oai:x:{i}" for i in range(7)])
    cut = body[: body.index(b"oai:x:5")]
    read: list[Page] = []
    with pytest.raises(MalformedResponse, match="large body is not repaired"):
        for page, _ in parse_large(io.BytesIO(cut), "src", 2):
            read.append(page)
    assert [r.identifier for p in read for r in p.records] == [f"oai:x:{i}" for i in range(4)]


@pytest.mark.parametrize(
    "body",
    [b"<html><body>busy</body></html>", b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"/>'],
    ids=["not OAI-PMH", "no records nor error"],
)
def test_what_is_not_a_list_answer_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedResponse):
        list(parse_large(io.BytesIO(body), "src", 2))


def test_entities_are_not_expanded() -> None:
    body = (
        bodies.page(["oai:x:1"])
        .replace(
            b"<OAI-PMH", b'<!DOCTYPE OAI-PMH [<!ENTITY x SYSTEM "file:///etc/passwd">]><OAI-PMH', 1
        )
        .replace(b"<dc:title>oai:x:1", b"<dc:title>&x;oai:x:1")
    )
    ((page, _),) = parse_large(io.BytesIO(body), "src", 10)
    assert "root:" not in (page.records[0].metadata_xml or "")


@pytest.mark.parametrize(
    ("lead", "declared"),
    [(b"\n  \r\n", False), (b"\n  \r\n", True), (b"junk ", False), (b"", True)],
    ids=["blank-root", "blank-declaration", "text-root", "nothing"],
)
def test_a_large_body_is_repaired_exactly_when_parse_repairs_it(
    lead: bytes, declared: bool
) -> None:
    """Whitespace before the root is well-formed; before the XML declaration, or any other
    text before the root, it is not, and dropping it is said."""
    page = bodies.page(["oai:x:1"])
    if not declared:
        page = re.sub(rb"^<\?xml[^>]*\?>\s*", b"", page)
    body = lead + page
    ((large, final),) = parse_large(io.BytesIO(body), "src", 10)
    assert final and large.repaired == parse(body, "src").repaired
    assert (large.repaired is not None) == ((declared and bool(lead)) or lead.strip() != b"")


def test_records_read_after_a_byte_was_dropped_are_not_published_as_they_came() -> None:
    """A large body is cleaned as it streams: records read once a byte was dropped may have
    lost it, so their metadata is rendered from their fields."""
    sound = publishable_page(b"Peer support")
    ((page, _),) = parse_large(io.BytesIO(sound), "src", 10)
    assert page.records[0].publishable
    ((page, _),) = parse_large(io.BytesIO(publishable_page(b"Peer\x01 support")), "src", 10)
    assert page.repaired and not page.records[0].publishable
