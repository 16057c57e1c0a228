"""save_records: upserts, tombstones, local datestamps, published identifiers and sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oaiformat.dublin_core import DCValue
from oaiformat.identifiers import local_identifier, published_set_specs, with_ancestors
from oaiformat.record import Record
from store.db import Store, open_store
from store.errors import IdentifierConflict, UnknownRecord
from store.records import (
    SourceInfo,
    ensure_repository_identifier,
    ensure_source,
    find_record_id,
)
from store.writes import save_records

RID = "repository.example.org"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = open_store(tmp_path / "s.db")
    with opened.write() as conn:
        ensure_source(conn, SourceInfo("local"), "2024-01-01T00:00:00Z")
        ensure_source(conn, SourceInfo("remote", "http://example.org/oai"), "2024-01-01T00:00:00Z")
    return opened


def _save(store: Store, records: list[Record], now: str) -> tuple[int, int, int, int]:
    with store.write() as conn:
        counts = save_records(conn, records, repository_identifier=RID, now=now, harvest_date=now)
    return counts.added, counts.updated, counts.deleted, counts.unchanged


def _row(store: Store, identifier: str) -> tuple[object, ...]:
    row = store.conn.execute(
        "SELECT local_identifier, local_datestamp, deleted, metadata, sets FROM records"
        " WHERE identifier = ?",
        [identifier],
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_unchanged_record_keeps_its_local_datestamp(store: Store) -> None:
    record = Record("remote", "oai:x:1", "2020-01-01", metadata={"title": [DCValue("T")]})
    assert _save(store, [record], "2024-01-01T00:00:00Z") == (1, 0, 0, 0)
    assert _save(store, [record], "2024-02-01T00:00:00Z") == (0, 0, 0, 1)
    assert _row(store, "oai:x:1")[1] == "2024-01-01T00:00:00Z"


def test_changed_record_moves_its_local_datestamp(store: Store) -> None:
    _save(
        store,
        [Record("remote", "oai:x:1", "2020-01-01", metadata={"title": [DCValue("T")]})],
        "2024-01-01T00:00:00Z",
    )
    changed = Record("remote", "oai:x:1", "2020-01-02", metadata={"title": [DCValue("T2")]})
    assert _save(store, [changed], "2024-02-01T00:00:00Z") == (0, 1, 0, 0)
    assert _row(store, "oai:x:1")[1] == "2024-02-01T00:00:00Z"


def test_deletion_turns_the_record_into_a_tombstone(store: Store) -> None:
    _save(
        store,
        [
            Record(
                "remote", "oai:x:1", "2020-01-01", sets=("a",), metadata={"title": [DCValue("T")]}
            )
        ],
        "2024-01-01T00:00:00Z",
    )
    assert _save(
        store,
        [Record("remote", "oai:x:1", "2020-03-01", deleted=True, sets=("a",))],
        "2024-03-01T00:00:00Z",
    ) == (0, 0, 1, 0)
    lid, stamp, deleted, metadata, _ = _row(store, "oai:x:1")
    assert (stamp, deleted, metadata) == ("2024-03-01T00:00:00Z", 1, None)
    xml = store.conn.execute("SELECT record_xml FROM records").fetchone()[0]
    assert b'status="deleted"' in xml and b"<metadata>" not in xml
    assert lid == "oai:repository.example.org:remote/oai:x:1"


def test_sets_follow_the_newest_header(store: Store) -> None:
    _save(store, [Record("remote", "oai:x:1", "2020-01-01", sets=("a:b",))], "2024-01-01T00:00:00Z")
    _save(store, [Record("remote", "oai:x:1", "2020-01-02", sets=("c",))], "2024-01-02T00:00:00Z")
    specs = [r[0] for r in store.conn.execute("SELECT set_spec FROM record_sets ORDER BY 1")]
    assert specs == ["remote", "remote:c"]
    assert json.loads(str(_row(store, "oai:x:1")[4])) == ["c"]


def test_unreadable_datestamp_is_refused_before_writing(store: Store) -> None:
    with pytest.raises(ValueError, match="datestamp"):
        _save(store, [Record("remote", "oai:x:9", "yesterday")], "2024-01-01T00:00:00Z")
    assert store.conn.execute("SELECT count(*) FROM records").fetchone()[0] == 0


def test_local_identifiers_are_percent_encoded_one_to_one() -> None:
    assert local_identifier(RID, "local", "oai:a.b:1") == "oai:a.b:1"
    assert local_identifier(RID, "src", "oai:a.b:x y#z") == f"oai:{RID}:src/oai:a.b:x%20y%23z"
    assert local_identifier(RID, "src", "a%41") != local_identifier(RID, "src", "aA")
    assert local_identifier(RID, "src", "é") == f"oai:{RID}:src/%C3%A9"


def test_published_set_specs() -> None:
    assert published_set_specs("local", ["a:b", "c"]) == ["a:b", "c"]
    assert published_set_specs("src", []) == ["src"]
    assert published_set_specs("src", ["x:y", "bad spec"]) == ["src:x:y"]
    assert with_ancestors(["a:b:c", "d"]) == ["a", "a:b", "a:b:c", "d"]


def test_either_identifier_form_finds_the_record(store: Store) -> None:
    _save(store, [Record("remote", "oai:x:1", "2020-01-01")], "2024-01-01T00:00:00Z")
    lid = str(_row(store, "oai:x:1")[0])
    assert find_record_id(store.conn, lid) == find_record_id(store.conn, "oai:x:1")
    with pytest.raises(UnknownRecord):
        find_record_id(store.conn, "oai:x:nope")


def test_another_repository_identifier_is_refused_once_records_are_published(
    store: Store,
) -> None:
    _save(store, [Record("remote", "oai:x:1", "2020-01-01")], "2024-01-01T00:00:00Z")
    with store.write() as conn:
        ensure_repository_identifier(conn, RID)
    with pytest.raises(IdentifierConflict, match=RID), store.write() as conn:
        ensure_repository_identifier(conn, "new.example.org")
    assert _row(store, "oai:x:1")[0] == "oai:repository.example.org:remote/oai:x:1"


def test_views_flatten_dublin_core(store: Store) -> None:
    record = Record(
        "remote",
        "oai:x:1",
        "2020-01-01",
        metadata={
            "creator": [DCValue("Stirrup, V."), DCValue("Kaur, J.")],
            "title": [DCValue("T", "en")],
        },
    )
    _save(store, [record], "2024-01-01T00:00:00Z")
    creators = store.conn.execute(
        "SELECT creator FROM record_creators ORDER BY position"
    ).fetchall()
    assert [c[0] for c in creators] == ["Stirrup, V.", "Kaur, J."]
    flat = store.conn.execute("SELECT titles, creators FROM records_flat").fetchone()
    assert tuple(flat) == ("T", "Stirrup, V.; Kaur, J.")
    lang = store.conn.execute("SELECT lang FROM record_dc WHERE element = 'title'").fetchone()
    assert lang[0] == "en"


def test_a_record_listed_twice_in_one_batch_keeps_its_last_sets(store: Store) -> None:
    first = Record("remote", "oai:x:1", "2020-01-01", sets=("a:b",))
    second = Record("remote", "oai:x:1", "2020-01-02", sets=("c",))
    assert _save(store, [first, second], "2024-01-01T00:00:00Z") == (1, 1, 0, 0)
    specs = [r[0] for r in store.conn.execute("SELECT set_spec FROM record_sets ORDER BY 1")]
    assert specs == ["remote", "remote:c"]
    assert store.conn.execute("SELECT count(*) FROM records").fetchone()[0] == 1
