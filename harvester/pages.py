"""One response body -> one Page: records, resumption token, responseDate, or OAI error.

Pure: no I/O, no clock. The body is parsed once with the safe parser. When it is not
well-formed, one repair is tried (strip what XML forbids, drop text before the root,
re-decode a lying encoding declaration); when the envelope is sound but single records are
not, those records are quarantined and the rest of the page is kept.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

from lxml import etree

from harvester.errors import MalformedResponse
from oaiformat.namespaces import NS_OAI
from oaiformat.reading import HEADER as _HEADER
from oaiformat.reading import element_text as _text
from oaiformat.reading import read_record, readable
from oaiformat.record import Record
from oaiformat.xmlsafe import make_parser, safe_iterparse, strip_illegal_bytes

_OAI = f"{{{NS_OAI}}}"
_LIST_VERBS = ("ListRecords", "ListIdentifiers", "GetRecord")
_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>", re.DOTALL)
_STRIPPED = "stripped characters XML forbids and text before the root"
_CHUNK_TAGS = {
    name: (
        re.compile(rb"<(?:\w+:)?" + name + rb"[\s>]"),
        re.compile(rb"</(?:\w+:)?" + name + rb"\s*>"),
    )
    for name in (b"record", b"header")
}


@dataclass(frozen=True)
class Quarantined:
    """A record the page carried but that could not be read."""

    raw: bytes
    error: str


@dataclass(frozen=True)
class Page:
    """What one list response says."""

    response_date: str | None
    records: list[Record] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    token: str | None = None
    cursor: int | None = None
    complete_list_size: int | None = None
    expiration_date: str | None = None
    error_code: str | None = None
    error_message: str = ""
    repaired: str | None = None
    # The verb element that holds the records (ListRecords, ListIdentifiers, GetRecord).
    verb: str | None = None
    # Identifiers of records whose oai_dc is not valid Simple DC (stored all the same).
    invalid_dc: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Unread:
    """A response parsed as XML whose records are not read yet.

    What a walk needs to ask for the next page (the token, an error, the verb) costs the
    XML parse alone; read() reads the records (about seven times the parse), so a thread
    fetching pages can go on while another reads them. read() never raises
    MalformedResponse: everything that makes a response unusable is found before.
    """

    token: str | None
    error_code: str | None
    verb: str | None
    read: Callable[[], Page]
    # The bytes parsed, when the whole body was (not for a part of a spooled body, nor for
    # a page salvaged record by record): parsing them again gives the same page, so another
    # process may read it (harvester.feed hands pages to the writer so).
    body: bytes | None = None

    @classmethod
    def of(cls, page: Page) -> Unread:
        """A page read already."""
        return cls(page.token, page.error_code, page.verb, lambda: page)


@dataclass
class _Collected:
    """A page's records as they are read one by one: kept, or quarantined with the reason."""

    source: str
    records: list[Record] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    invalid_dc: list[str] = field(default_factory=list)

    def read(
        self, element: etree._Element, raw: bytes | None = None, *, altered: bool = False
    ) -> None:
        """Read one <record> or <header>; `raw` is what to quarantine (default: the
        element serialised). `altered`: a repair may have changed the record's bytes (then
        its metadata is not published as it came: it did not come so)."""
        try:
            record, valid_dc = read_record(element, self.source)
        except ValueError as exc:
            self.quarantine(etree.tostring(element) if raw is None else raw, str(exc))
            return
        if altered and record.publishable:
            record = dataclasses.replace(record, publishable=False)
        self.records.append(record)
        if not valid_dc:
            self.invalid_dc.append(record.identifier)

    def quarantine(self, raw: bytes, error: str) -> None:
        """Keep a record that could not be read, with the reason."""
        self.quarantined.append(Quarantined(raw, error))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _check_root(root: etree._Element) -> None:
    if root.tag != f"{_OAI}OAI-PMH":
        qname = etree.QName(root) if isinstance(root.tag, str) else None
        name = qname.localname if qname else "?"
        # Name the namespace: an <OAI-PMH> root in no namespace (as in
        # spotlight-oaipmh-resources__mymods.xml) must not read "<OAI-PMH> is not OAI-PMH".
        where = f"namespace {qname.namespace}" if qname and qname.namespace else "no namespace"
        raise MalformedResponse(
            f"the root element is <{name}> in {where}, not an OAI-PMH 2.0 response"
        )


def _response_date(
    element: etree._Element | None, repaired: str | None
) -> tuple[str | None, str | None]:
    """The responseDate, and what was repaired (an unreadable date is dropped, and said)."""
    response_date = _text(element) or None
    if response_date is not None and not readable(response_date):
        # The responseDate becomes the next harvest's `from` and every record's harvest
        # date; one the store cannot normalise would fail the run after the page is saved.
        # Without it the harvester falls back to its own clock, and says so.
        dropped = f"ignored the unreadable responseDate {response_date[:40]!r}"
        repaired = f"{repaired}; {dropped}" if repaired else dropped
        response_date = None
    return response_date, repaired


def _from_tree(root: etree._Element, source: str, repaired: str | None) -> Unread:
    _check_root(root)
    altered = repaired is not None  # the body, before the responseDate's own repair
    response_date, repaired = _response_date(root.find(f"{_OAI}responseDate"), repaired)
    error = root.find(f"{_OAI}error")
    if error is not None:
        return Unread.of(
            Page(
                response_date,
                error_code=error.get("code", ""),
                error_message=_text(error),
                repaired=repaired,
            )
        )
    body = next(
        (c for c in root if isinstance(c.tag, str) and c.tag[len(_OAI) :] in _LIST_VERBS), None
    )
    if body is None:
        raise MalformedResponse("the response holds neither records nor an error")
    token_element = body.find(f"{_OAI}resumptionToken")

    def read() -> Page:
        collected = _Collected(source)
        for element in body:
            if element.tag in (f"{_OAI}record", _HEADER):
                collected.read(element, altered=altered)
        return _list_page(response_date, collected, token_element, body.tag, repaired)

    return Unread(_text(token_element) or None, None, body.tag[len(_OAI) :], read)


def _list_page(
    response_date: str | None,
    collected: _Collected,
    token_element: etree._Element | None,
    verb_tag: str,
    repaired: str | None,
) -> Page:
    def attribute(name: str) -> str | None:
        return None if token_element is None else token_element.get(name)

    return Page(
        response_date,
        collected.records,
        collected.quarantined,
        _text(token_element) or None,
        _int(attribute("cursor")),
        _int(attribute("completeListSize")),
        attribute("expirationDate"),
        repaired=repaired,
        verb=verb_tag[len(_OAI) :],
        invalid_dc=collected.invalid_dc,
    )


def _parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, make_parser(huge_tree=False))


def _repairs(body: bytes) -> list[tuple[str, bytes]]:
    """Candidate repaired bodies, mildest first."""
    start = body.find(b"<")
    trimmed = body[start:] if start > 0 else body
    cleaned = strip_illegal_bytes(trimmed)
    candidates = [(_STRIPPED, cleaned)]
    # A declaration that lies about the encoding (e.g. says ISO-8859-1, sends UTF-8) or an
    # XML declaration that is not at the very start: drop it and decode UTF-8 ourselves.
    undeclared = _DECLARATION.sub(b"", cleaned, count=1)
    text = undeclared.decode("utf-8", errors="replace").encode("utf-8")
    candidates.append(("re-read as UTF-8 without its XML declaration", text))
    return candidates


def _chunks(body: bytes) -> list[tuple[int, int]]:
    """(start, end) of each <record>...</record> (else <header>...</header>) in the body.

    One pass over the opening and one over the closing tags, paired in order: linear
    however many elements are left unclosed (a lazy regex would rescan to the end for each).
    """
    for opening, closing in _CHUNK_TAGS.values():
        ends = [m.end() for m in closing.finditer(body)]
        found: list[tuple[int, int]] = []
        position = 0
        end_index = 0
        for match in opening.finditer(body):
            start = match.start()
            if start < position:
                continue  # inside the chunk just taken
            while end_index < len(ends) and ends[end_index] <= start:
                end_index += 1
            if end_index == len(ends):
                break
            found.append((start, ends[end_index]))
            position = ends[end_index]
        if found:
            return found
    return []


def _salvage(body: bytes, source: str) -> Page:
    """Keep the envelope and every readable record of a page whose records are broken."""
    chunks = _chunks(body)
    if not chunks:
        raise MalformedResponse("not well-formed XML, and no records to salvage")
    envelope = body[: chunks[0][0]] + body[chunks[-1][1] :]
    last_error = ""
    for _, candidate in _repairs(envelope):
        try:
            root = _parse(candidate)
            break
        except etree.XMLSyntaxError as exc:
            last_error = str(exc)
    else:
        raise MalformedResponse(f"not well-formed XML even after repair: {last_error}")
    page = _from_tree(root, source, "records read one by one").read()
    collected = _Collected(source)
    nsmap = " ".join(f'xmlns:{p}="{u}"' if p else f'xmlns="{u}"' for p, u in root.nsmap.items())
    for start, end in chunks:
        raw = body[start:end]
        tag_end = raw.find(b">")
        wrapped = raw[: raw.find(b" ") if 0 < raw.find(b" ") < tag_end else tag_end]
        wrapped = wrapped + b" " + nsmap.encode() + raw[len(wrapped) :]
        cleaned = strip_illegal_bytes(wrapped)
        try:
            element = _parse(cleaned)
        except etree.XMLSyntaxError as exc:
            collected.quarantine(raw, str(exc))
            continue
        collected.read(element, raw, altered=cleaned != wrapped)
    # The verb too: a salvaged ListIdentifiers answer must still be refused.
    return dataclasses.replace(
        page,
        records=collected.records,
        quarantined=collected.quarantined,
        invalid_dc=collected.invalid_dc,
    )


def parse(body: bytes, source: str) -> Page:
    """Parse one response body, its records read.

    Returns the Page (an OAI error is a Page with error_code set). Raises
    MalformedResponse when the body is not an OAI-PMH response even after repair.
    """
    return parse_unread(body, source).read()


def _root(body: bytes) -> tuple[etree._Element, str | None]:
    """The body parsed as XML, and the repair that took (None: none was needed). Raises
    the first etree.XMLSyntaxError when no repair makes it well-formed."""
    try:
        return _parse(body), None
    except etree.XMLSyntaxError as exc:
        first = exc
    for what, candidate in _repairs(body):
        try:
            return _parse(candidate), what
        except etree.XMLSyntaxError:
            continue
    raise first


def parse_unread(body: bytes, source: str) -> Unread:
    """Parse one response body as XML (repaired if need be), leaving its records unread.

    Raises MalformedResponse when the body is not an OAI-PMH response even after repair.
    """
    try:
        root, repaired = _root(body)
    except etree.XMLSyntaxError as exc:
        try:
            return Unread.of(_salvage(body, source))
        except MalformedResponse as problem:
            raise MalformedResponse(f"{problem} (first error: {exc})") from None
    return dataclasses.replace(_from_tree(root, source, repaired), body=body)


def parse_response(body: bytes, verb: str) -> tuple[etree._Element, str | None]:
    """The root of a `verb` response that is not a list of records (Identify,
    ListMetadataFormats, ListSets), read with the repairs a page gets, and the repair that
    took. Raises MalformedResponse when it is not well-formed even after repair, or not an
    OAI-PMH 2.0 response."""
    try:
        root, repaired = _root(body)
    except etree.XMLSyntaxError as exc:
        raise MalformedResponse(f"{verb} is not well-formed XML ({exc})") from exc
    try:
        _check_root(root)
    except MalformedResponse as problem:
        raise MalformedResponse(f"{verb}: {problem}") from None
    return root, repaired


def parse_large(stream: IO[bytes], source: str, part_records: int) -> Iterator[tuple[Page, bool]]:
    """Parse a body too large to hold in memory (a temporary file), record by record.

    Yields (page, final) with at most `part_records` records each: a part that is not
    final holds only records, quarantined records and invalid_dc (and the verb); the final
    one holds the rest of the page too. Each record is dropped from the tree once read, so
    memory holds one part. Raises MalformedResponse when the body is not an OAI-PMH
    response: no repair is tried on a body this large (the parts yielded before hold
    records that were read whole).
    """
    cleaned = _CleanStream(stream)
    events = safe_iterparse(cleaned, ("start", "end"))
    root: etree._Element | None = None
    verb: etree._Element | None = None
    collected = _Collected(source)
    date_element: etree._Element | None = None
    part_date: str | None = None  # the readable responseDate, each part's harvest date
    token_element: etree._Element | None = None
    try:
        for event, element in events:
            if root is None:
                root = element
                _check_root(root)
                continue
            parent = element.getparent()
            if event == "start":
                if parent is root and element.tag[len(_OAI) :] in _LIST_VERBS:
                    verb = element
                continue
            if parent is root:
                tag = element.tag
                if tag == f"{_OAI}responseDate":
                    date_element = element
                    part_date = _response_date(element, None)[0]
                elif tag == f"{_OAI}error":
                    response_date, repaired = _response_date(
                        date_element, _STRIPPED if cleaned.removed else None
                    )
                    code = element.get("code", "")
                    message = _text(element)
                    yield (
                        Page(
                            response_date, error_code=code, error_message=message, repaired=repaired
                        ),
                        True,
                    )
                    return
            elif verb is not None and parent is verb:
                if element.tag == f"{_OAI}resumptionToken":
                    token_element = element
                elif element.tag in (f"{_OAI}record", _HEADER):
                    # Bytes dropped anywhere so far may have been this record's.
                    collected.read(element, altered=cleaned.removed > 0)
                    element.clear()
                    while element.getprevious() is not None:
                        del verb[0]  # records read before this one: memory stays flat
                    if len(collected.records) + len(collected.quarantined) >= part_records:
                        # The responseDate comes before the list: the parts carry it too
                        # (it is their records' harvest date).
                        yield _list_page(part_date, collected, None, verb.tag, None), False
                        collected = _Collected(source)
    except etree.XMLSyntaxError as exc:
        raise MalformedResponse(
            f"not well-formed XML (a large body is not repaired): {exc}"
        ) from exc
    if verb is None:
        raise MalformedResponse("the response holds neither records nor an error")
    repaired = _STRIPPED if cleaned.removed else None
    response_date, repaired = _response_date(date_element, repaired)
    yield _list_page(response_date, collected, token_element, verb.tag, repaired), True


class _CleanStream:
    """A body file read with the mildest repair applied on the way: text before the root
    and bytes XML forbids are dropped (both are single bytes outside any markup, so chunk
    boundaries do not matter). UTF-16 bodies, where such bytes are legal halves of
    characters, are read as they are."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.removed = 0
        self._started = False
        self._strip = True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if not self._started and data:
            self._started = True
            if data.startswith((b"\xff\xfe", b"\xfe\xff")):
                self._strip = False
                return data
            bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
            data = data[len(bom) :]
            skipped = 0
            blank = True  # only whitespace before the first "<"
            while (start := data.find(b"<")) < 0:
                skipped += len(data)
                blank = blank and not data.strip()
                data = self.raw.read(size)
                if not data:
                    self.removed += skipped
                    return bom
            skipped += start
            blank = blank and not data[:start].strip()
            # Whitespace before the root is well-formed XML (parse() reads it as it is);
            # before an XML declaration it is not, and dropping it is a repair.
            if not blank or data.startswith(b"<?xml", start):
                self.removed += skipped
            data = bom + data[start:]
        if self._strip:
            cleaned = strip_illegal_bytes(data)
            self.removed += len(data) - len(cleaned)
            return cleaned
        return data
