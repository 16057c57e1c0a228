"""The HTML view: browsers (Accept naming text/html and application/xhtml+xml) get pages,
everything else the XML, byte for byte as with the view switched off.

Every page goes through `serve`, which checks it as HTML5 (tests/html5.py) as it checks
every XML reply against the XSDs.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlencode, urljoin, urlsplit

import pytest
from lxml import etree, html

from oaiformat.namespaces import NS_OAI
from provider.app import wants_html
from provider.settings import ProviderSettings
from store.db import open_store
from store.transfer import import_file
from tests import html5
from tests.conftest import REPOSITORY_IDENTIFIER, RunningProvider, serve
from tests.provider.replies import RawReply, send_raw
from tests.provider.stores import (
    HOSTILE_ID,
    HOSTILE_TITLE,
    KINDS_SET_NAME,
    WORK_COPY,
    WORK_PAPER,
    WORK_RELATED,
    build_works,
)
from tests.xsd import ResponseValidator, xpath_texts

CHROMIUM = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
JAVA = "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2"
BROWSER = {"Accept": CHROMIUM}
PAGE_SIZE = 4
FIXED = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
LIST_RECORDS = "verb=ListRecords&metadataPrefix=oai_dc"
BASE_URL = "http://oai.example.org/oai"


def _settings(**changes: object) -> ProviderSettings:
    return ProviderSettings(
        repository_name="Test repository",
        repository_identifier=REPOSITORY_IDENTIFIER,
        page_size=PAGE_SIZE,
        token_secret="html-view-tests",  # noqa: S106 - a test value
        # Both providers name one base URL: their echoes then differ only if the view leaks.
        base_url=BASE_URL,
        **changes,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def works_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_works(tmp_path_factory.mktemp("html") / "mirror.db")


@pytest.fixture(scope="module")
def on(works_db: str, response_validator: ResponseValidator) -> Iterator[RunningProvider]:
    """The provider with the HTML view (the default), its clock fixed."""
    with serve(works_db, response_validator, _settings(), lambda: FIXED) as running:
        yield running


@pytest.fixture(scope="module")
def off(works_db: str, response_validator: ResponseValidator) -> Iterator[RunningProvider]:
    """The same provider with `html_view = false`."""
    with serve(works_db, response_validator, _settings(html_view=False), lambda: FIXED) as running:
        yield running


def _get(running: RunningProvider, query: str, accept: str | None = CHROMIUM) -> RawReply:
    headers = {} if accept is None else {"Accept": accept}
    return send_raw(running, "GET", f"/oai?{query}" if query else "/oai", headers=headers)


def _page(reply: RawReply) -> html.HtmlElement:
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    return html.document_fromstring(reply.body)


def _text(page: html.HtmlElement, path: str) -> list[str]:
    return [" ".join(element.text_content().split()) for element in page.xpath(path)]


def _query(href: str, running: RunningProvider, base_query: str) -> str:
    """The query a browser would send after clicking `href` on the page at `base_query`."""
    return urlsplit(urljoin(f"{running.url}?{base_query}", href)).query


# ---------------------------------------------------------------------------------------------
# Negotiation


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (CHROMIUM, True),
        (FIREFOX, True),
        ("TEXT/HTML, Application/XHTML+XML", True),
        ("application/xhtml+xml;q=0.5,text/html;level=1", True),
        ("*/*", False),
        ("text/xml", False),
        ("application/xml", False),
        (JAVA, False),
        ("", False),
        ("text/html", False),
        ("application/xhtml+xml", False),
        ("text/html;q=0, application/xhtml+xml", False),
        ("text/html, application/xhtml+xml;q=0.0", False),
        ("text/html, application/xhtml+xml;q=junk", False),
    ],
)
def test_only_an_accept_naming_both_html_types_is_a_browser(accept: str, expected: bool) -> None:
    assert wants_html(accept) is expected


@pytest.mark.parametrize("accept", [CHROMIUM, FIREFOX])
@pytest.mark.parametrize("query", ["verb=Identify", LIST_RECORDS, "verb=junk", ""])
def test_browsers_get_a_page(accept: str, query: str, on: RunningProvider) -> None:
    reply = _get(on, query, accept)
    page = _page(reply)
    assert reply.headers["vary"] == "Accept, Accept-Encoding"
    assert int(reply.headers["content-length"]) == len(reply.body)
    assert page.xpath("//main/h1")


QUERIES = [
    "",
    "verb=Identify",
    LIST_RECORDS,
    "verb=ListIdentifiers&metadataPrefix=oai_dc",
    "verb=ListSets",
    "verb=ListMetadataFormats",
    f"verb=GetRecord&metadataPrefix=oai_dc&identifier={WORK_PAPER}",
    "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:nowhere.org:1",
    "verb=junk",
    "verb=ListRecords",
]


@pytest.mark.parametrize("accept", ["*/*", "text/xml", JAVA, None, "text/html"])
@pytest.mark.parametrize("query", QUERIES)
def test_everyone_else_gets_the_xml_byte_for_byte(
    query: str, accept: str | None, on: RunningProvider, off: RunningProvider
) -> None:
    """Harvesters, `*/*`, Java's default and no Accept at all: the very bytes and headers
    the provider sends with the HTML view switched off (the clock is fixed)."""
    with_view, without = _get(on, query, accept), _get(off, query, accept)
    assert with_view.status == without.status == 200
    assert with_view.headers["content-type"] == "text/xml; charset=UTF-8"
    assert with_view.body == without.body
    assert {k: v for k, v in with_view.headers.items() if k != "date"} == {
        k: v for k, v in without.headers.items() if k != "date"
    }


def test_following_tokens_gives_the_same_xml_with_the_view_on_and_off(
    on: RunningProvider, off: RunningProvider
) -> None:
    query = LIST_RECORDS
    while query:
        with_view, without = _get(on, query, "*/*"), _get(off, query, "*/*")
        assert with_view.body == without.body
        token = xpath_texts(etree.fromstring(with_view.body), "//o:resumptionToken")
        query = f"verb=ListRecords&{urlencode({'resumptionToken': token[0]})}" if token else ""


@pytest.mark.parametrize("query", ["", "verb=Identify", LIST_RECORDS])
def test_switched_off_a_browser_gets_the_xml(query: str, off: RunningProvider) -> None:
    reply = _get(off, query, CHROMIUM)
    assert reply.headers["content-type"] == "text/xml; charset=UTF-8"
    codes = xpath_texts(etree.fromstring(reply.body), "o:error/@code")
    assert codes == (["badVerb"] if not query else [])


def test_head_answers_a_browser_like_get_without_the_body(on: RunningProvider) -> None:
    head = send_raw(on, "HEAD", f"/oai?{LIST_RECORDS}", headers=BROWSER)
    get = _get(on, LIST_RECORDS)
    assert head.status == 200
    assert head.body == b""
    assert head.headers["content-type"] == "text/html; charset=utf-8"
    assert int(head.headers["content-length"]) == len(get.body)


def test_pages_are_compressed_when_asked(on: RunningProvider) -> None:
    reply = _get(on, "verb=Identify")
    packed = send_raw(
        on, "GET", "/oai?verb=Identify", headers={**BROWSER, "Accept-Encoding": "gzip"}
    )
    assert packed.headers["content-encoding"] == "gzip"
    assert gzip.decompress(packed.body) == reply.body


def test_an_html_answer_logs_one_access_line(
    on: RunningProvider, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, "provider.app"):
        page = _get(on, "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:nowhere.org:1")
    lines = [r.getMessage() for r in caplog.records if r.name == "provider.app"]
    assert len(lines) == 1
    assert lines[0].startswith(
        f'127.0.0.1 "GET /oai" 200 verb=GetRecord error=idDoesNotExist {len(page.body)} bytes '
    )


# ---------------------------------------------------------------------------------------------
# The pages


def test_bare_endpoint_is_the_repository_card_with_links_to_the_verbs(
    on: RunningProvider,
) -> None:
    page = _page(_get(on, ""))
    assert _text(page, "//main/h1") == ["Test repository"]
    card = dict(zip(_text(page, "//dl/dt"), _text(page, "//dl/dd"), strict=False))
    assert card["Base URL"] == BASE_URL
    size = xpath_texts(
        etree.fromstring(_get(on, "verb=ListIdentifiers&metadataPrefix=oai_dc", None).body),
        "//o:resumptionToken/@completeListSize",
    )
    assert card["Records"] == f"{size[0]} (deleted records included)"
    assert card["Granularity"] == "YYYY-MM-DDThh:mm:ssZ"
    assert card["Earliest datestamp"].startswith("20")
    assert card["Administrator"] == "oai-admin@repository.example.org"
    hrefs = page.xpath("//main//a/@href")
    for verb in ("ListRecords", "ListIdentifiers", "ListSets", "ListMetadataFormats", "Identify"):
        assert any(f"verb={verb}" in href for href in hrefs), verb
    assert "mailto:oai-admin@repository.example.org" in hrefs


def test_identify_is_the_same_card(on: RunningProvider) -> None:
    page = _page(_get(on, "verb=Identify"))
    assert _text(page, "//main/h1") == ["Test repository"]
    assert "Records" in _text(page, "//dl/dt")


def test_list_records_lists_titles_and_links_the_next_page(on: RunningProvider) -> None:
    """Titles, creators and dates; each identifier links its GetRecord page; the next-page
    link, followed to the end, shows every record the XML lists, each once."""
    xml_ids: list[str] = []
    query = LIST_RECORDS
    while query:
        doc = etree.fromstring(_get(on, query, None).body)
        xml_ids += xpath_texts(doc, "//o:header/o:identifier")
        token = xpath_texts(doc, "//o:resumptionToken")
        query = f"verb=ListRecords&{urlencode({'resumptionToken': token[0]})}" if token else ""
    shown: list[str] = []
    query, pages = LIST_RECORDS, 0
    while query:
        page = _page(_get(on, query))
        pages += 1
        first = len(shown) + 1
        assert _text(page, "//main/p[1]") == [
            f"Records {first} to {first + len(page.xpath('//ol/li')) - 1} of {len(xml_ids)}"
        ]
        assert page.xpath("//ol/@start") == [str(first)]
        for link in page.xpath("//ol/li/p/a[code]"):
            shown.append(link.text_content())
            assert _query(link.get("href"), on, query) == urlencode(
                {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": link.text_content()}
            )
        following = page.xpath("//p[@id='next']/a/@href")
        query = _query(following[0], on, query) if following else ""
        if following:
            assert following[0].startswith("?verb=ListRecords&resumptionToken=")
    assert shown == xml_ids
    assert pages == -(-len(xml_ids) // PAGE_SIZE)
    # Each record's heading is its first dc:title, as the XML gives it.
    first_page = etree.fromstring(_get(on, LIST_RECORDS, None).body)
    expected = [
        (xpath_texts(record, "o:metadata//*[local-name()='title']") or [""])[0]
        for record in first_page.iter(f"{{{NS_OAI}}}record")
    ]
    titles = _text(_page(_get(on, LIST_RECORDS)), "//ol/li/h2/a")
    assert [t for t, x in zip(titles, expected, strict=True) if x] == [x for x in expected if x]
    assert any(expected)


def test_list_identifiers_lists_identifiers(on: RunningProvider) -> None:
    page = _page(_get(on, "verb=ListIdentifiers&metadataPrefix=oai_dc"))
    assert _text(page, "//main/h1") == ["Identifiers"]
    assert len(page.xpath("//ol/li//a/code")) == PAGE_SIZE
    assert page.xpath("//p[@id='next']/a/@href")[0].startswith("?verb=ListIdentifiers&")


def test_get_record_shows_fields_its_work_and_related_outputs(on: RunningProvider) -> None:
    page = _page(_get(on, f"verb=GetRecord&metadataPrefix=oai_dc&identifier={WORK_PAPER}"))
    (title,) = _text(page, "//main/h1")
    assert title.startswith("A collective investment in lived experience practice")
    assert "Creator" in _text(page, "//dl/dt")
    assert "Stirrup, V." in _text(page, "//dl/dd")
    # The same-work link of the XML is shown as the work's records, with titles.
    assert not [v for v in _text(page, "//dd") if v.startswith("same-work:")]
    same = page.xpath("//h2[@id='same-work']/following-sibling::ul[1]/li/a/@href")
    assert same == [
        "?" + urlencode({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": WORK_COPY})
    ]
    related = page.xpath("//h2[@id='related']/following-sibling::ul[1]/li/a/@href")
    assert (
        "?"
        + urlencode({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": WORK_RELATED})
        in related
    )
    assert WORK_PAPER not in " ".join(related)
    assert "https://repository.example.org/item/8912z" in page.xpath("//dd/a/@href")


def test_list_sets_shows_names(on: RunningProvider) -> None:
    page = _page(_get(on, "verb=ListSets"))
    rows = dict(zip(_text(page, "//tr/td[1]"), _text(page, "//tr/td[2]"), strict=True))
    assert rows["type"] == KINDS_SET_NAME
    assert page.xpath("//tr/td[1]/a/@href")[0].startswith(
        "?verb=ListRecords&metadataPrefix=oai_dc&set="
    )


ERROR_PAGES = [
    ("verb=junk", "badVerb", "Not an OAI-PMH request", "six OAI-PMH requests"),
    ("verb=ListRecords", "badArgument", "The request's arguments are not right", "missing"),
    (
        "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:nowhere.org:1",
        "idDoesNotExist",
        "No such record",
        "No record in this repository has that identifier",
    ),
    (
        "verb=ListRecords&resumptionToken=forged",
        "badResumptionToken",
        "This page link has expired or is not valid",
        "Start the list again",
    ),
    (
        "verb=ListRecords&metadataPrefix=marc",
        "cannotDisseminateFormat",
        "That metadata format is not offered",
        "Dublin Core only",
    ),
    (
        "verb=ListRecords&metadataPrefix=oai_dc&from=1990-01-01&until=1990-01-02",
        "noRecordsMatch",
        "No records match",
        "no record falls within",
    ),
]


@pytest.mark.parametrize(("query", "code", "headline", "meaning"), ERROR_PAGES)
def test_errors_are_explained_in_words(
    query: str, code: str, headline: str, meaning: str, on: RunningProvider
) -> None:
    """HTTP 200 as for the XML (OAI errors are not transport errors); the headline and
    explanation in words, the repository's message and the code beneath."""
    reply = _get(on, query)
    page = _page(reply)
    assert _text(page, "//main/h1") == [headline]
    (box,) = _text(page, "//section[@class='error']")
    assert meaning in box
    assert f"(OAI-PMH error {code})" in box
    assert _text(page, "//main/p[1]/code") == [unquote(query)]
    assert any("verb=Identify" in href for href in page.xpath("//main//a/@href"))


def test_untrusted_values_are_escaped_and_never_links_to_script(on: RunningProvider) -> None:
    query = urlencode({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": HOSTILE_ID})
    reply = _get(on, query)
    page = _page(reply)
    assert _text(page, "//main/h1") == [HOSTILE_TITLE]
    assert not page.xpath("//script | //b | //i | //*[@onmouseover]")
    assert b"<script>" not in reply.body
    assert _text(page, "//head/title") == [f"{HOSTILE_TITLE} · Test repository"]
    hrefs = page.xpath("//a/@href")
    assert "javascript:alert(1)" not in hrefs
    assert 'https://x.org/?a=1&b="2"' in hrefs
    assert "javascript:alert(1)" in _text(page, "//dd")
    # The record's own links carry its identifier URL-encoded, and lead back to it.
    listing = _page(_get(on, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=odd:set"))
    (href,) = set(listing.xpath("//ol/li//a/@href"))  # the title and the identifier
    assert _query(href, on, "") == query
    assert _text(listing, "//ol/li//a/code") == [HOSTILE_ID]
    assert _text(listing, "//ol/li/h2/a") == [HOSTILE_TITLE]  # from the store, escaped


def test_a_request_quoting_markup_is_escaped_on_the_error_page(on: RunningProvider) -> None:
    query = urlencode({"verb": "<script>x</script>"})
    page = _page(_get(on, query))
    assert not page.xpath("//script")
    assert _text(page, "//main/p[1]/code") == ["verb=<script>x</script>"]
    assert "<script>x</script>" in " ".join(_text(page, "//q"))


BROKEN_PAGES = [
    b"<html><p>open",
    b"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>t</title></head>"
    b"<body><main><h1>x</h1><p><ul></ul></p></main></body></html>",
    b"<!DOCTYPE html><html><head><title>t</title></head><body><main><h1>x</h1>"
    b"<a href='javascript:x'>x</a></main></body></html>",
]


@pytest.mark.parametrize("body", BROKEN_PAGES)
def test_the_page_checker_finds_problems(body: bytes) -> None:
    """tests/html5.py, which `serve` runs on every page, does find problems."""
    assert html5.problems(body) != []


def test_a_harvested_record_names_its_origin(provider: RunningProvider) -> None:
    identifier = f"oai:{REPOSITORY_IDENTIFIER}:arxiv/oai:arXiv.org:2101.00001"
    query = urlencode({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": identifier})
    page = _page(_get(provider, query))
    record = dict(zip(_text(page, "//dl[2]/dt"), _text(page, "//dl[2]/dd"), strict=True))
    assert record["Harvested from"] == "http://export.arxiv.org/oai2"
    assert record["Origin identifier"] == "oai:arXiv.org:2101.00001"
    assert record["Sets"] == "arxiv:physics:hep-ex"
    sets = _page(_get(provider, "verb=ListSets"))
    names = dict(zip(_text(sets, "//tr/td[1]"), _text(sets, "//tr/td[2]"), strict=True))
    assert names["arxiv"] == "arXiv (captured sample)"


def test_a_deleted_record_says_so(provider: RunningProvider) -> None:
    identifier = f"oai:{REPOSITORY_IDENTIFIER}:arxiv/oai:arXiv.org:gone"
    query = urlencode({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": identifier})
    page = _page(_get(provider, query))
    assert _text(page, "//main/h1") == ["Deleted record"]
    assert any(text.startswith("This record was deleted") for text in _text(page, "//main/p"))
    assert not page.xpath("//h2[@id='same-work'] | //h2[@id='related']")


def test_metadata_formats_page(on: RunningProvider) -> None:
    page = _page(_get(on, "verb=ListMetadataFormats"))
    assert _text(page, "//tr/td[1]") == ["oai_dc"]
    assert page.xpath("//tr/td[1]/a/@href") == ["?verb=ListRecords&metadataPrefix=oai_dc"]
    assert _text(page, "//tr/td[3]") == ["http://www.openarchives.org/OAI/2.0/oai_dc/"]


def test_a_list_of_identifiers_shows_the_records_titles_too(on: RunningProvider) -> None:
    # The XML has headers only; for people the page lists records, as ListRecords does.
    records = _page(_get(on, "verb=ListRecords&metadataPrefix=oai_dc"))
    identifiers = _page(_get(on, "verb=ListIdentifiers&metadataPrefix=oai_dc"))
    titles = _text(records, "//ol/li/h2/a")
    assert titles and _text(identifiers, "//ol/li/h2/a") == titles
    assert _text(identifiers, "//ol/li/p[not(@class)]") == _text(records, "//ol/li/p[not(@class)]")


def test_a_record_published_as_it_came_is_shown_by_its_fields(
    tmp_path: Path, response_validator: ResponseValidator
) -> None:
    # Metadata as repositories send it: indented, commented, DC in a default namespace.
    (tmp_path / "came.xml").write_text(
        f'<OAI-PMH xmlns="{NS_OAI}"><ListRecords><record><header>'
        f"<identifier>oai:{REPOSITORY_IDENTIFIER}:came</identifier>"
        "<datestamp>2024-01-01</datestamp></header><metadata>"
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation='
        '"http://www.openarchives.org/OAI/2.0/oai_dc/'
        ' http://www.openarchives.org/OAI/2.0/oai_dc.xsd">\n'
        "  <!-- exported by the repository -->\n"
        '  <title xmlns="http://purl.org/dc/elements/1.1/" xml:lang="en">\n'
        "    Peer support as it came\n  </title>\n"
        "  <?sort-key came?>\n"
        '  <creator xmlns="http://purl.org/dc/elements/1.1/">Stirrup, V.</creator>\n'
        "</oai_dc:dc></metadata></record></ListRecords></OAI-PMH>",
        encoding="utf-8",
    )
    db = tmp_path / "came.db"
    store = open_store(db)
    try:
        import_file(store, tmp_path / "came.xml", REPOSITORY_IDENTIFIER, lambda: FIXED)
        assert store.conn.execute("SELECT publishes_received FROM records").fetchone() == (1,)
    finally:
        store.close()
    with serve(str(db), response_validator, _settings(), lambda: FIXED) as running:
        identifier = f"oai:{REPOSITORY_IDENTIFIER}:came"
        xml = _get(running, f"verb=GetRecord&metadataPrefix=oai_dc&identifier={identifier}", None)
        assert b"<!-- exported by the repository -->" in xml.body
        for query in (
            f"verb=GetRecord&metadataPrefix=oai_dc&identifier={identifier}",
            LIST_RECORDS,
        ):
            page = _page(_get(running, query))
            assert "Peer support as it came" in " ".join(_text(page, "//main//*"))
        record = _page(
            _get(running, f"verb=GetRecord&metadataPrefix=oai_dc&identifier={identifier}")
        )
        assert _text(record, "//main/h1") == ["Peer support as it came"]
        assert "Stirrup, V." in _text(record, "//dl/dd")
