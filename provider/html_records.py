"""Record pages of the HTML view: ListRecords and ListIdentifiers as a list of records, and
GetRecord as the record's fields with its work's other records and related outputs."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from lxml import etree

from oaiformat.namespaces import NS_PROVENANCE, NS_XML
from oaiformat.reading import DC_ROOT
from oaiformat.render import SAME_WORK
from provider.html_page import (
    Neighbour,
    PageFacts,
    add,
    byline,
    link,
    oai,
    pager,
    position,
    record_link,
    term,
    value,
)

_DC_ROOT = f"{oai('metadata')}/{DC_ROOT}"
_LANG = f"{{{NS_XML}}}lang"


@dataclass(frozen=True)
class _Shown:
    """One record as a page shows it, read from its <record> or <header>."""

    identifier: str
    datestamp: str
    sets: tuple[str, ...]
    deleted: bool
    # (element, value, xml:lang) in document order; same-work links left out (the page
    # lists the work's records from the store, with their titles).
    fields: tuple[tuple[str, str, str | None], ...]
    # The origin a harvested record came from: (identifier, base URL, datestamp).
    origin: tuple[str, str, str] | None

    def values(self, element: str) -> list[str]:
        return [text for name, text, _ in self.fields if name == element]

    @property
    def title(self) -> str:
        titles = self.values("title")
        if self.deleted:
            return "Deleted record"
        return titles[0] if titles else "(no title)"

    @property
    def credit(self) -> str:
        """Its creators and date, as the page's byline."""
        return byline(self.values("creator"), self.values("date"))


def _read(item: etree._Element) -> _Shown:
    header = item if item.tag == oai("header") else item.find(oai("header"))
    if header is None:
        raise ValueError("a record without a header")
    fields: list[tuple[str, str, str | None]] = []
    dc = item.find(_DC_ROOT)
    if dc is not None:
        for element in dc:
            if not isinstance(element.tag, str):
                continue  # a comment or processing instruction of metadata published as it came
            text = (element.text or "").strip()
            if text and not text.startswith(SAME_WORK):
                fields.append((etree.QName(element).localname, text, element.get(_LANG)))
    described = item.find(f".//{{{NS_PROVENANCE}}}originDescription")
    origin = None
    if described is not None:
        identifier, base_url, datestamp = (
            described.findtext(f"{{{NS_PROVENANCE}}}{tag}") or ""
            for tag in ("identifier", "baseURL", "datestamp")
        )
        origin = (identifier, base_url, datestamp)
    return _Shown(
        header.findtext(oai("identifier")) or "",
        header.findtext(oai("datestamp")) or "",
        tuple(spec.text or "" for spec in header.findall(oai("setSpec"))),
        header.get("status") == "deleted",
        tuple(fields),
        origin,
    )


def list_records(body: etree._Element, facts: PageFacts, main: etree._Element) -> str:
    """A ListRecords or ListIdentifiers page; returns its title."""
    verb = etree.QName(body).localname
    items = body.findall(oai("record")) or body.findall(oai("header"))
    token = body.find(oai("resumptionToken"))
    title = "Records" if verb == "ListRecords" else "Identifiers"
    add(main, "h1", title)
    add(main, "p", position(len(items), token, "records"), class_="muted")
    listing = add(main, "ol", class_="records")
    if token is not None:
        listing.set("start", str(int(token.get("cursor") or 0) + 1))
    for item in items:
        record = _read(item)
        entry = add(listing, "li")
        href = record_link(record.identifier)
        if verb == "ListRecords":
            title, credit = record.title, record.credit
        else:  # headers only: the title and byline come from the store
            stored, credit = facts.listed.get(record.identifier, (None, ""))
            title = "Deleted record" if record.deleted else stored or "(no title)"
        add(add(entry, "h2"), "a", title, href=href)
        if credit:
            add(entry, "p", credit)
        facts_line = add(entry, "p", class_="muted")
        add(add(facts_line, "a", href=href), "code", record.identifier)
        status = " · deleted" if record.deleted else ""
        add(facts_line, "span", f" · {record.datestamp}{status}")
    pager(main, verb, token)
    return title


def get_record(body: etree._Element, facts: PageFacts, main: etree._Element) -> str:
    """A GetRecord page: the record's fields and header, its work's other records and the
    works related to it; returns its title."""
    item = body.find(oai("record"))
    if item is None:
        raise ValueError("GetRecord without a record")
    record = _read(item)
    add(main, "h1", record.title)
    credit = record.credit
    if credit:
        add(main, "p", credit, class_="muted")
    if record.deleted:
        add(
            main,
            "p",
            f"This record was deleted ({record.datestamp}). The repository keeps its "
            "identifier so that harvesters learn of the deletion.",
        )
    else:
        add(main, "h2", "Dublin Core")
        fields = add(main, "dl")
        # The provider writes each element's values together, in the order of Simple DC.
        for name, values in groupby(record.fields, key=lambda field: field[0]):
            add(fields, "dt", name.capitalize())
            for _, text, lang in values:
                dd = add(fields, "dd")
                if lang:
                    dd.set("lang", lang)
                value(dd, text)
    add(main, "h2", "Record")
    header = add(main, "dl")
    term(header, "Identifier", [record.identifier], code=True)
    term(header, "Datestamp", [record.datestamp])
    if record.sets:
        add(header, "dt", "Sets")
        for spec in record.sets:
            dd = add(header, "dd")
            add(dd, "a", spec, href=link(verb="ListRecords", metadataPrefix="oai_dc", set=spec))
    if record.origin is not None:
        identifier, base_url, datestamp = record.origin
        term(header, "Harvested from", [base_url])
        term(header, "Origin identifier", [identifier], code=True)
        term(header, "Origin datestamp", [datestamp])
    _neighbours(main, "Other records of this work", facts.same_work, "same-work")
    _neighbours(main, "Related outputs", facts.related, "related")
    return record.title


def _neighbours(
    main: etree._Element, heading: str, records: tuple[Neighbour, ...], section_id: str
) -> None:
    """A linked list of records or works, each with its title (and year)."""
    if not records:
        return
    add(main, "h2", heading).set("id", section_id)
    listing = add(main, "ul")
    for record in records:
        entry = add(listing, "li")
        add(entry, "a", record.title or record.identifier, href=record_link(record.identifier))
        note = f" ({record.year})" if record.year is not None else ""
        add(entry, "span", f"{note} ", class_="muted")
        add(entry[-1], "code", record.identifier)
