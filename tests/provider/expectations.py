"""Row checks of the conformance table: checklist §15's "Expected" column beyond the code."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from oaiformat.namespaces import NS_OAI, NS_OAI_DC
from tests.provider.replies import (
    SECONDS,
    XSI_SCHEMA_LOCATION,
    request_echo,
    resumption_token,
)
from tests.provider.stores import ONLY_IN_CHILD_SET, PAGE_SIZE, SAMPLE_SIZE
from tests.xsd import xpath_texts

OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"


@dataclass(frozen=True)
class Context:
    """What a row check may need: the base URL and the placeholder values."""

    url: str
    values: dict[str, str]


Check = Callable[[etree._Element, Context], None]


def identify_basics(doc: etree._Element, ctx: Context) -> None:
    """#1: protocolVersion 2.0, baseURL is BASE."""
    assert xpath_texts(doc, "o:Identify/o:protocolVersion") == ["2.0"]
    assert xpath_texts(doc, "o:Identify/o:baseURL") == [ctx.url]


def identify_facts(doc: etree._Element, ctx: Context) -> None:
    """#5: earliestDatestamp in the granularity; deletedRecord legal; an adminEmail."""
    assert xpath_texts(doc, "o:Identify/o:granularity") == ["YYYY-MM-DDThh:mm:ssZ"]
    (earliest,) = xpath_texts(doc, "o:Identify/o:earliestDatestamp")
    assert SECONDS.match(earliest)
    assert xpath_texts(doc, "o:Identify/o:deletedRecord")[0] in {"no", "transient", "persistent"}
    emails = xpath_texts(doc, "o:Identify/o:adminEmail")
    assert emails
    assert all(re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email) for email in emails)
    assert xpath_texts(doc, "o:Identify/o:compression") == ["gzip", "deflate"]


def identify_oai_identifier(doc: etree._Element, ctx: Context) -> None:
    """#67: repositoryIdentifier is a domain; sampleIdentifier is oai:<domain>:<local>."""
    base = "o:Identify/o:description/*[local-name()='oai-identifier']/*"
    (domain,) = xpath_texts(doc, f"{base}[local-name()='repositoryIdentifier']")
    assert re.match(r"^[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+$", domain)
    (sample,) = xpath_texts(doc, f"{base}[local-name()='sampleIdentifier']")
    assert sample.startswith(f"oai:{domain}:")
    assert len(sample) > len(f"oai:{domain}:")


def no_raw_quote(doc: etree._Element, ctx: Context) -> None:
    """#18: the reply parsed, so no raw `"` broke it; the bad identifier is not echoed."""
    assert 'invalid"id' not in request_echo(doc).values()


def lists_oai_dc(doc: etree._Element, ctx: Context) -> None:
    """#53, #54: oai_dc with the official schema and namespace."""
    formats = doc.findall(f"{{{NS_OAI}}}ListMetadataFormats/{{{NS_OAI}}}metadataFormat")
    found = {
        (f.findtext(f"{{{NS_OAI}}}schema"), f.findtext(f"{{{NS_OAI}}}metadataNamespace"))
        for f in formats
        if f.findtext(f"{{{NS_OAI}}}metadataPrefix") == "oai_dc"
    }
    assert found == {(OAI_DC_SCHEMA, NS_OAI_DC)}


def one_live_record(doc: etree._Element, ctx: Context) -> None:
    """#55: one record, ID, a seconds datestamp, oai_dc:dc carrying xsi:schemaLocation."""
    records = doc.findall(f"{{{NS_OAI}}}GetRecord/{{{NS_OAI}}}record")
    assert len(records) == 1
    assert xpath_texts(records[0], "o:header/o:identifier") == [ctx.values["ID"]]
    (datestamp,) = xpath_texts(records[0], "o:header/o:datestamp")
    assert SECONDS.match(datestamp)
    dcs = records[0].findall(f"{{{NS_OAI}}}metadata/{{{NS_OAI_DC}}}dc")
    assert len(dcs) == 1
    assert dcs[0].get(XSI_SCHEMA_LOCATION) == f"{NS_OAI_DC} {OAI_DC_SCHEMA}"


def deleted_record(doc: etree._Element, ctx: Context) -> None:
    """#56: header status="deleted" with its datestamp; no metadata, no about."""
    (record,) = doc.findall(f"{{{NS_OAI}}}GetRecord/{{{NS_OAI}}}record")
    header = record.find(f"{{{NS_OAI}}}header")
    assert header is not None
    assert header.get("status") == "deleted"
    assert SECONDS.match(header.findtext(f"{{{NS_OAI}}}datestamp") or "")
    assert [child.tag for child in record] == [f"{{{NS_OAI}}}header"]


def includes_deleted(doc: etree._Element, ctx: Context) -> None:
    """#57: DEL's header is listed with status="deleted"."""
    statuses = xpath_texts(
        doc, f"o:ListIdentifiers/o:header[o:identifier='{ctx.values['DEL']}']/@status"
    )
    assert statuses == ["deleted"]


def includes_child_set_items(doc: etree._Element, ctx: Context) -> None:
    """#60: `set=arxiv:physics` lists the item that is only in arxiv:physics:hep-ex."""
    assert xpath_texts(doc, "o:ListIdentifiers/o:header/o:identifier") == [ONLY_IN_CHILD_SET]
    assert xpath_texts(doc, "o:ListIdentifiers/o:header/o:setSpec") == ["arxiv:physics:hep-ex"]


def first_page(doc: etree._Element, ctx: Context) -> None:
    """#61: a non-empty token on the first page, cursor 0."""
    token = resumption_token(doc)
    assert token is not None
    assert token.text
    assert token.cursor == "0"
    assert token.complete_list_size == str(SAMPLE_SIZE)
    assert SECONDS.match(token.expiration_date or "")
    assert len(doc.findall(f"{{{NS_OAI}}}ListRecords/{{{NS_OAI}}}record")) == PAGE_SIZE


def second_page(doc: etree._Element, ctx: Context) -> None:
    """#62: the page after T: records, cursor 5 (the full walk is test_pages_concatenate)."""
    token = resumption_token(doc)
    assert token is not None
    assert token.cursor == str(PAGE_SIZE)
    assert len(doc.findall(f"{{{NS_OAI}}}ListRecords/{{{NS_OAI}}}record")) == PAGE_SIZE


def whole_records(doc: etree._Element, ctx: Context | None = None) -> None:
    """#68: every header has identifier and datestamp, setSpecs are minimal memberships,
    and a live record has its metadata."""
    headers = doc.findall(f".//{{{NS_OAI}}}header")
    assert headers
    for header in headers:
        assert len(xpath_texts(header, "o:identifier")) == 1
        assert len(xpath_texts(header, "o:datestamp")) == 1
        specs = xpath_texts(header, "o:setSpec")
        assert not [a for a in specs for b in specs if b.startswith(f"{a}:")], specs
    for record in doc.iter(f"{{{NS_OAI}}}record"):
        statuses = xpath_texts(record, "o:header/@status")
        if statuses != ["deleted"]:
            assert record.find(f"{{{NS_OAI}}}metadata") is not None
