"""The candidate keys kept as match_keys plus the changes noted beside it: whatever order
refreshes, page derivations and folds come in, the current keys are what was written."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from store.db import open_store
from works import key_table

GROUPS = range(6)
RECORDS = range(1, 6)


def _stored(conn: sqlite3.Connection, sql: str) -> list[tuple[int, int]]:
    return [(int(g), int(r)) for g, r in conn.execute(sql).fetchall()]


def _check(conn: sqlite3.Connection, keys: dict[int, set[int]]) -> None:
    expected = sorted((g, r) for r, groups in keys.items() for g in groups)
    assert sorted(_stored(conn, "SELECT group_key, record_id FROM match_keys_current")) == expected
    assert key_table.group_members(conn, list(GROUPS)) == expected
    main = _stored(conn, "SELECT group_key, record_id FROM match_keys")
    assert len(main) == len(set(main))
    removed = _stored(conn, "SELECT group_key, record_id FROM match_key_changes WHERE present = 0")
    added = _stored(conn, "SELECT group_key, record_id FROM match_key_changes WHERE present = 1")
    assert set(removed) <= set(main)
    assert not set(added) & set(main)


@pytest.mark.parametrize("seed", range(6))
def test_the_current_keys_are_those_written_in_any_order_of_changes_and_folds(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    conn = open_store(tmp_path / "mirror.db").conn
    conn.execute("BEGIN")
    keys: dict[int, set[int]] = {r: set() for r in RECORDS}
    for _ in range(150):
        record = rng.choice(RECORDS)
        new = {g for g in GROUPS if rng.random() < 0.4}
        old = keys[record]
        step = rng.random()
        if step < 0.6:  # an incremental refresh re-derives the record
            key_table.change_keys(
                conn, [(g, record) for g in old - new], [(g, record) for g in new - old]
            )
        elif step < 0.9:  # a harvest's page derives it ahead (or a full recompute a subset)
            key_table.delete_keys(conn, [record], [(g, record) for g in old])
            key_table.insert_keys(conn, [(g, record) for g in new])
        else:
            key_table.fold(conn)
            new = old
            assert not conn.execute("SELECT count(*) FROM match_key_changes").fetchone()[0]
        keys[record] = new
        _check(conn, keys)


def test_changes_are_folded_in_once_they_pass_the_share(tmp_path: Path) -> None:
    conn = open_store(tmp_path / "mirror.db").conn
    conn.execute("BEGIN")
    key_table.insert_keys(conn, [(g, r) for g in range(10) for r in range(1, 11)])
    # match_keys is sized by the records with features (about 8 keys each): 10 here.
    conn.executemany(
        "INSERT INTO match_features (record_id, title_key, numbers, year, creators, pids,"
        " generic, context, weight) VALUES (?, '', '', NULL, '', '', 0, '', 0)",
        [(r,) for r in range(1, 11)],
    )
    key_table.change_keys(conn, [(0, 1)], [(20, 1)])
    changes = "SELECT count(*) FROM match_key_changes"
    assert not key_table.fold_when_many(conn)  # 2 rows: under 5% of 10 x 8
    assert conn.execute(changes).fetchone()[0] == 2
    key_table.change_keys(conn, [(1, 1), (2, 1)], [(21, 1), (22, 1)])
    assert key_table.fold_when_many(conn)  # 6 rows
    assert conn.execute(changes).fetchone()[0] == 0
    main = set(_stored(conn, "SELECT group_key, record_id FROM match_keys"))
    assert {(20, 1), (21, 1), (22, 1)} <= main
    assert not {(0, 1), (1, 1), (2, 1)} & main


def test_a_pair_left_by_older_rules_is_current_once_and_can_be_removed(tmp_path: Path) -> None:
    """A store derived under older candidate-key rules can hold a pair its record's
    features no longer give (deletes follow today's rules); the record gaining that key
    again by either path must neither fail on it nor hold it twice."""
    conn = open_store(tmp_path / "mirror.db").conn
    conn.execute("BEGIN")
    key_table.insert_keys(conn, [(1, 7), (2, 7), (9, 7)])  # (9, 7): the leftover
    # A harvest's page derives record 7 again: today's rules gave it (1, 7), (2, 7).
    key_table.delete_keys(conn, [7], [(1, 7), (2, 7)])
    key_table.insert_keys(conn, [(1, 7), (9, 7)])
    assert key_table.group_members(conn, [1, 2, 9]) == [(1, 7), (9, 7)]
    # A refresh: the record loses (1, 7) and gains (9, 7), which match_keys holds.
    key_table.change_keys(conn, [(1, 7)], [(3, 7), (9, 7)])
    assert key_table.group_members(conn, [1, 3, 9]) == [(3, 7), (9, 7)]
    added = conn.execute("SELECT group_key FROM match_key_changes WHERE present = 1").fetchall()
    assert added == [(3,)]
    key_table.fold(conn)
    key_table.change_keys(conn, [(9, 7)], [])
    key_table.fold(conn)
    assert key_table.group_members(conn, [1, 3, 9]) == [(3, 7)]
