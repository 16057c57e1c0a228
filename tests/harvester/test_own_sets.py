"""Set names through two hops: the project's provider publishes named sets (imported for
local records, harvested for a source) over several ListSets pages; `oai harvest` mirrors
them and the mirror's provider republishes each beneath the source, with its description.
Then `oai export` carries them as set lines into another store."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from oaiformat.dublin_core import DCValue
from provider.settings import ProviderSettings
from store.db import open_store
from store.sets import SetInfo, description_xml, save_sets
from tests.conftest import REPOSITORY_IDENTIFIER, RunningProvider, fill_store, serve
from tests.harvester.remote import Mirror
from tests.xsd import ResponseValidator

# spec -> (name, [(DC element, value, xml:lang)] of its oai_dc setDescription)
Sets = dict[str, tuple[str, list[tuple[str, str, str | None]]]]
LOCAL_SET_LINES = [
    {"set": "type", "name": "Types of output"},
    {
        "set": "type:conference",
        "name": "Conference outputs",
        "description": {
            "title": [{"value": "Conférences", "lang": "fr"}],
            "description": ["Talks & posters given at meetings"],
        },
    },
    {"set": "empty", "name": "A named set no record is in"},
]
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _origin_store(path: Path) -> Path:
    """The conftest sample with names for some local sets and for the source arxiv's sets."""
    store = open_store(path)
    try:
        fill_store(store, extra_local=12)
        with store.write() as conn:
            described = description_xml({"description": [DCValue("Experiments at colliders")]})
            arxiv = [
                SetInfo("physics", "Physics"),
                SetInfo("physics:hep-ex", "High Energy Physics - Experiment", described),
            ]
            save_sets(conn, "arxiv", arxiv, drop_others=True)
    finally:
        store.close()
    lines = path.with_name("sets.jsonl")
    lines.write_text("".join(json.dumps(line) + "\n" for line in LOCAL_SET_LINES), "utf-8")
    mirror = Mirror(path, path.with_name("none.toml"))
    mirror.config.write_text("", encoding="utf-8")
    imported = mirror.run("import", str(lines))
    assert imported.exit_code == 0, imported.output
    assert "0 records: " in imported.stdout and "; 3 sets named" in imported.stdout
    return path


def _walk_list_sets(provider: RunningProvider) -> tuple[Sets, int]:
    """Every set a provider lists, following its resumptionTokens; and the pages it took."""
    found: Sets = {}
    params = {"verb": "ListSets"}
    pages = 0
    while True:
        doc = etree.fromstring(provider.get(**params).body)
        pages += 1
        for element in doc.iterfind(".//{*}set"):
            values = [
                (etree.QName(dc).localname, str(dc.text), dc.get(XML_LANG))
                for dc in element.iterfind("{*}setDescription/{*}dc/*")
            ]
            found[str(element.findtext("{*}setSpec"))] = (
                str(element.findtext("{*}setName")),
                values,
            )
        token = doc.findtext(".//{*}resumptionToken")
        if not token:
            return found, pages
        params = {"verb": "ListSets", "resumptionToken": token}


def test_set_names_and_descriptions_survive_a_harvest_and_an_export(
    tmp_path: Path, response_validator: ResponseValidator
) -> None:
    origin_db = _origin_store(tmp_path / "provider.db")
    settings = ProviderSettings(repository_identifier=REPOSITORY_IDENTIFIER, page_size=5)
    mirror = Mirror.create(tmp_path / "mirror")
    report = tmp_path / "report.json"
    with serve(str(origin_db), response_validator, settings) as origin:
        published, pages = _walk_list_sets(origin)
        result = mirror.run(
            "harvest", "--url", origin.url, "--name", "src", "--report-json", str(report)
        )
    assert result.exit_code == 0, result.output
    # The origin's ListSets spans several pages: the harvester had to follow its tokens to
    # name every set (row['sets'] and the republished names below check that it did).
    assert pages > 1
    assert published["arxiv:physics:hep-ex"] == (
        "High Energy Physics - Experiment",
        [("description", "Experiments at colliders", None)],
    )
    assert published["type:conference"][1] == [
        ("title", "Conférences", "fr"),
        ("description", "Talks & posters given at meetings", None),
    ]
    [row] = json.loads(report.read_text(encoding="utf-8"))["sources"]
    assert (row["status"], row["warnings"], row["sets"]) == ("completed", [], len(published))
    with serve(str(mirror.db), response_validator, settings) as republished:
        mirrored, _ = _walk_list_sets(republished)
    # The source's own set is named after the origin's repositoryName, and each origin set
    # sits beneath it with the name and description the origin gave.
    assert mirrored.pop("src") == ("OAI-PMH mirror", [])
    assert mirrored == {f"src:{spec}": named for spec, named in published.items()}

    exported = mirror.run("export", "--source", "src")
    assert exported.exit_code == 0, exported.output
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    set_lines = [line for line in lines if "set" in line]
    assert lines[: len(set_lines)] == set_lines  # the set lines come first
    assert {line["set"] for line in set_lines} == set(published)
    dump = tmp_path / "src.jsonl"
    dump.write_text(exported.stdout, encoding="utf-8")
    copy = Mirror.create(tmp_path / "copy")
    imported = copy.run("import", str(dump))
    assert imported.exit_code == 0, imported.output
    assert f"; {len(published)} sets named" in imported.stdout
    with serve(str(copy.db), response_validator, settings) as copied:
        local, _ = _walk_list_sets(copied)
    # Imported as `local`: the origin's setSpecs, names and descriptions, as they were.
    assert {spec: local[spec] for spec in published} == published
