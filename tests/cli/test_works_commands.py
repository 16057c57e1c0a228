"""authors, related, works, search and override end to end: two providers on 127.0.0.1
(the project's own, different data) harvested into one mirror."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oai.cli import main
from oai.demo import sample_path
from oaiformat.datestamps import parse_strict
from store.db import open_store
from store.transfer import import_file
from tests.cli.records import write_records
from tests.conftest import serve
from tests.xsd import ResponseValidator

CONFERENCE_PAPER = "oai:repository.example.org:8912z"
OTHER_WORKS = {
    "Participant not patient- employing a person-centred approach to researching the use of"
    " lived experience in mental health peer support",
    "Lived experience practitioner (LXP) project",
    "Oxleas NHS Foundation Trust lived experience practitioner training scheme: co-producing"
    " peer support training",
    "Introducing lived experience practitioners: from KTP to LXPs",
    "Co-producing mental health peer support in Oxleas NHS Foundation Trust",
    "Knowlege transfer partnerships",
    "Narratives beyond the backyard: a case study on support for a community sustainability"
    " project.",
}


def _provider_db(folder: Path, name: str, sample: Path, repository: str) -> str:
    path = str(folder / f"{name}.db")
    store = open_store(path)
    try:
        import_file(store, sample, repository, lambda: parse_strict("2024-05-01T12:00:00Z")[0])
    finally:
        store.close()
    return path


@pytest.fixture(scope="module")
def mirror(
    tmp_path_factory: pytest.TempPathFactory, response_validator: ResponseValidator
) -> Iterator[str]:
    """A mirror harvested from two providers: the sample, and copies of three of its works
    plus one unrelated record in another repository."""
    folder = tmp_path_factory.mktemp("two-providers")
    first = _provider_db(folder, "first", sample_path(), "repository.example.org")
    second = _provider_db(
        folder, "second", sample_path("sample_elsewhere.jsonl"), "eprints.example.ac.uk"
    )
    db = str(folder / "mirror.db")
    runner = CliRunner()
    with serve(first, response_validator) as one, serve(second, response_validator) as two:
        for name, url in (("canterbury", one.url), ("eprints", two.url)):
            result = runner.invoke(main, ["--db", db, "harvest", "--url", url, "--name", name])
            assert result.exit_code == 0, result.output
            assert "works updated" in result.stdout or "works recomputed" in result.stdout
    yield db


def _json(db: str, *args: str) -> Any:
    result = CliRunner().invoke(main, ["--db", db, *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_related_lists_the_other_works_each_once(mirror: str) -> None:
    works = _json(mirror, "related", CONFERENCE_PAPER)
    assert {w["title"] for w in works} == OTHER_WORKS
    assert len(works) == len(OTHER_WORKS)
    years = [w["year"] for w in works]
    assert years == sorted(years, reverse=True)
    knowledge = next(w for w in works if w["title"] == "Knowlege transfer partnerships")
    assert {(m["source"], m["identifier"]) for m in knowledge["members"]} == {
        ("canterbury", "oai:repository.example.org:86x4k"),
        ("eprints", "oai:eprints.example.ac.uk:4410"),
    }
    assert "Stirrup, Vicki" in knowledge["authors"]
    assert set(works[0]) == {"work", "title", "year", "authors", "members"}
    assert set(knowledge["members"][0]) == {
        "source",
        "identifier",
        "local_identifier",
        "representative",
        "matched_to",
        "evidence",
    }
    # The copy at the other repository has the same related outputs.
    again = _json(mirror, "related", "oai:eprints.example.ac.uk:5127")
    assert {w["work"] for w in again} == {w["work"] for w in works}


def test_authors_counts_distinct_works(mirror: str) -> None:
    authors = {a["key"]: a for a in _json(mirror, "authors")}
    stirrup = authors["stirrup v"]
    assert stirrup["works"] == 8
    assert stirrup["records"] == 11
    assert stirrup["name"] == "Stirrup, Vicki"
    assert authors["bellamy c"]["works"] == 1
    ordered = [a["works"] for a in _json(mirror, "authors")]
    assert ordered == sorted(ordered, reverse=True)
    assert [a["key"] for a in _json(mirror, "authors", "--min-works", "4")] == [
        "stirrup v",
        "jones f",
        "macinnes d",
    ]


def test_works_show_evidence_and_a_recompute_changes_nothing(mirror: str) -> None:
    merged = _json(mirror, "works", "--min-members", "2")
    assert len(merged) == 3
    for work in merged:
        evidence = [m["evidence"] for m in work["members"] if m["evidence"]]
        assert evidence and all(e["rule"] == "title" for e in evidence)
        assert sum(m["representative"] for m in work["members"]) == 1
    recomputed = CliRunner().invoke(main, ["--db", mirror, "works", "recompute"])
    assert recomputed.exit_code == 0, recomputed.output
    assert "works recomputed" in recomputed.stdout
    assert _json(mirror, "works", "--min-members", "2") == merged
    old_flag = CliRunner().invoke(main, ["--db", mirror, "works", "--recompute"])
    assert old_flag.exit_code == 2
    assert "oai works recompute" in old_flag.output
    assert len(_json(mirror, "works", "--author", "bellamy c")) == 1
    newest = _json(mirror, "works", "--limit", "2")
    assert len(newest) == 2
    assert newest[0]["year"] >= newest[1]["year"]


def test_search(mirror: str) -> None:
    found = _json(mirror, "search", "transfer partnerships")
    assert {r["identifier"] for r in found} == {
        "oai:repository.example.org:86x4k",
        "oai:eprints.example.ac.uk:4410",
    }
    assert len({r["work"] for r in found}) == 1
    assert _json(mirror, "search", "nothing-like-this") == []


def test_unknown_or_deleted_records_exit_1(mirror: str) -> None:
    runner = CliRunner()
    unknown = runner.invoke(main, ["--db", mirror, "related", "oai:nowhere:1"])
    assert unknown.exit_code == 1
    assert "oai:nowhere:1" in unknown.stderr
    deleted = runner.invoke(main, ["--db", mirror, "related", "oai:repository.example.org:83a0a"])
    assert deleted.exit_code == 1
    assert "deleted" in deleted.stderr
    bad = runner.invoke(main, ["--db", mirror, "search", '"unbalanced'])
    assert bad.exit_code == 1


def test_overrides_through_the_cli(tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db, "import", str(sample_path())]).exit_code == 0
    split = runner.invoke(
        main,
        ["--db", db, "override", "split", "kaur j", "oai:repository.example.org:86v3x", "kaur j2"],
    )
    assert split.exit_code == 0, split.output
    keys = {a["key"] for a in _json(db, "authors")}
    assert "kaur j2" in keys and "kaur j" not in keys
    listed = _json(db, "override", "list")
    assert [(o["key"], o["new_key"]) for o in listed] == [("kaur j", "kaur j2")]
    missing = runner.invoke(main, ["--db", db, "override", "join", "nobody x", "kaur j"])
    assert missing.exit_code == 1
    assert "nobody x" in missing.stderr
    removed = runner.invoke(main, ["--db", db, "override", "remove", str(listed[0]["id"])])
    assert removed.exit_code == 0, removed.output
    assert "kaur j" in {a["key"] for a in _json(db, "authors")}


def test_a_failed_works_refresh_keeps_the_harvest_and_exits_1(
    tmp_path: Path, response_validator: ResponseValidator
) -> None:
    remote = _provider_db(tmp_path, "remote", sample_path(), "repository.example.org")
    db = str(tmp_path / "mirror.db")
    store = open_store(db)
    # A store that refuses new works: the refresh after the harvest fails, nothing else.
    store.conn.execute(
        "CREATE TRIGGER refuse_works BEFORE INSERT ON works BEGIN SELECT RAISE(ABORT, 'no'); END"
    )
    store.close()
    runner = CliRunner()
    with serve(remote, response_validator) as provider:
        result = runner.invoke(main, ["--db", db, "harvest", "--url", provider.url, "--name", "x"])
    assert result.exit_code == 1
    assert "works not updated" in result.stderr
    assert "x: completed: 8 added" in result.stdout
    store = open_store(db)
    try:
        live = store.conn.execute("SELECT count(*) FROM records WHERE deleted = 0").fetchone()[0]
        assert live == 8
        assert store.conn.execute("SELECT count(*) FROM works").fetchone()[0] == 0
    finally:
        store.close()


@pytest.mark.parametrize("order", ["fuller target", "fuller joined key"])
def test_an_authors_name_is_the_fullest_written_form_across_joined_keys(
    tmp_path: Path, order: str
) -> None:
    fuller, shorter = ["Stirrup, Victoria"], ["Smith-Stirrup, V."] * 3
    creators = [*shorter, *fuller, "中村 由紀"]
    records = write_records(
        tmp_path / "r.jsonl",
        {
            f"n{i}": {"title": [f"A paper number {i}"], "creator": [c]}
            for i, c in enumerate(creators)
        },
    )
    db = str(tmp_path / "m.db")
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db, "import", str(records)]).exit_code == 0
    names = {a["key"]: a["name"] for a in _json(db, "authors")}
    # Shown as written: never "中村, 由紀" put together from its parts.
    assert "中村 由紀" in names.values()
    key, into = ("smithstirrup v", "stirrup v")
    if order == "fuller joined key":
        key, into = into, key
    joined = runner.invoke(main, ["--db", db, "override", "join", key, into])
    assert joined.exit_code == 0, joined.output
    after = {a["key"]: a["name"] for a in _json(db, "authors")}
    assert key not in after
    assert after[into] == "Stirrup, Victoria"
