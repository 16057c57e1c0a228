"""The provider answers the six verbs over real HTTP with schema-valid XML."""

from __future__ import annotations

from lxml import etree

from tests.conftest import RunningProvider
from tests.xsd import xpath_texts

NS = {"o": "http://www.openarchives.org/OAI/2.0/"}


def test_identify_names_base_url(provider: RunningProvider) -> None:
    reply = provider.get(verb="Identify")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/xml; charset=UTF-8"
    doc = etree.fromstring(reply.body)
    assert doc.findtext("o:Identify/o:baseURL", namespaces=NS) == provider.url


def test_list_records_walks_every_record_once(provider: RunningProvider) -> None:
    reply = provider.get(verb="ListRecords", metadataPrefix="oai_dc")
    doc = etree.fromstring(reply.body)
    identifiers = xpath_texts(doc, "//o:header/o:identifier")
    assert len(identifiers) == len(set(identifiers)) == 9 + 4


def test_the_request_element_names_the_host_each_request_used(provider: RunningProvider) -> None:
    port = provider.url.split(":")[2].split("/")[0]
    for host in ("127.0.0.1", "localhost", "127.0.0.1", "mirror.example.org"):
        reply = provider.request(
            "verb=ListRecords&metadataPrefix=oai_dc", headers={"Host": f"{host}:{port}"}
        )
        doc = etree.fromstring(reply.body)
        assert doc.findtext("o:request", namespaces=NS) == f"http://{host}:{port}/oai"
