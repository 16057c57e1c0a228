"""Reading OAI-PMH <record> (or bare <header>) elements into Records.

One reader for everything that takes records out of OAI-PMH XML: harvested pages and
imported files. Lean on purpose (a harvest reads every record through it): one pass over
the header's children and one over the payload's.
"""

from __future__ import annotations

from lxml import etree

from oaiformat import dublin_core
from oaiformat.datestamps import normalise
from oaiformat.dublin_core import DCValue
from oaiformat.namespaces import NS_DC, NS_OAI, NS_OAI_DC, NS_XML
from oaiformat.record import Record
from oaiformat.xmlsafe import parse_bytes

_OAI = f"{{{NS_OAI}}}"
HEADER = f"{_OAI}header"
_IDENTIFIER = f"{_OAI}identifier"
_DATESTAMP = f"{_OAI}datestamp"
_SET_SPEC = f"{_OAI}setSpec"
_METADATA = f"{_OAI}metadata"
DC_ROOT = f"{{{NS_OAI_DC}}}dc"
_DC_PREFIX = f"{{{NS_DC}}}"
_XML_LANG = f"{{{NS_XML}}}lang"


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


def read_dc(payload: etree._Element) -> tuple[dict[str, list[DCValue]], bool]:
    """The DC values among a payload's children, and whether an oai_dc payload is valid
    Simple DC (other formats are not judged). Empty values are dropped."""
    is_oai_dc = payload.tag == DC_ROOT
    # oai_dc.xsd refuses text between the elements (sickle__ListRecords.xml carries a stray
    # "(?s)"), other elements, and elements inside DC elements.
    valid = not (is_oai_dc and (payload.text or "").strip())
    metadata: dict[str, list[DCValue]] = {}
    for child in payload:
        tag = child.tag
        if is_oai_dc and valid and (child.tail or "").strip():
            valid = False
        if not isinstance(tag, str):
            continue  # comments and processing instructions are not content
        name = tag[len(_DC_PREFIX) :] if tag.startswith(_DC_PREFIX) else ""
        if not dublin_core.is_element(name):
            valid = valid and not is_oai_dc
            continue
        if len(child) == 0:
            text = (child.text or "").strip()
        else:
            valid = valid and not is_oai_dc
            text = element_text(child)
        if text:
            metadata.setdefault(name, []).append(DCValue(text, child.get(_XML_LANG) or None))
    return metadata, valid


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
    metadata, valid = read_dc(payload)
    xml = etree.tostring(payload, encoding="unicode")
    return Record(source, identifier, datestamp, False, sets, metadata, xml), valid
