"""Reading OAI-PMH <record> (or bare <header>) elements into Records.

One reader for everything that takes records out of OAI-PMH XML: harvested pages and
imported files. Lean on purpose (a harvest reads every record through it): one pass over
the header's children and one over the payload's.
"""

from __future__ import annotations

from typing import NamedTuple

from lxml import etree

from oaiformat import dublin_core
from oaiformat.datestamps import normalise
from oaiformat.dublin_core import DCValue
from oaiformat.namespaces import NS_DC, NS_OAI, NS_OAI_DC, NS_XML, NS_XSI
from oaiformat.record import Record
from oaiformat.render import LANGUAGE, SAME_WORK
from oaiformat.xmlsafe import parse_bytes

_OAI = f"{{{NS_OAI}}}"
HEADER = f"{_OAI}header"
_IDENTIFIER = f"{_OAI}identifier"
_DATESTAMP = f"{_OAI}datestamp"
_SET_SPEC = f"{_OAI}setSpec"
_METADATA = f"{_OAI}metadata"
DC_ROOT = f"{{{NS_OAI_DC}}}dc"
# Tag -> name of the 15 DC elements.
_DC_NAMES = {f"{{{NS_DC}}}{name}": name for name in dublin_core.ELEMENTS}
_NOT_CONTENT = (etree.Comment, etree.PI)
_XML_LANG = f"{{{NS_XML}}}lang"
_SCHEMA_LOCATION = f"{{{NS_XSI}}}schemaLocation"
# Where a payload published as received ends: such a payload must not hold it (in a
# comment), so that the received XML can be cut back out of the published record.
METADATA_END = "</metadata>"


def element_text(element: etree._Element | None) -> str:
    """The element's text content, trimmed ("" for None)."""
    if element is None:
        return ""
    if len(element) == 0:
        # A leaf (nearly every field): .text is several times cheaper than itertext().
        return (element.text or "").strip()
    return "".join(str(t) for t in element.itertext()).strip()


def readable(datestamp: str) -> bool:
    """True when the store can normalise the datestamp."""
    try:
        normalise(datestamp)
    except ValueError:
        return False
    return True


class DCReading(NamedTuple):
    """What a payload says in DC, and what may be done with it."""

    metadata: dict[str, list[DCValue]]
    # An oai_dc payload is valid Simple DC (other formats are not judged).
    valid: bool
    # An oai_dc payload that oai_dc.xsd accepts as it is, naming no other mirror's records:
    # it may be published as it came instead of being rendered from its fields.
    publishable: bool


def read_dc(payload: etree._Element) -> DCReading:
    """The DC values among a payload's children (empty values dropped), and what the
    payload is worth as received."""
    is_oai_dc = payload.tag == DC_ROOT
    # oai_dc.xsd refuses text between the elements (sickle__ListRecords.xml carries a stray
    # "(?s)"), other elements, and elements inside DC elements.
    valid = not (is_oai_dc and not _xml_space(payload.text))
    # Publishable is judged strictly (anything the schema might refuse is rendered from the
    # fields instead): only the schema's location on the root, only a well-formed xml:lang
    # on elements, no entity references left unresolved.
    publishable = valid and is_oai_dc and _root_attributes_valid(payload)
    metadata: dict[str, list[DCValue]] = {}
    for child in payload:  # a harvest reads every record here: kept lean
        tag = child.tag
        if is_oai_dc and valid:
            valid = _xml_space(child.tail)
        name = _DC_NAMES.get(tag)
        if name is None:
            if isinstance(tag, str):
                valid = valid and not is_oai_dc
            else:  # comments and processing instructions are not content; entities are
                publishable = publishable and tag in _NOT_CONTENT
            continue
        # One call for every attribute (most values have none): cheaper than asking for
        # xml:lang and then counting the attributes.
        lang: str | None = None
        attributes = child.items()
        if attributes:
            lang = next((str(value) for key, value in attributes if key == _XML_LANG), None)
            if publishable and (
                len(attributes) != (lang is not None)
                or (lang is not None and not LANGUAGE.fullmatch(lang))
            ):
                publishable = False
        if len(child):
            valid = valid and not is_oai_dc
            text = element_text(child)
        else:
            written = child.text
            text = written.strip() if written else ""
        if publishable and name == "relation" and text.startswith(SAME_WORK):
            publishable = False
        if text:
            value = DCValue(text, lang or None)
            if (values := metadata.get(name)) is None:
                metadata[name] = [value]
            else:
                values.append(value)
    return DCReading(metadata, valid, publishable and valid)


def _xml_space(text: str | None) -> bool:
    """True for no text, or XML's whitespace only (space, tab, CR, LF: a no-break space,
    which str.isspace() accepts, is text to oai_dc.xsd)."""
    return not text or not text.strip(" \t\r\n")


def _root_attributes_valid(payload: etree._Element) -> bool:
    """True when the oai_dc:dc element carries xsi:schemaLocation naming oai_dc's schema
    (OAI-PMH 2.0 §2.5.1 asks every metadata part for one) and no other attribute."""
    if len(payload.attrib) != 1:
        return False
    location = (payload.get(_SCHEMA_LOCATION) or "").split()
    return len(location) % 2 == 0 and NS_OAI_DC in location[::2]


def parse_dc(xml: str | None) -> etree._Element | None:
    """The oai_dc:dc element an XML text holds (read with the safe parser); None for None,
    for text that is not well-formed, or for another root element."""
    if xml is None:
        return None
    try:
        root = parse_bytes(xml.encode("utf-8"))
    except etree.XMLSyntaxError:
        return None
    return root if root.tag == DC_ROOT else None


def payload_of(record: etree._Element) -> etree._Element | None:
    """The element inside the record's <metadata>, if any."""
    container = record.find(_METADATA)
    return container[0] if container is not None and len(container) else None


def read_record(element: etree._Element, source: str) -> tuple[Record, bool]:
    """Read one <record> (or a bare <header>): the Record, and whether its oai_dc (if any)
    is valid Simple DC.

    Raises ValueError when it has no identity or its datestamp is unreadable.
    """
    header = element if element.tag == HEADER else element.find(HEADER)
    if header is None:
        raise ValueError("record without header")
    identifier = datestamp = ""
    set_specs = []
    for child in header:  # one pass over the header's children
        tag = child.tag
        if tag == _IDENTIFIER:
            identifier = element_text(child)
        elif tag == _DATESTAMP:
            datestamp = element_text(child)
        elif tag == _SET_SPEC:
            spec = element_text(child)
            if spec:
                set_specs.append(spec)
    if not identifier or not datestamp:
        raise ValueError("header without identifier or datestamp")
    # The store cannot keep a datestamp it cannot normalise, and would fail the whole page
    # on it: Harvard LibraryCloud sends "20210311" (dpla-ingestion3__oai-page.xml).
    if not readable(datestamp):
        raise ValueError(f"unreadable datestamp {datestamp!r} of {identifier!r}")
    deleted = header.get("status") == "deleted"
    sets = tuple(set_specs)
    payload = None if deleted or element.tag == HEADER else payload_of(element)
    if payload is None:
        return Record(source, identifier, datestamp, deleted, sets), True
    metadata, valid, publishable = read_dc(payload)
    xml, publishable = received_xml(payload, publishable)
    return Record(source, identifier, datestamp, False, sets, metadata, xml, publishable), valid


def received_xml(payload: etree._Element, publishable: bool) -> tuple[str, bool]:
    """The payload as XML text of its own (lxml declares on it every namespace in scope
    where it sat), and whether it may still be published as received."""
    xml = etree.tostring(payload, encoding="unicode", with_tail=False)
    return xml, publishable and METADATA_END not in xml
