"""JSONL set lines: imported in any order beside records, exported before their source's
records, round-tripped; a malformed one names its line and loads nothing. And the m007
migration keeps the set names a store held."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from store.db import open_store
from store.errors import ImportFormatError
from store.schema import migration_runner
from store.transfer import export_rows
from tests.store.test_transfer import FIRST, LATER, fresh_store, load, snapshot, write_jsonl

RECORD = {
    "identifier": "oai:repository.example.org:1",
    "datestamp": "2020-01-01T00:00:00Z",
    "deleted": False,
    "sets": ["phys:astro"],
    "metadata": {"title": ["Stars"]},
}
DESCRIBED = {
    "set": "phys",
    "name": "Physics and Astronomy",
    "description": {
        "title": [{"value": "Physique", "lang": "fr"}],
        "description": ["Papers in physics & astronomy <all of them>"],
    },
}
PLAIN = {"set": "phys:astro", "name": "Astrophysics", "description": None}


def test_set_lines_round_trip_in_any_order() -> None:
    with fresh_store() as (store, directory):
        # Set lines before, between and after records: the order does not matter.
        path = write_jsonl(directory / "in.jsonl", [PLAIN, RECORD, DESCRIBED])
        result = load(store, path, FIRST)
        assert (result.records, result.sets) == (1, 2)
        exported = list(export_rows(store))
    # A source's set lines come first, by setSpec; then its records.
    assert [("set" in row, row.get("set")) for row in exported] == [
        (True, "phys"),
        (True, "phys:astro"),
        (False, None),
    ]
    assert exported[0] == {"source": "local", **DESCRIBED}
    assert exported[1] == {"source": "local", **PLAIN}
    with fresh_store() as (again, directory):
        assert load(again, write_jsonl(directory / "export.jsonl", exported), LATER).sets == 2
        assert list(export_rows(again))[:2] == exported[:2]


def test_reimporting_set_lines_changes_nothing_and_a_new_name_replaces_the_old() -> None:
    with fresh_store() as (store, directory):
        path = write_jsonl(directory / "in.jsonl", [DESCRIBED, PLAIN])
        load(store, path, FIRST)
        before = snapshot(store)
        load(store, path, LATER)
        assert snapshot(store) == before
        renamed = write_jsonl(directory / "renamed.jsonl", [{"set": "phys", "name": "Physics"}])
        load(store, renamed, LATER)
        rows = [row for row in export_rows(store) if "set" in row]
    # An import names sets; it never removes one it does not mention.
    assert [(row["set"], row["name"], row["description"]) for row in rows] == [
        ("phys", "Physics", None),
        ("phys:astro", "Astrophysics", None),
    ]


@pytest.mark.parametrize(
    ("line", "why"),
    [
        pytest.param({"set": "not a spec", "name": "x"}, "not a legal setSpec", id="bad-spec"),
        pytest.param({"set": 7, "name": "x"}, "not a legal setSpec", id="spec-not-string"),
        pytest.param({"set": "a"}, "name must be a non-empty string", id="no-name"),
        pytest.param({"set": "a", "name": "  "}, "name must be a non-empty string", id="blank"),
        pytest.param({"set": "a", "name": "x", "colour": "red"}, "unknown keys", id="unknown"),
        pytest.param(
            {"set": "a", "name": "x", "description": "<oai_dc:dc/>"},
            "description: metadata must be an object",
            id="description-as-xml",
        ),
        pytest.param(
            {"set": "a", "name": "x", "description": {"colour": ["red"]}},
            "not one of the 15 Dublin Core elements",
            id="description-not-dc",
        ),
        pytest.param({"set": "a", "name": "\udc00"}, "unpaired surrogate", id="surrogate"),
        pytest.param({"set": "phys", "name": "again"}, "named twice", id="duplicate"),
    ],
)
def test_a_malformed_set_line_names_its_line_and_loads_nothing(
    line: dict[str, Any], why: str
) -> None:
    with fresh_store() as (store, directory):
        load(store, write_jsonl(directory / "first.jsonl", [RECORD]), FIRST)
        before = snapshot(store)
        path = write_jsonl(directory / "bad.jsonl", [DESCRIBED, RECORD, line])
        with pytest.raises(ImportFormatError, match=re.escape(f"{path}:3: ") + f".*{why}"):
            load(store, path, LATER)
        assert snapshot(store) == before


def test_a_file_of_records_only_stays_valid_and_exports_no_set_lines() -> None:
    with fresh_store() as (store, directory):
        result = load(store, write_jsonl(directory / "in.jsonl", [RECORD]), FIRST)
        rows = list(export_rows(store))
    assert (result.records, result.sets) == (1, 0)
    assert len(rows) == 1 and "set" not in rows[0]


def test_m007_keeps_the_names_an_older_store_held(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(path)
    migration_runner().apply(db, stop_before="m007_set_descriptions")
    db.execute("INSERT INTO sources (name, created_at) VALUES ('src', ?)", [FIRST])
    db.execute("INSERT INTO sets (source, set_spec, set_name) VALUES ('src', 'phys', 'Physics')")
    db.conn.commit()
    db.close()
    store = open_store(path)  # a writer migrates
    try:
        rows = store.conn.execute("SELECT source, set_spec, set_name, set_description FROM sets")
        assert rows.fetchall() == [("src", "phys", "Physics", None)]
        line = json.dumps(next(export_rows(store)))
    finally:
        store.close()
    assert json.loads(line) == {
        "source": "src",
        "set": "phys",
        "name": "Physics",
        "description": None,
    }
