"""The mirror opened with Datasette itself (its in-process client, no mocks), with the metadata
`oai datasette-metadata` prints and the plugin the package installs: search, descriptions,
facets, hidden tables, XML as text and links answer as the README documents."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from datasette.app import Datasette
from datasette.plugins import pm
from markupsafe import escape

from oaiformat.dublin_core import DCValue
from oaiformat.record import Record
from store import datasette_plugin
from store.datasette_metadata import HIDDEN, LINKS, metadata
from store.db import open_store
from store.records import SourceInfo, ensure_source
from store.schema import FLAT_COLUMNS
from store.schema_docs import shipped
from store.writes import save_records
from tests.conftest import NOW, REPOSITORY_IDENTIFIER, fill_store
from works.update import refresh

# A cell drawn as a link (not the primary key's, which Datasette links to its own row).
_LINKED_CELL = re.compile(r'<td class="col-(\w+) type-(?!pk)[^"]*"><a href="([^"]+)">([^<]*)</a>')
_GRAPHENE = "Twisted bilayer graphene at the magic angle"


def _paper(
    source: str, identifier: str, creator: str, title: str = _GRAPHENE, **more: list[DCValue]
) -> Record:
    metadata = {
        "title": [DCValue(title)],
        "creator": [DCValue(creator)],
        "identifier": [DCValue("https://doi.org/10.1038/nature26160")],
        "date": [DCValue("2018-03-05")],
        "type": [DCValue("Text")],
        **more,
    }
    return Record(source, identifier, "2021-02-02", sets=("physics",), metadata=metadata)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample records, a harvested source, and one paper in two sources (one work of
    two records, a contributor in one) and a third record with its DOI but another title and
    author (a possible duplicate), with works computed: a store as after a harvest."""
    path = tmp_path_factory.mktemp("datasette") / "mirror.db"
    store = open_store(path)
    fill_store(store)
    with store.write() as conn:
        ensure_source(conn, SourceInfo("zenodo", "https://zenodo.org/oai2d"), NOW)
        papers = [
            _paper("arxiv", "oai:arXiv.org:1803.02342", "Cao, Yuan"),
            _paper(
                "zenodo",
                "oai:zenodo.org:1234",
                "Y. Cao",
                contributor=[DCValue("Jarillo-Herrero, Pablo")],
            ),
            _paper("zenodo", "oai:zenodo.org:5678", "Smith, Alice", "Unusual superconductors"),
        ]
        save_records(conn, papers, repository_identifier=REPOSITORY_IDENTIFIER, now=NOW)
    refresh(store)
    store.close()
    return path


@pytest.fixture(scope="module")
def plugin() -> Iterator[None]:
    """The project's plugin, registered as the package's entry point registers it (where
    the package is installed with it, Datasette has loaded it already)."""
    if pm.is_registered(datasette_plugin):
        yield
        return
    pm.register(datasette_plugin, name="oai_mirror")
    try:
        yield
    finally:
        pm.unregister(datasette_plugin)


class Browser:
    """Datasette serving the mirror, asked in-process."""

    def __init__(self, path: Path) -> None:
        self.datasette = Datasette([str(path)], metadata=metadata("mirror", shipped()))

    def get(self, path: str) -> httpx.Response:
        """The answer to one GET (200 expected)."""
        response: httpx.Response = asyncio.run(self.datasette.client.get(path))
        assert response.status_code == 200, (path, response.status_code)
        return response

    def json(self, path: str) -> Any:
        return self.get(path).json()

    def rows(self, path: str) -> list[dict[str, Any]]:
        joiner = "&" if "?" in path else "?"
        rows: list[dict[str, Any]] = self.json(f"{path}{joiner}_shape=array&_size=max")
        return rows

    def links(self, path: str) -> list[tuple[str, str, str]]:
        """Each linked cell of an HTML page: (column, URL, text)."""
        return [
            (column, html.unescape(href), html.unescape(text))
            for column, href, text in _LINKED_CELL.findall(self.get(path).text)
        ]


@pytest.fixture(scope="module")
def browser(mirror: Path, plugin: None) -> Browser:
    return Browser(mirror)


def test_search_on_the_records_finds_the_matching_records_only(browser: Browser) -> None:
    found = browser.rows("/mirror/records.json?_search=graphene&_col=identifier")
    assert sorted(r["identifier"] for r in found) == [
        "oai:arXiv.org:1803.02342",
        "oai:zenodo.org:1234",
    ]
    assert browser.rows("/mirror/records.json?_search=nosuchwordanywhere") == []
    smith = browser.rows("/mirror/records.json?_search=smith&_col=identifier")
    assert [r["identifier"] for r in smith] == ["oai:zenodo.org:5678"]
    flat = browser.rows("/mirror/records_flat.json?_search=graphene")
    assert [r["titles"] for r in flat] == [_GRAPHENE] * 2
    raw = "/mirror/records.json?_searchmode=raw&_search=title:graphene+AND+creators:"
    assert len(browser.rows(f"{raw}cao")) == 2
    assert browser.rows(f"{raw}smith") == []
    # The search box is on the page a person looks at.
    assert 'name="_search"' in browser.get("/mirror/records").text


def test_tables_and_columns_carry_the_readmes_descriptions(browser: Browser) -> None:
    docs = shipped()
    for table in ("records", "works", "work_members", "records_flat"):
        page = browser.get(f"/mirror/{table}").text
        described = docs.tables[table]
        assert escape(described.description) in page, table
        for column, meaning in described.columns.items():
            assert f"<dt>{column}</dt><dd>{escape(meaning)}</dd>" in page, (table, column)
    assert escape(docs.database) in browser.get("/mirror").text


def test_internal_tables_are_hidden(browser: Browser) -> None:
    tables = browser.json("/mirror.json")["tables"]
    hidden = {t["name"] for t in tables if t["hidden"]}
    assert set(HIDDEN) <= hidden
    assert {name for name in hidden - set(HIDDEN) if not name.startswith("records_fts_")} == set()
    listed = [t["name"] for t in tables if not t["hidden"]]
    assert listed[0] == "author_overrides"  # by name, no internal table first
    assert {"records", "works", "work_members", "authors", "record_authors"} <= set(listed)


def test_facets_by_source_set_type_and_year(browser: Browser) -> None:
    facets = browser.json("/mirror/records_flat.json")["facet_results"]
    assert set(facets) == {"source", "sets", "types", "year"}
    sources = {v["value"]: v["count"] for v in facets["source"]["results"]}
    assert sources == {"local": 9, "arxiv": 5, "zenodo": 2}
    sets = {v["value"]: v["count"] for v in facets["sets"]["results"]}
    assert sets["physics"] == 3
    years = {v["value"]: v["count"] for v in facets["year"]["results"]}
    query = "select year, count(*) as n from records_flat where year is not null group by year"
    assert years == {r["year"]: r["n"] for r in browser.rows(f"/mirror.json?sql={query}")}
    assert years[2018] >= 2
    records = browser.json("/mirror/records.json")["facet_results"]
    assert {"source", "sets", "deleted"} <= set(records)


def test_xml_is_shown_as_text(browser: Browser) -> None:
    page = browser.get("/mirror/records/1").text
    assert "&lt;record xmlns=" in page
    assert "&lt;header" in page
    assert "Binary" not in page


def test_records_works_members_and_authors_link_to_each_other(browser: Browser) -> None:
    for table, columns in LINKS.items():
        primary_keys = browser.json(f"/mirror/{table}.json?_size=1")["primary_keys"]
        keys = set(primary_keys) if len(primary_keys) == 1 else set()
        # (Datasette links URLs in other columns itself.)
        links = [link for link in browser.links(f"/mirror/{table}?_size=max") if link[0] in columns]
        assert {column for column, _, _ in links} == set(columns) - keys, table
        # A primary key links to its own row on the table's page; the row page has our link.
        for key in keys & set(columns):
            for row in browser.rows(f"/mirror/{table}.json"):
                links += [link for link in browser.links(f"/mirror/{table}/{row[key]}")]
            links = [link for link in links if link[0] in columns]
            assert key in {column for column, _, _ in links}, (table, key)
        for column, url, text in links:
            target = browser.json(url.replace("?", ".json?", 1) if "?" in url else f"{url}.json")
            # A row link finds its row; a list link finds as many rows as the cell counts.
            if "?" in url:
                assert str(target["filtered_table_rows_count"]) == text, (table, column, url)
            else:
                assert len(target["rows"]) == 1, (table, column, url)


def test_the_paper_in_two_sources_is_one_work_reached_from_each_record(browser: Browser) -> None:
    flat = browser.rows("/mirror/records_flat.json?_search=graphene")
    assert len({r["work_id"] for r in flat}) == 1
    work_id = flat[0]["work_id"]
    members = browser.links(f"/mirror/work_members?work_id={work_id}")
    assert ("work_id", f"/mirror/works/{work_id}", str(work_id)) in members
    matched = [url for column, url, _ in members if column == "matched_record_id"]
    assert len(matched) == 1
    # Only a creator's key has an authors row to link to; a contributor's is plain text.
    authors = browser.links("/mirror/record_authors?_search=&author_key__contains=cao")
    assert ("author_key", "/mirror/authors/cao+y", "cao y") in authors
    contributor = browser.links("/mirror/record_authors?role=contributor")
    assert [c for c in contributor if c[0] == "author_key"] == []


def test_other_databases_are_left_to_datasette(tmp_path: Path, plugin: None) -> None:
    """The plugin acts on tables whose metadata names it: the same store without the
    metadata shows its XML as Datasette does."""
    path = tmp_path / "other.db"
    store = open_store(path)
    fill_store(store)
    store.close()
    plain = Datasette([str(path)])
    page = asyncio.run(plain.client.get("/other/records/1")).text
    assert "&lt;Binary:" in page


def test_a_store_from_before_m006_gains_year_and_work_in_records_flat(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = open_store(path)
    fill_store(old)
    refresh(old)
    # Back to the view m001 made, as a store m006 has not reached yet has it.
    with old.write() as conn:
        conn.execute("DROP VIEW records_flat")
        conn.execute(f"CREATE VIEW records_flat AS SELECT {FLAT_COLUMNS} FROM records r")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name LIKE 'm006%'")
    columns = [row[1] for row in old.conn.execute("PRAGMA table_info(records_flat)")]
    assert "work_id" not in columns
    old.close()
    store = open_store(path)
    rows = store.conn.execute(
        "SELECT f.work_id, m.work_id, f.year, w.year FROM records_flat f"
        " JOIN work_members m ON m.record_id = f.record_id JOIN works w ON w.id = m.work_id"
        " WHERE w.representative_id = f.record_id"
    ).fetchall()
    store.close()
    assert rows
    assert all(flat_work == work and flat_year == year for flat_work, work, flat_year, year in rows)
