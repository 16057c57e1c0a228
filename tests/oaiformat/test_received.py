"""Received oai_dc published as it came: oaiformat.reading judges which payloads may be, and
every payload it passes makes a response the official schemas accept."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lxml import etree

from oaiformat.namespaces import NS_DC, NS_OAI, NS_OAI_DC, NS_XSI, OAI_DC_SCHEMA
from oaiformat.reading import read_record
from oaiformat.render import Provenance, render
from oaiformat.xmlsafe import make_parser, parse_bytes
from tests.harvester import captures
from tests.xsd import ResponseValidator

_WHEN = "2024-05-01T00:00:00Z"
_LOCATION = f'xsi:schemaLocation="{NS_OAI_DC} {OAI_DC_SCHEMA}"'
_ENVELOPE = (
    f'<OAI-PMH xmlns="{NS_OAI}" xmlns:xsi="{NS_XSI}" xmlns:dc="{NS_DC}">'
    "<responseDate>2024-05-01T00:00:00Z</responseDate>"
    '<request verb="GetRecord">http://127.0.0.1/oai</request><GetRecord>'
)


def _page(payload: str) -> bytes:
    """A GetRecord answer carrying `payload` the way remote repositories send it: its
    namespaces (dc, xsi) declared on the envelope, not on the payload."""
    return (
        f"{_ENVELOPE}<record><header><identifier>oai:x:1</identifier>"
        f"<datestamp>2024-01-01</datestamp></header><metadata>{payload}</metadata>"
        "</record></GetRecord></OAI-PMH>"
    ).encode()


def _received(payload: str) -> tuple[str | None, bool]:
    """The received XML of the page's record and whether it is publishable as it is."""
    root = parse_bytes(_page(payload))
    element = root.find(f".//{{{NS_OAI}}}record")
    assert element is not None
    record, _ = read_record(element, "src")
    return record.metadata_xml, record.publishable


def _published(received: str) -> bytes:
    """A whole GetRecord response of this repository publishing `received` as it is."""
    done = render(
        local_identifier="oai:repository.example.org:src:1",
        local_datestamp=_WHEN,
        set_specs=[],
        deleted=False,
        metadata={},
        provenance=Provenance("http://o.example/oai", "oai:x:1", "2024-01-01", NS_OAI_DC, _WHEN),
        received=received,
    )
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        + _ENVELOPE.encode()
        + done.record_xml
        + b"</GetRecord></OAI-PMH>"
    )


GOOD = (
    f'<oai_dc:dc xmlns:oai_dc="{NS_OAI_DC}" {_LOCATION}>\n'
    '  <dc:title xml:lang="en">Peer support &amp; recovery</dc:title>\n'
    "  <!-- a comment -->\n"
    "  <dc:creator>Stirrup, V.</dc:creator><dc:date>2021</dc:date>\n"
    "  <dc:description/>\n"
    "</oai_dc:dc>"
)


def test_valid_oai_dc_is_published_byte_for_byte(response_validator: ResponseValidator) -> None:
    received, publishable = _received(GOOD)
    assert publishable and received is not None
    # Self-contained: the namespaces the envelope declared are carried in.
    assert f'xmlns:dc="{NS_DC}"' in received and f'xmlns:xsi="{NS_XSI}"' in received
    body = _published(received)
    assert response_validator.problems(body) == []
    assert f"<metadata>{received}</metadata>".encode() in body
    assert b'altered="false"' in body
    published = parse_bytes(body).find(f".//{{{NS_OAI_DC}}}dc")
    origin = parse_bytes(_page(GOOD)).find(f".//{{{NS_OAI_DC}}}dc")
    assert published is not None and origin is not None
    assert etree.tostring(published, method="c14n") == etree.tostring(origin, method="c14n")


def _dc(attributes: str, children: str = "") -> str:
    return f'<oai_dc:dc xmlns:oai_dc="{NS_OAI_DC}" {attributes}>{children}</oai_dc:dc>'


@pytest.mark.parametrize(
    ("why", "payload"),
    [
        ("no schemaLocation", _dc("", "<dc:title>T</dc:title>")),
        ("another schema only", _dc('xsi:schemaLocation="urn:x x.xsd"')),
        ("odd schemaLocation", _dc(f'xsi:schemaLocation="{NS_OAI_DC}"')),
        ("root attribute", _dc(f'{_LOCATION} id="a"')),
        ("element attribute", _dc(_LOCATION, '<dc:title id="a">T</dc:title>')),
        ("bad language", _dc(_LOCATION, '<dc:title xml:lang="not a tag">T</dc:title>')),
        ("stray text", _dc(_LOCATION, "(?s)<dc:title>T</dc:title>")),
        ("a no-break space between elements", _dc(_LOCATION, "\xa0<dc:title>T</dc:title>")),
        ("an ideographic space after one", _dc(_LOCATION, "<dc:title>T</dc:title>\u3000")),
        ("nested element", _dc(_LOCATION, "<dc:title><b>T</b></dc:title>")),
        ("foreign element", _dc(_LOCATION, "<dc:audience>T</dc:audience>")),
        ("another mirror's link", _dc(_LOCATION, "<dc:relation>same-work:m:1</dc:relation>")),
        ("closing tag in a comment", _dc(_LOCATION, "<!-- </metadata> -->")),
        ("not oai_dc", '<mods xmlns="http://www.loc.gov/mods/v3"><titleInfo/></mods>'),
    ],
)
def test_what_the_schema_might_refuse_is_rendered_from_the_fields(why: str, payload: str) -> None:
    received, publishable = _received(payload)
    assert received is not None and not publishable, why


_NAMES = ["title", "creator", "relation", "date", "rights"]
# Language tags, well-formed or not: the schema's xs:language decides.
_LANGS = [None, None, "en", "en-GB", "x-1", "", " en", "e n", "abcdefghi", "en-"]
_TEXT = st.text(
    alphabet=st.characters(
        min_codepoint=0x20, blacklist_categories=["Cs"], blacklist_characters="\ufffe\uffff<&]"
    ),
    max_size=12,
)
# At most one thing the schema may refuse per child, rarely, so that many payloads pass the
# judgement and the schema checks them.
_DEFECTS = [None] * 8 + ["attribute", "xsi:type", "nested", "foreign", "text", "link"]


@st.composite
def _children(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["element"] * 4 + ["comment", "pi", "space"]))
    text = draw(_TEXT)
    if kind == "comment":
        return f"<!--{text.replace('-', '')}-->"
    if kind == "pi":
        return "<?note a?>"
    if kind == "space":
        return draw(st.sampled_from(["\n  ", "\t", "\r\n", " \xa0", "\u2003"]))
    defect = draw(st.sampled_from(_DEFECTS))
    name = "audience" if defect == "foreign" else draw(st.sampled_from(_NAMES))
    lang = draw(st.sampled_from(_LANGS))
    attributes = "" if lang is None else f' xml:lang="{lang}"'
    attributes += {"attribute": ' id="x"', "xsi:type": ' xsi:type="dc:SimpleLiteral"'}.get(
        defect or "", ""
    )
    value = f"same-work:{text}" if defect == "link" else text
    inner = "<i>x</i>" if defect == "nested" else ""
    stray = text or "x" if defect == "text" else ""
    return f"{stray}<dc:{name}{attributes}>{value}{inner}</dc:{name}>"


_ROOT_ATTRIBUTES = [
    _LOCATION,
    _LOCATION,
    _LOCATION,
    _LOCATION,
    "",
    f'xsi:schemaLocation="{NS_OAI_DC}"',
    f'xsi:schemaLocation="urn:other other.xsd {NS_OAI_DC} {OAI_DC_SCHEMA}"',
    f'{_LOCATION} lang="en"',
    'xsi:noNamespaceSchemaLocation="dc.xsd"',
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(root=st.sampled_from(_ROOT_ATTRIBUTES), children=st.lists(_children(), max_size=6))
def test_every_payload_judged_publishable_makes_a_valid_response(
    root: str, children: list[str], response_validator: ResponseValidator
) -> None:
    payload = _dc(root, "".join(children))
    received, publishable = _received(payload)
    event(f"publishable: {publishable}")
    if publishable:
        assert received is not None
        assert response_validator.problems(_published(received)) == [], payload


def test_real_payloads_judged_publishable_make_valid_responses(
    response_validator: ResponseValidator,
) -> None:
    """Every record of the real captures (tests/fixtures/real, and ../shared's when there)
    whose oai_dc is judged publishable makes a response the schemas accept."""
    folders = [f for f in (captures.LOCAL, captures.SHARED) if f.is_dir()]
    judged = published = 0
    for path in sorted(p for folder in folders for p in folder.glob("*.xml")):
        try:
            root = etree.parse(str(path), make_parser()).getroot()
        except etree.XMLSyntaxError:
            continue  # the captures of broken responses
        for element in root.iter(f"{{{NS_OAI}}}record"):
            try:
                record, _ = read_record(element, "src")
            except ValueError:
                continue
            judged += record.metadata_xml is not None
            if record.publishable:
                assert record.metadata_xml is not None
                published += 1
                problems = response_validator.problems(_published(record.metadata_xml))
                assert problems == [], (path.name, record.identifier, problems[:2])
    assert published >= 50 and judged >= published
