"""The record responses' envelope, written from a template, is the bytes the lxml builders of
the other responses write."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from oaiformat.namespaces import NS_OAI
from provider import responses
from provider.responses import TokenInfo, with_fragments

PLACEHOLDER = "splice-here"
# Every character class the escaping treats differently: markup, quotes, whitespace that
# attributes must keep, characters beyond ASCII (some outside the BMP), plain text.
TRICKY = st.text(
    alphabet=st.sampled_from(list("&<>\"'\n\r\t ]=?/:aZ09é\u2028\U0001f600")), max_size=30
)
NAMES = st.sampled_from(["verb", "metadataPrefix", "from", "until", "set", "resumptionToken"])


def _lxml_reference(
    response_date: str,
    base_url: str,
    request_args: Mapping[str, str],
    verb: str,
    fragments: list[bytes],
    token: TokenInfo | None,
) -> bytes:
    """The response as the lxml builders of the other responses (errors, Identify) write
    it, the records spliced in at a placeholder element."""
    root = responses._envelope(response_date, base_url, request_args)
    body = etree.SubElement(root, f"{{{NS_OAI}}}{verb}")
    etree.SubElement(body, f"{{{NS_OAI}}}{PLACEHOLDER}")
    responses._token(body, token)
    head, _, tail = responses._serialise(root).partition(f"<{PLACEHOLDER}/>".encode())
    return b"".join((head, *fragments, tail))


TOKENS = st.none() | st.builds(
    TokenInfo,
    text=TRICKY,
    cursor=st.integers(0, 10**9),
    complete_list_size=st.integers(0, 10**9),
    expiration_date=st.none() | TRICKY,
)


@given(
    response_date=TRICKY,
    base_url=TRICKY,
    request_args=st.dictionaries(NAMES, TRICKY, max_size=4),
    verb=st.sampled_from(["GetRecord", "ListIdentifiers", "ListRecords"]),
    fragments=st.lists(st.binary(max_size=20), max_size=3),
    token=TOKENS,
)
def test_the_envelope_is_what_lxml_serialises(
    response_date: str,
    base_url: str,
    request_args: dict[str, str],
    verb: str,
    fragments: list[bytes],
    token: TokenInfo | None,
) -> None:
    arguments = (response_date, base_url, request_args, verb, fragments, token)
    assert with_fragments(*arguments) == _lxml_reference(*arguments)


@pytest.mark.parametrize("where", ["base_url", "argument", "token"])
def test_a_character_xml_forbids_is_refused_as_lxml_refuses_it(where: str) -> None:
    bad = "a\x01b"
    base_url = bad if where == "base_url" else "http://127.0.0.1/oai"
    arguments = {"verb": "ListRecords", "set": bad if where == "argument" else "s"}
    token = TokenInfo(bad if where == "token" else "t", 0, 1, None)
    with pytest.raises(ValueError):
        _lxml_reference("2026-01-01T00:00:00Z", base_url, arguments, "ListRecords", [], token)
    with pytest.raises(ValueError, match="XML compatible"):
        with_fragments("2026-01-01T00:00:00Z", base_url, arguments, "ListRecords", [], token)
