"""The HTML view in a real browser: headless Chromium loads pages from the provider served on
127.0.0.1, and the DOM it renders holds the titles, the next-page link and an error's meaning.

Chromium sends its own navigation Accept header, so these tests also show that a real
browser is recognised. Without Chromium they skip, saying why; under CI (the CI variable
set, as .ci/run does) they fail instead, so they cannot silently stop running.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urljoin

import pytest
from lxml import html

from provider.settings import ProviderSettings
from tests.chromium import dump_dom, find_chromium
from tests.conftest import REPOSITORY_IDENTIFIER, RunningProvider, serve
from tests.provider.stores import WORK_COPY, WORK_PAPER, build_works
from tests.tools import required
from tests.xsd import ResponseValidator

PAGE_SIZE = 4
# Chromium's built-in viewer for XML without a stylesheet (the issue's "does not appear to
# have any style information") marks its DOM with this style element.
XML_VIEWER = "xml-viewer-style"


@pytest.fixture(scope="module")
def chromium() -> str:
    return required(find_chromium(), "Chromium is not installed (Debian: apt-get install chromium)")


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, response_validator: ResponseValidator
) -> Iterator[RunningProvider]:
    path = build_works(tmp_path_factory.mktemp("browser") / "mirror.db")
    settings = ProviderSettings(
        repository_name="Browser test repository",
        repository_identifier=REPOSITORY_IDENTIFIER,
        page_size=PAGE_SIZE,
    )
    with serve(path, response_validator, settings) as running:
        yield running


def _rendered(chromium: str, url: str, tmp_path: Path) -> html.HtmlElement:
    text = dump_dom(chromium, url, tmp_path / "profile")
    assert XML_VIEWER not in text, "Chromium showed the XML tree, not the page"
    return html.document_fromstring(text)


def _texts(page: html.HtmlElement, path: str) -> list[str]:
    return [" ".join(element.text_content().split()) for element in page.xpath(path)]


def test_list_records_page_shows_titles_and_the_next_page_link(
    chromium: str, site: RunningProvider, tmp_path: Path
) -> None:
    url = f"{site.url}?verb=ListRecords&metadataPrefix=oai_dc"
    page = _rendered(chromium, url, tmp_path)
    titles = _texts(page, "//ol[@class='records']/li/h2/a")
    assert len(titles) == PAGE_SIZE
    assert "(no title)" not in titles  # the records' own titles reached the page
    (position,) = _texts(page, "//main/p[@class='muted']")
    assert position.startswith(f"Records 1 to {PAGE_SIZE} of ")
    (following,) = page.xpath("//p[@id='next']/a/@href")
    assert following.startswith("?verb=ListRecords&resumptionToken=")
    # The link, resolved as the browser resolves it, leads to the second page.
    second = _rendered(chromium, urljoin(url, following), tmp_path)
    assert second.xpath("//ol[@class='records']/@start") == [str(PAGE_SIZE + 1)]
    identifiers = "//ol/li/p/a/code"
    assert set(_texts(second, identifiers)).isdisjoint(_texts(page, identifiers))


def test_identify_page_is_the_repository_card(
    chromium: str, site: RunningProvider, tmp_path: Path
) -> None:
    for url in (f"{site.url}?verb=Identify", site.url):  # bare /oai is the card too
        page = _rendered(chromium, url, tmp_path)
        assert _texts(page, "//main/h1") == ["Browser test repository"]
        terms = _texts(page, "//dl/dt")
        assert {"Base URL", "Records", "Earliest datestamp", "Granularity"} <= set(terms)
        assert any("verb=ListRecords" in href for href in page.xpath("//main//a/@href"))


def test_error_page_explains_the_error(
    chromium: str, site: RunningProvider, tmp_path: Path
) -> None:
    query = urlencode(
        {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:x.org:1"}
    )
    page = _rendered(chromium, f"{site.url}?{query}", tmp_path)
    assert _texts(page, "//main/h1") == ["No such record"]
    (box,) = _texts(page, "//section[@class='error']")
    assert "No record in this repository has that identifier" in box
    assert "idDoesNotExist" in box


def test_record_page_links_its_work(chromium: str, site: RunningProvider, tmp_path: Path) -> None:
    query = urlencode({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": WORK_PAPER})
    page = _rendered(chromium, f"{site.url}?{query}", tmp_path)
    assert _texts(page, "//h2[@id='same-work']/following-sibling::ul[1]/li/span/code") == [
        WORK_COPY
    ]
    assert page.xpath("//h2[@id='related']")


def test_switched_off_chromium_shows_the_xml_tree(
    chromium: str, tmp_path: Path, response_validator: ResponseValidator
) -> None:
    """What the issue reported, kept as the contrast: without the view, the raw tree."""
    path = build_works(tmp_path / "mirror.db")
    settings = ProviderSettings(repository_identifier=REPOSITORY_IDENTIFIER, html_view=False)
    with serve(path, response_validator, settings) as running:
        text = dump_dom(chromium, f"{running.url}?verb=Identify", tmp_path / "profile")
    assert XML_VIEWER in text
