"""What the provider publishes: chosen sources only, provenance, identifiers, sets."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from provider.settings import ProviderSettings
from store.db import open_store
from store.sets import SetInfo, save_sets
from tests.conftest import REPOSITORY_IDENTIFIER, RunningProvider, fill_store, serve
from tests.xsd import ResponseValidator, xpath_texts

NS_PROV = "http://www.openarchives.org/OAI/2.0/provenance"


def _identifiers(body: bytes) -> list[str]:
    return xpath_texts(etree.fromstring(body), "//o:header/o:identifier")


def test_only_configured_sources_are_published(
    filled_db: str, response_validator: ResponseValidator
) -> None:
    settings = ProviderSettings(repository_identifier=REPOSITORY_IDENTIFIER, sources=("local",))
    with serve(filled_db, response_validator, settings) as running:
        listed = _identifiers(running.get(verb="ListIdentifiers", metadataPrefix="oai_dc").body)
        assert listed and all(":arxiv/" not in i for i in listed)
        hidden = f"oai:{REPOSITORY_IDENTIFIER}:arxiv/oai:arXiv.org:2101.00000"
        reply = running.get(verb="GetRecord", identifier=hidden, metadataPrefix="oai_dc")
        assert xpath_texts(etree.fromstring(reply.body), "o:error/@code") == ["idDoesNotExist"]
        sets = xpath_texts(etree.fromstring(running.get(verb="ListSets").body), "//o:setSpec")
        assert "arxiv" not in sets


def test_harvested_records_carry_provenance(provider: RunningProvider) -> None:
    identifier = f"oai:{REPOSITORY_IDENTIFIER}:arxiv/oai:arXiv.org:2101.00001"
    reply = provider.get(verb="GetRecord", identifier=identifier, metadataPrefix="oai_dc")
    doc = etree.fromstring(reply.body)
    origin = doc.find(f".//{{{NS_PROV}}}originDescription")
    assert origin is not None
    assert origin.get("altered") == "true"
    assert origin.findtext(f"{{{NS_PROV}}}identifier") == "oai:arXiv.org:2101.00001"
    assert origin.findtext(f"{{{NS_PROV}}}baseURL") == "http://export.arxiv.org/oai2"
    assert origin.findtext(f"{{{NS_PROV}}}datestamp") == "2021-01-02"
    assert xpath_texts(doc, "//o:header/o:setSpec") == ["arxiv:physics:hep-ex"]


def test_local_records_have_no_provenance_and_keep_their_identifier(
    provider: RunningProvider,
) -> None:
    identifier = f"oai:{REPOSITORY_IDENTIFIER}:8912z"
    reply = provider.get(verb="GetRecord", identifier=identifier, metadataPrefix="oai_dc")
    doc = etree.fromstring(reply.body)
    assert doc.find(f".//{{{NS_PROV}}}provenance") is None
    assert xpath_texts(doc, "//o:header/o:identifier") == [identifier]
    assert xpath_texts(doc, "//o:header/o:setSpec") == ["type:conference"]


def test_sources_are_sets_with_origin_sets_beneath(provider: RunningProvider) -> None:
    doc = etree.fromstring(provider.get(verb="ListSets").body)
    specs = xpath_texts(doc, "//o:set/o:setSpec")
    names = dict(zip(specs, xpath_texts(doc, "//o:set/o:setName"), strict=True))
    assert names["arxiv"] == "arXiv (captured sample)"
    assert {"arxiv:cs", "arxiv:physics", "arxiv:physics:hep-ex", "type", "type:conference"} <= set(
        specs
    )
    in_physics = _identifiers(
        provider.get(verb="ListIdentifiers", metadataPrefix="oai_dc", set="arxiv:physics").body
    )
    assert in_physics == [f"oai:{REPOSITORY_IDENTIFIER}:arxiv/oai:arXiv.org:2101.00001"]


def test_a_source_harvested_with_a_set_shows_only_the_origin_sets_it_touches(
    tmp_path: Path, response_validator: ResponseValidator
) -> None:
    path = tmp_path / "mirror.db"
    store = open_store(path)
    try:
        fill_store(store)
        with store.write() as conn:
            conn.execute("UPDATE sources SET set_spec = 'physics' WHERE name = 'arxiv'")
            names = [
                SetInfo("physics", "Physics"),  # the set harvested
                SetInfo("physics:hep-ex", "HEP Experiment"),  # below it
                SetInfo("physics:hep-th", "HEP Theory"),  # below it, empty: listed
                SetInfo("cs", "Computer Science"),  # outside it, but records are in it
                SetInfo("math", "Mathematics"),  # outside it, no record: not listed
            ]
            save_sets(conn, "arxiv", names, drop_others=True)
            # A hand-edited description that is not oai_dc would make ListSets invalid.
            for spec, xml in (("physics", "<x:about xmlns:x='urn:x'/>"), ("cs", "<broken")):
                conn.execute("UPDATE sets SET set_description = ? WHERE set_spec = ?", [xml, spec])
    finally:
        store.close()
    with serve(str(path), response_validator) as running:
        doc = etree.fromstring(running.get(verb="ListSets").body)
    specs = xpath_texts(doc, "//o:set/o:setSpec")
    names_by_spec = dict(zip(specs, xpath_texts(doc, "//o:set/o:setName"), strict=True))
    assert {spec: name for spec, name in names_by_spec.items() if spec.startswith("arxiv")} == {
        "arxiv": "arXiv (captured sample)",
        "arxiv:physics": "Physics",
        "arxiv:physics:hep-ex": "HEP Experiment",
        "arxiv:physics:hep-th": "HEP Theory",
        "arxiv:cs": "Computer Science",
    }
    assert xpath_texts(doc, "//o:setDescription") == []  # left out, so the reply validates
