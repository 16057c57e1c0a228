"""Where a list's pages end: a page size that divides the list, one less, one more, one.

The provider finds a page's last key and whether a record follows it apart from the page's
rows; a list whose length is a multiple of the page size must end on a full page with an
empty token, never on an empty page or a token that points past the end.
"""

from __future__ import annotations

import sqlite3
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from provider.app import make_app, query_pairs
from provider.settings import ProviderSettings
from tests.conftest import REPOSITORY_IDENTIFIER, filled_store_file
from tests.provider.replies import listed_keys, resumption_token
from tests.provider.test_hypothesis import call
from tests.xsd import ResponseValidator

LISTS = [
    "verb=ListRecords&metadataPrefix=oai_dc",
    "verb=ListIdentifiers&metadataPrefix=oai_dc",
    "verb=ListRecords&metadataPrefix=oai_dc&set=generated:batch",
    "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2000-01-01&until=2100-01-01",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("paging") / "mirror.db"
    return str(filled_store_file(path, extra_local=12))


def _listed(db: str, query: str) -> list[str]:
    """The identifiers the list holds, in its order, straight from the store."""
    arguments = dict(parse_qsl(query))
    table = "record_sets" if "set" in arguments else "records"
    where = "WHERE set_spec = ?" if "set" in arguments else ""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            f"SELECT local_identifier FROM {table} {where}"
            " ORDER BY local_datestamp, local_identifier",
            [arguments["set"]] if "set" in arguments else [],
        ).fetchall()
    finally:
        conn.close()
    return [row[0] for row in rows]


def _page_sizes(count: int) -> list[int]:
    divisor = next((size for size in range(count // 2, 1, -1) if count % size == 0), 1)
    return sorted({1, divisor, count - 1, count, count + 1, divisor + 1})


@pytest.mark.parametrize("query", LISTS)
def test_pages_end_where_the_list_ends(
    store: str, query: str, response_validator: ResponseValidator
) -> None:
    expected = _listed(store, query)
    assert len(expected) >= 6
    for page_size in _page_sizes(len(expected)):
        settings = ProviderSettings(
            repository_identifier=REPOSITORY_IDENTIFIER, page_size=page_size
        )
        app = make_app(store, settings)
        verb = dict(parse_qsl(query))["verb"]
        request, seen, pages = query, [], 0
        while True:
            reply = call(app, query=request)
            assert not response_validator.problems(reply.body)
            doc = etree.fromstring(reply.body)
            page = listed_keys(doc)
            pages += 1
            assert 0 < len(page) <= page_size, (page_size, pages)
            seen += page
            token = resumption_token(doc)
            if token is None or not token.text:
                break
            assert token.cursor == str(len(seen) - len(page))
            request = urlencode({"verb": verb, "resumptionToken": token.text})
        assert seen == expected, page_size
        assert pages == -(-len(expected) // page_size), page_size
        # One page: no token at all; more: the last page says the list is complete.
        if pages == 1:
            assert token is None
        else:
            assert token is not None
            assert token.complete_list_size == str(len(expected))


QUERY_TEXT = st.text(alphabet=st.sampled_from("ab=&%+;2Fé \x00"), max_size=24)


@given(raw=QUERY_TEXT)
def test_query_pairs_are_what_parse_qsl_gives(raw: str) -> None:
    expected = parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="replace")
    assert query_pairs(raw) == expected
