"""Works on real-shaped records, through the CLI: the classes of false merge real exports
showed stay apart, possible duplicates are listed, a person's same/different decisions
survive a re-harvest and a full recompute, and explanations say what is stored."""

from __future__ import annotations

import json
import sqlite3
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oai.cli import main
from tests.works.real_shapes import records

PREFIX = "oai:real-shapes.example.org:"


def _oai(db: Path, *args: str) -> Any:
    result = CliRunner().invoke(main, ["--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return result


def _json(db: Path, *args: str) -> Any:
    return json.loads(_oai(db, *args, "--format", "json").stdout)


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(
        "".join(json.dumps({k: v for k, v in r.items() if k != "work"}) + "\n" for r in rows),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    db = tmp_path / "mirror.db"
    _oai(db, "import", str(_write(tmp_path / "records.jsonl", records())))
    return db


def _pairs(groups: dict[str, list[int]]) -> set[tuple[int, int]]:
    return {pair for members in groups.values() for pair in combinations(sorted(members), 2)}


def _found(db: Path) -> set[tuple[int, int]]:
    groups = {
        str(work["work"]): [int(m["identifier"].rsplit(":", 1)[1]) for m in work["members"]]
        for work in _json(db, "works")
    }
    return _pairs(groups)


def _truth() -> set[tuple[int, int]]:
    groups: dict[str, list[int]] = {}
    for row in records():
        groups.setdefault(row["work"], []).append(int(row["identifier"].rsplit(":", 1)[1]))
    return _pairs(groups)


def test_real_shaped_works_are_exact(mirror: Path) -> None:
    """Supplement abstracts sharing a DOI, reprinted guidelines, abstract vs article, a column
    in every issue, a letter and its reply stay apart; notes in titles, a database without
    the DOI, a preprint and its article join."""
    assert _found(mirror) == _truth()


def test_possible_duplicates_are_listed_with_why(mirror: Path) -> None:
    review = _json(mirror, "works", "review")
    listed = {tuple(row["records"]): row["not_merged"] for row in review}
    assert listed[(f"{PREFIX}15", f"{PREFIX}16")] == ["no shared creator"]
    # Plain contradictions (other pages, abstract vs article, other issues) are not listed.
    assert (f"{PREFIX}9", f"{PREFIX}10") not in listed
    assert (f"{PREFIX}5", f"{PREFIX}6") not in listed
    assert (f"{PREFIX}11", f"{PREFIX}12") not in listed


def _together(db: Path, a: int, b: int) -> bool:
    return (min(a, b), max(a, b)) in _found(db)


def test_same_and_different_survive_a_reharvest_and_a_recompute(
    mirror: Path, tmp_path: Path
) -> None:
    _oai(mirror, "override", "same", f"{PREFIX}15", f"{PREFIX}16", "--note", "one letter")
    _oai(mirror, "override", "different", f"{PREFIX}17", f"{PREFIX}18")
    assert _together(mirror, 15, 16)
    assert not _together(mirror, 17, 18)
    assert _together(mirror, 17, 19)  # the third record of the notes work stays with one
    # The letter and a notes record come again, changed (a re-harvest).
    changed = [dict(r) for r in records() if r["identifier"].endswith((":15", ":17"))]
    for row in changed:
        row["metadata"] = {**row["metadata"], "subject": ["pleural disease"]}
    _oai(mirror, "import", str(_write(tmp_path / "again.jsonl", changed)))
    assert _together(mirror, 15, 16) and not _together(mirror, 17, 18)
    _oai(mirror, "works", "recompute")
    assert _together(mirror, 15, 16) and not _together(mirror, 17, 18)
    listing = {row["id"]: row for row in _json(mirror, "override", "list")}
    assert listing["p1"]["kind"] == "same" and listing["p2"]["kind"] == "different"
    _oai(mirror, "override", "remove", "p1")
    _oai(mirror, "override", "remove", "p2")
    assert _found(mirror) == _truth()


def test_explanations_match_the_stored_evidence(mirror: Path) -> None:
    explained = _json(mirror, "works", "explain", f"{PREFIX}17")
    conn = sqlite3.connect(mirror)
    try:
        stored = {
            str(identifier): (matched, None if evidence is None else json.loads(evidence))
            for identifier, matched, evidence in conn.execute(
                "SELECT r.local_identifier, mr.local_identifier, m.evidence"
                " FROM work_members m JOIN records r ON r.id = m.record_id"
                " LEFT JOIN records mr ON mr.id = m.matched_record_id WHERE m.work_id = ?",
                [explained["work"]],
            )
        }
    finally:
        conn.close()
    shown = {m["local_identifier"]: (m["matched_to"], m["evidence"]) for m in explained["members"]}
    assert shown == stored
    assert len(shown) == 3
    assert {e["rule"] for _, e in shown.values() if e} <= {"title", "place", "identifier"}
    by_id = _json(mirror, "works", "explain", str(explained["work"]))
    assert by_id == explained


def test_explain_names_why_a_join_was_refused(mirror: Path) -> None:
    """The letter's work: its reply is a possible duplicate, kept apart for a reason."""
    explained = _json(mirror, "works", "explain", f"{PREFIX}15")
    assert [row["not_merged"] for row in explained["possible_duplicates"]] == [
        ["no shared creator"]
    ]
    unknown = CliRunner().invoke(main, ["--db", str(mirror), "works", "explain", "oai:nope:1"])
    assert unknown.exit_code == 1
