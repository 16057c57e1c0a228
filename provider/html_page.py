"""The frame and small parts every HTML page is made of: elements, relative links, term
lists, a list's position and its next-page link; and PageFacts, what a page shows beyond
its XML.

Elements are lxml elements serialised as HTML, so every text and attribute is escaped on
the way out. Links are relative to the endpoint (`?verb=...`), so they work behind any
proxy path; their arguments are URL-encoded here and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from lxml import etree

from oaiformat.namespaces import NS_OAI

_CSS = """
body{font:16px/1.5 system-ui,sans-serif;max-width:62rem;margin:0 auto;padding:0 1rem;
color:#1d1d1f}
header{border-bottom:1px solid #ccc;padding:.6rem 0;display:flex;flex-wrap:wrap;
gap:.3rem 1.4rem;align-items:baseline}
header .site{font-weight:700;color:inherit;text-decoration:none}
nav a{margin-right:1rem}
a{color:#0b57a4}
h1{font-size:1.55rem;margin:1.1rem 0 .4rem}
h2{font-size:1.15rem;margin:1.3rem 0 .3rem}
ol.records{padding-left:1.8rem}
ol.records>li{margin-bottom:.9rem}
ol.records h2{font-size:1.02rem;margin:0}
ol.records p{margin:0}
.muted{color:#5a5a5f;font-size:.9rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1.2rem}
dt{grid-column:1;font-weight:600}
dd{grid-column:2;margin:0}
code{font-size:.88em;overflow-wrap:anywhere}
table{border-collapse:collapse}
th,td{text-align:left;padding:.25rem 1.2rem .25rem 0;border-bottom:1px solid #e4e4e7}
.pager{margin:1.4rem 0;font-weight:600}
.error{border-left:4px solid #b3261e;background:#fdf3f2;padding:.3rem 1rem;margin:1rem 0}
footer{border-top:1px solid #ccc;margin:2.5rem 0 1rem;padding-top:.5rem;color:#5a5a5f;
font-size:.85rem}
"""

# The requests every page links to: label, link, what it lists.
VERB_LINKS: tuple[tuple[str, str, str], ...] = (
    ("Records", "?verb=ListRecords&metadataPrefix=oai_dc", "every record with its metadata"),
    ("Identifiers", "?verb=ListIdentifiers&metadataPrefix=oai_dc", "record headers only"),
    ("Sets", "?verb=ListSets", "the groups records are in"),
    ("Formats", "?verb=ListMetadataFormats", "the metadata formats offered"),
    ("Repository", "?verb=Identify", "this repository's description"),
)
# Only these become links: a javascript: or data: URL in a record stays text.
_WEB_URL = re.compile(r"https?://[^\s]+", re.IGNORECASE)


@dataclass(frozen=True)
class Neighbour:
    """A record a page links to: its local identifier, a title and a year when known."""

    identifier: str
    title: str | None
    year: int | None = None


@dataclass(frozen=True)
class PageFacts:
    """What a page shows beyond its XML, gathered from the store by provider.page_facts."""

    repository_name: str
    # The request's arguments as sent (error pages quote them; the XML may not echo them).
    request: tuple[tuple[str, str], ...] = ()
    # Bare /oai in a browser: the Identify card, introduced as the endpoint's home page.
    home: bool = False
    # Published records, deleted ones included (Identify).
    records: int | None = None
    # GetRecord: the other records of the record's work, and the works related to it.
    same_work: tuple[Neighbour, ...] = ()
    related: tuple[Neighbour, ...] = ()
    # ListIdentifiers: each listed record's title and byline (the XML has headers only).
    listed: Mapping[str, tuple[str | None, str]] = field(default_factory=dict)


def byline(creators: Iterable[str], dates: Iterable[str]) -> str:
    """Creators and dates in one line: "Stirrup, V.; Kaur, J. · 2019"."""
    return " · ".join(part for part in ("; ".join(creators), ", ".join(dates)) if part)


def oai(tag: str) -> str:
    """The qualified name of an OAI-PMH element."""
    return f"{{{NS_OAI}}}{tag}"


def add(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    """Append a `tag` element with text and attributes (`class_` for class) to `parent`."""
    child = etree.SubElement(parent, tag)
    for name, value in attrs.items():
        child.set(name.rstrip("_"), value)
    if text is not None:
        child.text = text
    return child


def link(**args: str) -> str:
    """A link to the endpoint with these arguments, URL-encoded, in the order given."""
    return "?" + urlencode(list(args.items()))


def record_link(identifier: str) -> str:
    """The link to one record's GetRecord page."""
    return link(verb="GetRecord", metadataPrefix="oai_dc", identifier=identifier)


def value(parent: etree._Element, text: str, *, code: bool = False) -> None:
    """Put a value into `parent`: an http(s) URL as a link to itself, else as text."""
    if _WEB_URL.fullmatch(text):
        add(parent, "a", text, href=text)
    elif code:
        add(parent, "code", text)
    else:
        parent.text = (parent.text or "") + text


def term(dl: etree._Element, label: str, values: Iterable[str], *, code: bool = False) -> None:
    """Append a term and one description per value to a definition list."""
    add(dl, "dt", label)
    for text in values:
        value(add(dl, "dd"), text, code=code)


def verb_list(main: etree._Element) -> None:
    """The list of requests a person can make, each with what it lists."""
    verbs = add(main, "ul")
    for label, href, meaning in VERB_LINKS:
        add(add(verbs, "li"), "a", label, href=href).tail = f": {meaning}"


def position(count: int, token: etree._Element | None, plural: str) -> str:
    """Where a list page stands: "Records 6 to 10 of 25", or "25 records" on a single page."""
    if token is None:
        return f"{count} {plural if count != 1 else plural[:-1]}"
    first = int(token.get("cursor") or 0) + 1
    size = token.get("completeListSize") or "?"
    return f"{plural.capitalize()} {first} to {first + count - 1} of {size}"


def pager(main: etree._Element, verb: str, token: etree._Element | None) -> None:
    """The next-page link a resumption token makes, or the note that this page is the last."""
    if token is None:
        return
    if token.text:
        paragraph = add(main, "p", class_="pager")
        add(paragraph, "a", "Next page →", href=link(verb=verb, resumptionToken=token.text))
        paragraph.set("id", "next")
        expires = token.get("expirationDate")
        if expires:
            add(paragraph, "span", f" (the link works until {expires})", class_="muted")
    else:
        add(main, "p", "This is the last page of the list.", class_="pager")


def frame(
    title: str, repository_name: str, response_date: str, main: etree._Element
) -> etree._Element:
    """Return the page around `main`: head with the title and style, a header naming the
    repository with the main links, and a footer saying what the page is."""
    page = etree.Element("html", lang="en")
    head = add(page, "head")
    add(head, "meta", charset="utf-8")
    add(head, "meta", name="viewport", content="width=device-width, initial-scale=1")
    add(head, "title", f"{title} · {repository_name}")
    add(head, "style", _CSS)
    body = add(page, "body")
    header = add(body, "header")
    add(header, "a", repository_name, href="?verb=Identify", class_="site")
    nav = add(header, "nav")
    for label, href, _ in VERB_LINKS[:3]:
        add(nav, "a", label, href=href)
    body.append(main)
    add(
        add(body, "footer"),
        "p",
        f"OAI-PMH 2.0 answer of {response_date}, shown as a page for people. Harvesters "
        "asking the same address get it as OAI-PMH XML.",
    )
    return page


def serialise(page: etree._Element) -> bytes:
    """The page as HTML5 in UTF-8, with its doctype."""
    return etree.tostring(page, method="html", encoding="utf-8", doctype="<!DOCTYPE html>")
