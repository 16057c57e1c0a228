"""ListSets from a fault server: names and oai_dc descriptions over pages, republished by the
provider (XSD-valid); noSetHierarchy, vanished sets, failures and a stop mid-ListSets, none
of which costs the records harvest."""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from harvester.settings import HarvesterSettings
from tests.conftest import serve
from tests.harvester import bodies, faults
from tests.harvester.faults import MAX_ACTION_SECONDS, Action, Reply, Request, Stall
from tests.harvester.harness import PAGE, SETTINGS, Outcome, harvest
from tests.xsd import ResponseValidator

NS_DC = "http://purl.org/dc/elements/1.1/"
OAI_DC = (
    '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"'
    ' xmlns:dc="http://purl.org/dc/elements/1.1/">'
    "<dc:description>Papers in physics and astronomy</dc:description>"
    # Not a DC element: the description is rebuilt from its DC values, so this goes.
    "<dc:subfield>stray</dc:subfield></oai_dc:dc>"
)
OTHER = '<x:about xmlns:x="urn:example:not-a-known-schema">curated by the library</x:about>'
FIRST_PAGE = bodies.list_sets(
    [
        (
            "phys",
            "Physics and Astronomy",
            f"<setDescription>{OTHER}</setDescription><setDescription>{OAI_DC}</setDescription>",
        ),
        ("chem", "Chemistry", f"<setDescription>{OTHER}</setDescription>"),
    ],
    "sets-2",
)
SECOND_PAGE = bodies.list_sets(
    [
        ("phys:astro", "Astrophysics", ""),
        ("not a spec", "Illegal setSpec: left out", ""),
    ]
)
NO_SETS = bodies.error("noSetHierarchy", "This repository does not support sets")


@dataclass
class Origin:
    """A repository whose ListSets answers come from `sets`, by resumptionToken (None: the
    first page); Identify and ListRecords are answered with valid bodies."""

    sets: dict[str | None, Action] = field(
        default_factory=lambda: {None: Reply(FIRST_PAGE), "sets-2": Reply(SECOND_PAGE)}
    )

    def __call__(self, request: Request) -> Action:
        if request.verb == "Identify":
            return Reply(bodies.identify())
        if request.verb == "ListSets":
            return self.sets[request.params.get("resumptionToken")]
        return Reply(PAGE)


def _run(
    origin: Origin, db: Path, settings: HarvesterSettings = SETTINGS
) -> tuple[Outcome, list[Request]]:
    with faults.running(route=origin) as server:
        outcome = harvest(server, db, settings)
        asked = [r for r in server.requests if r.verb == "ListSets"]
        assert not server.failures, server.failures
    return outcome, asked


def _stored(db: Path) -> dict[str, tuple[str, str | None]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT set_spec, set_name, set_description FROM sets WHERE source = 'faulty'"
        ).fetchall()
    finally:
        conn.close()
    return {spec: (name, description) for spec, name, description in rows}


def _first_run(tmp_path: Path) -> Path:
    db = tmp_path / "mirror.db"
    outcome, _ = _run(Origin(), db)
    assert (outcome.status, outcome.warnings, outcome.summary.sets) == ("completed", [], 3)
    return db


def test_set_names_and_oai_dc_descriptions_are_harvested_over_pages(tmp_path: Path) -> None:
    db = tmp_path / "mirror.db"
    outcome, asked = _run(Origin(), db)
    assert (outcome.status, outcome.warnings) == ("completed", [])
    assert outcome.identifiers == ["oai:x:1", "oai:x:2"]
    assert [r.params for r in asked] == [
        {"verb": "ListSets"},
        {"verb": "ListSets", "resumptionToken": "sets-2"},
    ]
    assert outcome.summary.sets == 3
    # Every body received is counted, the ListSets pages too.
    received = len(bodies.identify()) + len(PAGE) + len(FIRST_PAGE) + len(SECOND_PAGE)
    assert outcome.summary.counts.bytes == received
    stored = _stored(db)
    assert set(stored) == {"phys", "chem", "phys:astro"}
    assert stored["chem"] == ("Chemistry", None)  # its only description is not oai_dc
    assert stored["phys:astro"] == ("Astrophysics", None)
    name, description = stored["phys"]
    assert name == "Physics and Astronomy" and description is not None
    dc = etree.fromstring(description.encode())
    assert [(etree.QName(e).localname, e.text) for e in dc] == [
        ("description", "Papers in physics and astronomy")
    ]


def test_the_provider_republishes_the_names_beneath_the_source(
    tmp_path: Path, response_validator: ResponseValidator
) -> None:
    db = _first_run(tmp_path)
    with serve(str(db), response_validator) as provider:  # every reply checked by the XSDs
        doc = etree.fromstring(provider.get(verb="ListSets").body)
    sets = {
        str(s.findtext("{*}setSpec")): (
            s.findtext("{*}setName"),
            [d.text for d in s.iterfind(f"{{*}}setDescription/{{*}}dc/{{{NS_DC}}}description")],
        )
        for s in doc.iterfind(".//{*}set")
    }
    assert sets == {
        "faulty": ("Fault server", []),  # the source's set: the origin's repositoryName
        "faulty:phys": ("Physics and Astronomy", ["Papers in physics and astronomy"]),
        "faulty:chem": ("Chemistry", []),
        "faulty:phys:astro": ("Astrophysics", []),
    }


def test_a_complete_list_replaces_the_names_and_no_set_hierarchy_means_none(
    tmp_path: Path,
) -> None:
    db = _first_run(tmp_path)
    renamed = bodies.list_sets([("phys", "Physics", "")])
    outcome, _ = _run(Origin({None: Reply(renamed)}), db)
    assert (outcome.status, outcome.warnings, outcome.summary.sets) == ("completed", [], 1)
    assert _stored(db) == {"phys": ("Physics", None)}  # chem and phys:astro vanished
    outcome, asked = _run(Origin({None: Reply(NO_SETS)}), db)
    # A repository without sets is no failure: nothing to warn of, no set names left.
    assert (outcome.status, outcome.warnings, outcome.summary.sets) == ("completed", [], 0)
    assert len(asked) == 1 and _stored(db) == {}


def test_a_failing_list_sets_is_a_warning_and_the_records_are_harvested(tmp_path: Path) -> None:
    db = _first_run(tmp_path)
    broken = Reply(b"Internal Server Error", status=500, content_type="text/plain")
    outcome, asked = _run(Origin({None: broken}), db)
    assert outcome.status == "completed" and outcome.error is None
    assert outcome.identifiers == ["oai:x:1", "oai:x:2"]
    assert len(asked) == SETTINGS.max_attempts and outcome.retries == SETTINGS.max_attempts - 1
    [warning] = outcome.warnings
    assert warning.startswith("ListSets failed:") and "HTTP 500" in warning
    assert "set names stored before are kept" in warning
    assert outcome.summary.sets is None
    assert set(_stored(db)) == {"phys", "chem", "phys:astro"}


def test_what_a_list_cut_short_gave_is_added_and_nothing_dropped(tmp_path: Path) -> None:
    db = _first_run(tmp_path)
    first = bodies.list_sets([("phys", "Physics", ""), ("bio", "Biology", "")], "sets-2")
    refused = Reply(bodies.error("badResumptionToken", "expired"))
    outcome, _ = _run(Origin({None: Reply(first), "sets-2": refused}), db)
    assert outcome.status == "completed"
    [warning] = outcome.warnings
    assert warning.startswith("ListSets failed: badResumptionToken")
    stored = _stored(db)
    assert (stored["phys"], stored["bio"]) == (("Physics", None), ("Biology", None))
    assert {"chem", "phys:astro"} <= set(stored)  # not listed again, so not dropped
    # A token sent twice ends ListSets as it ends a records list.
    looping = bodies.list_sets([("geo", "Geology", "")], "sets-2")
    outcome, asked = _run(Origin({None: Reply(looping), "sets-2": Reply(looping)}), db)
    assert outcome.status == "completed" and len(asked) == 2
    assert outcome.warnings == [
        "ListSets ended early: the server sent the token 'sets-2' twice;"
        " set names stored before are kept"
    ]
    assert _stored(db)["geo"] == ("Geology", None) and "chem" in _stored(db)


def test_the_run_time_cap_ends_a_hung_list_sets_and_the_run_still_completes(
    tmp_path: Path,
) -> None:
    # The records are stored before ListSets is asked: its hanging costs them nothing, and
    # the cap gives it up without waiting for the read timeout.
    hung = Stall(MAX_ACTION_SECONDS, Reply(FIRST_PAGE))
    started = time.monotonic()
    capped = dataclasses.replace(SETTINGS, run_time_cap=1, read_timeout=30)
    outcome, _ = _run(Origin({None: hung}), tmp_path / "mirror.db", capped)
    took = time.monotonic() - started
    assert outcome.status == "completed" and took < 5, took
    assert outcome.identifiers == ["oai:x:1", "oai:x:2"]
    assert outcome.warnings == [
        "ListSets not finished: run time cap of 1 s reached; set names stored before are kept"
    ]
