"""The HTML view for people: one OAI-PMH XML answer rendered as a small HTML5 page.

The page is built from the very bytes a harvester gets for the same request, parsed again,
so the two views cannot say different things; PageFacts adds only what the XML lacks (the
record count, a record's work and related outputs). Browsers are dropping XSLT, so nothing
here depends on the browser: no stylesheet processing instruction, no JavaScript.

Pure: no SQL, no config. Text and attributes are escaped by lxml's serialiser (titles and
error messages quote untrusted input); only http(s) URLs become links.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lxml import etree

from oaiformat.namespaces import NS_FRIENDS, NS_OAI_IDENTIFIER
from provider.html_page import (
    PageFacts,
    add,
    frame,
    link,
    oai,
    pager,
    position,
    serialise,
    term,
    value,
    verb_list,
)
from provider.html_records import get_record, list_records

# Each OAI-PMH error code in words for people (PMH §3.6): a headline and what it means.
ERROR_MEANINGS: dict[str, tuple[str, str]] = {
    "badVerb": (
        "Not an OAI-PMH request",
        "The address needs a verb argument naming one of the six OAI-PMH requests, given "
        "once. The requests a person can make are listed below.",
    ),
    "badArgument": (
        "The request's arguments are not right",
        "An argument is missing, repeated, not allowed with this verb, or its value has the "
        "wrong form (dates are YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ, from no later than until).",
    ),
    "badResumptionToken": (
        "This page link has expired or is not valid",
        "The resumption token that leads to the next page of a list is unknown, damaged, or "
        "past its expiry date. Start the list again from its first page.",
    ),
    "cannotDisseminateFormat": (
        "That metadata format is not offered",
        "This repository publishes its records in Dublin Core only (metadataPrefix oai_dc).",
    ),
    "idDoesNotExist": (
        "No such record",
        "No record in this repository has that identifier. It may be mistyped, or belong to "
        "another repository.",
    ),
    "noRecordsMatch": (
        "No records match",
        "The request is correct, but no record falls within its dates and set.",
    ),
    "noMetadataFormats": ("No metadata formats", "There are no metadata formats for this item."),
    "noSetHierarchy": (
        "This repository has no sets",
        "Its records are not grouped in sets, so a set cannot be asked for.",
    ),
}

# A page builder fills the main element from the verb's element and returns the title.
Builder = Callable[[etree._Element, PageFacts, etree._Element], str]


def render(root: etree._Element, facts: PageFacts) -> bytes:
    """Return the HTML page (UTF-8, with its doctype) for one of our OAI-PMH responses,
    parsed (`root`: its <OAI-PMH> element)."""
    main = etree.Element("main")
    errors = root.findall(oai("error"))
    if errors:
        title = _errors(errors, facts, main)
    else:
        body = root[2]  # responseDate, request, then the verb's element (PMH §3.2)
        title = _PAGES[etree.QName(body).localname](body, facts, main)
    response_date = root.findtext(oai("responseDate")) or ""
    return serialise(frame(title, facts.repository_name, response_date, main))


def _identify(body: etree._Element, facts: PageFacts, main: etree._Element) -> str:
    """The repository card (also the home page: bare /oai in a browser)."""
    add(main, "h1", body.findtext(oai("repositoryName")) or facts.repository_name)
    if facts.home:
        intro = add(main, "p", "This address is an OAI-PMH 2.0 endpoint: harvesters ask it ")
        add(
            intro, "code", "?verb=…"
        ).tail = " and get XML; a browser gets these pages. The records are listed under Browse."
    card = add(main, "dl", class_="card")
    term(card, "Base URL", [body.findtext(oai("baseURL")) or ""])
    if facts.records is not None:
        term(card, "Records", [f"{facts.records} (deleted records included)"])
    for label, tag in (
        ("Earliest datestamp", "earliestDatestamp"),
        ("Granularity", "granularity"),
        ("Deleted records", "deletedRecord"),
        ("Protocol version", "protocolVersion"),
    ):
        term(card, label, [body.findtext(oai(tag)) or ""])
    add(card, "dt", "Administrator")
    for email in body.findall(oai("adminEmail")):
        add(add(card, "dd"), "a", email.text or "", href=f"mailto:{email.text or ''}")
    codings = [coding.text or "" for coding in body.findall(oai("compression"))]
    if codings:
        term(card, "Compression", [", ".join(codings)])
    sample = body.findtext(f".//{{{NS_OAI_IDENTIFIER}}}sampleIdentifier")
    if sample:
        term(card, "Identifiers look like", [sample], code=True)
    friends = [url.text or "" for url in body.iterfind(f".//{{{NS_FRIENDS}}}baseURL")]
    if friends:
        term(card, "Harvested from", friends)
    add(main, "h2", "Browse")
    verb_list(main)
    return facts.repository_name if facts.home else "Repository"


def _list_metadata_formats(body: etree._Element, facts: PageFacts, main: etree._Element) -> str:
    add(main, "h1", "Metadata formats")
    table = add(main, "table")
    head = add(table, "tr")
    for label in ("Prefix", "Schema", "Namespace"):
        add(head, "th", label)
    for fmt in body.findall(oai("metadataFormat")):
        prefix = fmt.findtext(oai("metadataPrefix")) or ""
        row = add(table, "tr")
        add(add(row, "td"), "a", prefix, href=link(verb="ListRecords", metadataPrefix=prefix))
        value(add(row, "td"), fmt.findtext(oai("schema")) or "")
        add(add(row, "td"), "code", fmt.findtext(oai("metadataNamespace")) or "")
    return "Metadata formats"


def _list_sets(body: etree._Element, facts: PageFacts, main: etree._Element) -> str:
    sets = body.findall(oai("set"))
    token = body.find(oai("resumptionToken"))
    add(main, "h1", "Sets")
    add(main, "p", position(len(sets), token, "sets"), class_="muted")
    table = add(main, "table")
    head = add(table, "tr")
    for label in ("Set", "Name"):
        add(head, "th", label)
    for element in sets:
        spec = element.findtext(oai("setSpec")) or ""
        row = add(table, "tr")
        href = link(verb="ListRecords", metadataPrefix="oai_dc", set=spec)
        add(add(row, "td"), "a", spec, href=href)
        add(row, "td", element.findtext(oai("setName")) or "")
    pager(main, "ListSets", token)
    return "Sets"


def _errors(errors: Sequence[etree._Element], facts: PageFacts, main: etree._Element) -> str:
    """Each error explained in words, the repository's own message and code beneath."""
    codes = [error.get("code") or "" for error in errors]
    headline = ERROR_MEANINGS.get(codes[0], ("The request could not be answered", ""))[0]
    add(main, "h1", headline)
    asked = add(main, "p", "The request: ", class_="muted")
    # Shown decoded, as a person reads it; the serialiser escapes it.
    shown = "&".join(f"{name}={value}" for name, value in facts.request)
    add(asked, "code", shown or "(no arguments)")
    for error, code in zip(errors, codes, strict=True):
        box = add(main, "section", class_="error")
        title, meaning = ERROR_MEANINGS.get(code, (code, ""))
        if len(errors) > 1:
            add(box, "h2", title)
        add(box, "p", meaning)
        said = add(box, "p", "The repository's message: ", class_="muted")
        add(said, "q", error.text or "").tail = " (OAI-PMH error "
        add(said, "code", code).tail = ")"
    if "badResumptionToken" in codes:
        add(add(main, "p"), "a", "Start the list of records again", href=_FIRST_PAGE)
    add(main, "h2", "Requests")
    verb_list(main)
    return headline


_FIRST_PAGE = link(verb="ListRecords", metadataPrefix="oai_dc")
_PAGES: dict[str, Builder] = {
    "Identify": _identify,
    "ListMetadataFormats": _list_metadata_formats,
    "ListSets": _list_sets,
    "GetRecord": get_record,
    "ListRecords": list_records,
    "ListIdentifiers": list_records,
}
