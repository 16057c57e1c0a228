"""Argument values are matched whole: a trailing newline is illegal syntax, not a value."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.conftest import RunningProvider
from tests.xsd import xpath_texts


@pytest.mark.parametrize(
    "params",
    [
        {"verb": "ListRecords", "metadataPrefix": "oai_dc\n"},
        {"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "type\n"},
        {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "from": "2020-01-01\n"},
        {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:x:1\n"},
    ],
)
def test_trailing_newline_is_bad_argument(
    provider: RunningProvider, params: dict[str, str]
) -> None:
    doc = etree.fromstring(provider.get(**params).body)
    assert xpath_texts(doc, "o:error/@code") == ["badArgument"]


def test_sample_identifier_is_a_valid_oai_identifier(provider: RunningProvider) -> None:
    doc = etree.fromstring(provider.get(verb="Identify").body)
    sample = doc.findtext(".//{http://www.openarchives.org/OAI/2.0/oai-identifier}sampleIdentifier")
    assert sample is not None and sample.startswith("oai:repository.example.org:")
