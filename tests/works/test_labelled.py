"""Quality against the hand-labelled set in tests/dedupe/data (see its README).

The issue's floors are merge precision >= 0.99 and recall >= 0.95 (pairwise, over records)
and author-key precision >= 0.99. Measured on 526 records / 357 works and 399 written names:
merge precision 1.000, recall 1.000 (189 true pairs); author-key precision 1.000
(identically written homonyms aside, which no name key can tell apart), recall 0.83. The
floors below sit just under the measured levels, so a change that loses quality fails here.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from oaiformat import dublin_core
from oaiformat.record import Record
from store.db import open_store
from store.records import SourceInfo, ensure_source
from store.writes import save_records
from works.names import parse_name, split_creators
from works.update import refresh_in_transaction as refresh

DATA = Path(__file__).parent / "data"
NOW = "2025-06-01T00:00:00Z"
# Issue 9's floors for this set: precision 1.000, recall 0.99 (measured: 1.000 and 1.000).
MERGE_PRECISION = 1.0
MERGE_RECALL = 0.99
AUTHOR_KEY_PRECISION = 0.995


def _lines(name: str) -> list[dict[str, Any]]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _pairs(groups: Iterable[Iterable[str]]) -> set[tuple[str, str]]:
    return {(a, b) for group in groups for a, b in itertools.combinations(sorted(group), 2)}


def _precision_recall(
    found: set[tuple[str, str]], truth: set[tuple[str, str]]
) -> tuple[float, float]:
    right = len(found & truth)
    precision = right / len(found) if found else 1.0
    recall = right / len(truth) if truth else 1.0
    return precision, recall


@pytest.fixture(scope="module")
def clustered(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[set[tuple[str, str]], set[tuple[str, str]], dict[str, str]]:
    rows = _lines("works.jsonl")
    store = open_store(tmp_path_factory.mktemp("labelled") / "mirror.db")
    labels = {}
    records = []
    for row in rows:
        key = f"{row['source']}|{row['identifier']}"
        labels[key] = row["case"]
        records.append(
            Record(
                row["source"],
                row["identifier"],
                row["datestamp"],
                metadata=dublin_core.from_json(row["metadata"]),
            )
        )
    with store.write() as conn:
        for source in sorted({r.source for r in records}):
            ensure_source(conn, SourceInfo(source, f"https://{source}.example.org/oai"), NOW)
        save_records(conn, records, repository_identifier="mirror.example.org", now=NOW)
        refresh(conn, now=NOW)
        works: dict[int, list[str]] = defaultdict(list)
        for work_id, source, identifier in conn.execute(
            "SELECT work_id, source, identifier FROM works_flat"
        ):
            works[work_id].append(f"{source}|{identifier}")
    store.close()
    truth: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        truth[row["work"]].append(f"{row['source']}|{row['identifier']}")
    return _pairs(works.values()), _pairs(truth.values()), labels


def test_merge_precision_and_recall(
    clustered: tuple[set[tuple[str, str]], set[tuple[str, str]], dict[str, str]],
) -> None:
    found, truth, labels = clustered
    precision, recall = _precision_recall(found, truth)
    wrong = sorted(found - truth)
    missed = sorted(truth - found)
    report = (
        f"precision {precision:.3f} recall {recall:.3f}; wrongly merged {wrong[:10]};"
        f" missed {[(p, labels[p[0]]) for p in missed[:20]]}"
    )
    assert precision >= MERGE_PRECISION, report
    assert recall >= MERGE_RECALL, report


def test_author_key_precision() -> None:
    rows = _lines("authors.jsonl")
    keyed = []
    for row in rows:
        name = parse_name(row["name"])
        assert name is not None, row
        keyed.append((name.key, row["person"], row["case"]))
    # Homonyms written identically ("Smith, J." for three people) cannot be told apart by
    # any name key: they are oai_dc's known limit (README), settled by overrides.
    pairs = [
        (a, b)
        for a, b in itertools.combinations(keyed, 2)
        if a[0] == b[0] and "homonym" not in (a[2], b[2])
    ]
    same = sum(1 for a, b in pairs if a[1] == b[1])
    precision = same / len(pairs)
    wrong = sorted({(a[0], a[1], b[1]) for a, b in pairs if a[1] != b[1]})
    assert precision >= AUTHOR_KEY_PRECISION, (precision, wrong[:10])


def test_author_key_recall_is_reported() -> None:
    """Recall is not a floor (transliterations and nicknames cannot meet on a key), but a
    drop shows here."""
    rows = [r for r in _lines("authors.jsonl") if r["case"] not in {"transliteration", "nickname"}]
    keys = [(parse_name(r["name"]), r["person"]) for r in rows]
    pairs = [(a, b) for a, b in itertools.combinations(keys, 2) if a[1] == b[1]]
    together = sum(
        1 for a, b in pairs if a[0] is not None and b[0] is not None and a[0].key == b[0].key
    )
    assert together / len(pairs) >= 0.80


@pytest.mark.parametrize("row", _lines("creator_strings.jsonl"), ids=lambda r: r["creator"][:40])
def test_creator_strings_split_as_labelled(row: dict[str, Any]) -> None:
    assert split_creators(row["creator"]) == row["names"]
