"""Deriving ahead: records derived page by page, then clustered by the works update, give
exactly what a full recompute gives, however pages, other writes and overrides interleave."""

from __future__ import annotations

import pickle
import random
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from oaiformat.record import Record
from oaiformat.render import dublin_core_xml
from store.db import Store, open_store
from store.records import SourceInfo, ensure_source
from store.writes import current_change_seq, prepare_record, save_records, write_prepared
from tests.conftest import REPOSITORY_IDENTIFIER
from tests.harvester import bodies, faults
from tests.harvester.faults import Reply, Stall
from tests.harvester.harness import harvest_in_page_process
from tests.works.generated import random_changes, random_record, rec, snapshot, variant
from works import ahead, full, overrides, update
from works.report import WorksReport
from works.update import refresh_in_transaction as refresh

NOW = "2024-05-01T12:00:00Z"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(tmp_path / "mirror.db")


def harvest_page(
    store: Store, records: Sequence[Record], now: str = NOW, *, in_page_process: bool = True
) -> None:
    """Write one page as a harvest does: its records derived by the page work, in the page
    process (`in_page_process`: prepare() then write()) or by the write alone."""
    work = ahead.DeriveAhead()
    with store.write() as conn:
        sources = {}
        for name in sorted({r.source for r in records}):
            sources[name] = SourceInfo(name, f"http://{name}.example.org/oai")
            ensure_source(conn, sources[name], now)
        prepared = [
            prepare_record(
                r,
                repository_identifier=REPOSITORY_IDENTIFIER,
                source=sources[r.source],
                harvest_date=now,
            )
            for r in records
        ]
        counts = write_prepared(conn, prepared, now=now)
        if counts.added + counts.updated + counts.deleted:
            done = work.prepare(prepared) if in_page_process else {}
            work.write(conn, current_change_seq(conn), done)


def import_records(store: Store, records: Sequence[Record], now: str = NOW) -> None:
    """Write records as an import does: nothing derived until the works update."""
    with store.write() as conn:
        for source in sorted({r.source for r in records}):
            ensure_source(conn, SourceInfo(source, f"http://{source}.example.org/oai"), now)
        save_records(conn, records, repository_identifier=REPOSITORY_IDENTIFIER, now=now)


def update_works(store: Store, now: str = NOW) -> WorksReport:
    with store.write() as conn:
        return refresh(conn, now=now)


def state(conn: sqlite3.Connection) -> tuple[object, ...]:
    search_rows = conn.execute(
        "SELECT rowid, title, creators, subjects, description FROM records_fts ORDER BY rowid"
    ).fetchall()
    features = conn.execute("SELECT * FROM match_features ORDER BY record_id").fetchall()
    keys = conn.execute("SELECT * FROM match_keys_current ORDER BY 1, 2").fetchall()
    return (*snapshot(conn), search_rows, features, keys)


def assert_same_as_full(conn: sqlite3.Connection) -> None:
    """The store equals a full recompute of a copy of it, which relinks nothing."""
    assert conn.execute("SELECT count(*) FROM derived_ahead").fetchone()[0] == 0
    kept = state(conn)
    copy = sqlite3.connect(":memory:")
    conn.backup(copy)
    copy.execute("BEGIN")
    full = refresh(copy, now=NOW, full=True)
    assert full.relinked == 0
    assert state(copy) == kept


def _edited(rng: random.Random, record: Record, index: int) -> Record:
    """The same record (source and identifier) with other metadata: a variant of it, or a
    record of its own."""
    other = variant(rng, record, index) if record.metadata else random_record(rng, index)
    return rec(record.source, record.identifier, {k: list(v) for k, v in other.metadata.items()})


def _pages(records: Sequence[Record], size: int) -> list[list[Record]]:
    return [list(records[i : i + size]) for i in range(0, len(records), size)]


@pytest.mark.parametrize("large", [False, True], ids=["incremental", "reclustered"])
def test_pages_derived_ahead_then_clustered_equal_a_full_recompute(
    store: Store, monkeypatch: pytest.MonkeyPatch, large: bool
) -> None:
    if large:  # every update takes the path a large harvest takes: all works rebuilt,
        # the records not derived ahead derived into tables without their bulk indexes
        monkeypatch.setattr(update, "SMALL_CHANGE", 0)
        monkeypatch.setattr(update, "FULL_SHARE", 0.0)
        monkeypatch.setattr(full, "BULK_FROM", 1)
    rng = random.Random(17)  # noqa: S311 - test data, not secrets
    records = [random_record(rng, i) for i in range(150)]
    records += [variant(rng, rng.choice(records), i) for i in range(60)]
    rng.shuffle(records)
    for number, page in enumerate(_pages(records, 20)):
        harvest_page(store, page, in_page_process=number % 2 == 0)
    conn = store.conn
    assert conn.execute("SELECT count(*) FROM derived_ahead").fetchone()[0] == 210
    report = update_works(store)
    assert report.full == large
    assert_same_as_full(conn)
    for round_ in range(3):
        now = f"2024-06-0{round_ + 1}T00:00:00Z"
        changes = random_changes(
            rng, records, 40, 1000 * (round_ + 1), deleted=0.25, changed=_edited
        )
        pages = _pages(changes, 10)
        # Some records change twice in one harvest (two pages), and one page arrives by
        # import: nothing derived ahead.
        harvest_page(store, pages[0], now)
        harvest_page(store, [_edited(rng, r, 5000 + i) for i, r in enumerate(pages[0][:3])], now)
        import_records(store, pages[1], now)
        for number, page in enumerate(pages[2:]):
            harvest_page(store, page, now, in_page_process=number % 2 == 1)
        update_works(store, now)
        assert_same_as_full(conn)
    assert any(m > 1 for (m,) in conn.execute("SELECT members FROM works"))


def test_a_record_written_again_after_its_page_is_derived_again(store: Store) -> None:
    rng = random.Random(3)  # noqa: S311 - test data, not secrets
    records = [random_record(rng, i) for i in range(60)]
    records += [variant(rng, r, i) for i, r in enumerate(records[:20])]
    harvest_page(store, records)
    update_works(store)
    harvest_page(store, [_edited(rng, r, 100 + i) for i, r in enumerate(records[:10])])
    # The same records imported over the harvested versions: their derived rows are stale.
    import_records(store, [_edited(rng, r, 200 + i) for i, r in enumerate(records[:5])])
    update_works(store)
    assert_same_as_full(store.conn)


def test_an_override_before_the_update_rederives_records_derived_ahead(store: Store) -> None:
    rng = random.Random(5)  # noqa: S311 - test data, not secrets
    records = [random_record(rng, i) for i in range(80)]
    harvest_page(store, records)
    update_works(store)
    harvest_page(store, [_edited(rng, r, 100 + i) for i, r in enumerate(records[:30])])
    conn = store.conn
    key, identifier = conn.execute(
        "SELECT a.author_key, r.identifier FROM record_authors a JOIN records r"
        " ON r.id = a.record_id JOIN derived_ahead d ON d.record_id = r.id LIMIT 1"
    ).fetchone()
    # An override saved while a harvest is between pages: its refresh names the records.
    with store.write() as c:
        changed = overrides.split(c, key, identifier, f"{key} (other)", note=None, now=NOW)
        refresh(c, now=NOW, records=changed)
    assert_same_as_full(conn)
    assert conn.execute(
        "SELECT count(*) FROM record_authors WHERE author_key = ?", [f"{key} (other)"]
    ).fetchone()[0]


def test_a_page_derivation_cannot_handle_is_left_to_the_update(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(9)  # noqa: S311 - test data, not secrets
    records = [random_record(rng, i) for i in range(40)]
    harvest_page(store, records[:20])

    def broken(*_: object) -> None:
        raise ValueError("a record derivation cannot read")

    with monkeypatch.context() as patch:
        patch.setattr(ahead, "rows_of", broken)
        harvest_page(store, records[20:])
    conn = store.conn
    assert "deriving it failed" in caplog.text
    assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 40  # page written
    assert conn.execute("SELECT count(*) FROM derived_ahead").fetchone()[0] == 20
    assert conn.execute("SELECT count(*) FROM match_features").fetchone()[0] == 20
    update_works(store)
    assert conn.execute("SELECT count(*) FROM match_features").fetchone()[0] == 40
    assert_same_as_full(conn)


def test_a_record_an_override_applies_to_is_derived_again_by_the_write(store: Store) -> None:
    rng = random.Random(21)  # noqa: S311 - test data, not secrets
    records = [random_record(rng, i) for i in range(40)]
    harvest_page(store, records)
    update_works(store)
    conn = store.conn
    key = conn.execute("SELECT author_key FROM record_authors LIMIT 1").fetchone()[0]
    with store.write() as c:
        changed = overrides.join(c, key, "someone else", note=None, now=NOW)
        refresh(c, now=NOW, records=changed)
    # The page process derives without overrides; the write applies the join.
    harvest_page(store, [_edited(rng, r, 100 + i) for i, r in enumerate(records)])
    assert not conn.execute(
        "SELECT count(*) FROM record_authors WHERE author_key = ?", [key]
    ).fetchone()[0]
    update_works(store)
    assert_same_as_full(conn)


def _behind(store: Store) -> int:
    return update.records_behind(store.conn)


def test_works_brought_up_to_date_between_pages_equal_a_full_recompute(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A harvest waiting for its server refreshes the works between pages; with the update
    after the last page, the works are what a full recompute makes of the store."""
    monkeypatch.setattr(ahead, "CATCH_UP_FROM", 30)
    rng = random.Random(23)  # noqa: S311 - test data, not secrets
    records = [random_record(rng, i) for i in range(120)]
    records += [variant(rng, rng.choice(records), i) for i in range(60)]
    records += [_edited(rng, rng.choice(records), i) for i in range(20)]  # written again
    rng.shuffle(records)
    work = ahead.DeriveAhead(refresh_between_pages=True)
    behind_at_refresh = []
    for page in _pages(records, 20):
        harvest_page(store, page)
        behind = _behind(store)
        done = len(work.reports)
        work.idle(store, seconds=60.0)
        if len(work.reports) > done:
            behind_at_refresh.append(behind)
            assert _behind(store) == 0
        else:
            assert behind < 30
    assert len(work.reports) >= 5 and min(behind_at_refresh) >= 30
    update_works(store)
    assert_same_as_full(store.conn)


def test_no_refresh_between_pages_that_would_not_fit_or_is_not_worth_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ahead, "CATCH_UP_FROM", 30)
    monkeypatch.setattr(ahead, "CATCH_UP_AT_MOST", 50)
    rng = random.Random(29)  # noqa: S311 - test data, not secrets
    records = [random_record(rng, i) for i in range(100)]
    work = ahead.DeriveAhead(refresh_between_pages=True)
    harvest_page(store, records[:20])
    work.idle(store, seconds=60.0)  # 20 behind: not worth a refresh
    assert work.reports == []
    harvest_page(store, records[20:40])
    ahead.DeriveAhead().idle(store, seconds=60.0)  # not asked to refresh between pages: never
    assert _behind(store) == 40
    work.idle(store, seconds=60.0)  # the first refresh: its pace is not known yet
    assert len(work.reports) == 1 and _behind(store) == 0
    harvest_page(store, records[40:80])
    work.idle(store, seconds=1e-9)  # 40 records cannot be done in no time
    assert len(work.reports) == 1 and _behind(store) == 40
    harvest_page(store, records[80:100])
    work.idle(store, seconds=60.0)  # 60 behind, past 50: left to the update after
    assert len(work.reports) == 1 and _behind(store) == 60
    # Counted only as far as needed to tell a backlog too large.
    assert update.records_behind(store.conn, at_most=50) == 51
    update_works(store)
    assert_same_as_full(store.conn)


def test_the_page_process_copy_keeps_no_refresh_state() -> None:
    work = ahead.DeriveAhead(refresh_between_pages=True)
    work.reports.append(WorksReport(records=3))
    copy = pickle.loads(pickle.dumps(work))  # noqa: S301 - our own object
    assert not copy.refresh_between_pages and copy.reports == []
    assert copy.prepare([]) == {}


def test_one_slow_refresh_between_pages_puts_off_none_of_the_next(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a refresh fits is judged by the median pace of the last ones: one slow
    refresh (a WAL checkpoint in its commit) does not stop the others; most of them slow
    does."""
    monkeypatch.setattr(ahead, "CATCH_UP_FROM", 10)
    rng = random.Random(31)  # noqa: S311 - test data, not secrets
    records = [random_record(rng, i) for i in range(40)]
    work = ahead.DeriveAhead(refresh_between_pages=True)
    work._paces.clear()
    work._paces.extend([1e-6, 1e-6, 10.0])  # seconds per record
    harvest_page(store, records[:20])
    work.idle(store, seconds=1.0)
    assert len(work.reports) == 1 and _behind(store) == 0
    work._paces.clear()
    work._paces.extend([10.0, 10.0, 1e-6])
    harvest_page(store, records[20:])
    work.idle(store, seconds=1.0)
    assert len(work.reports) == 1 and _behind(store) == 20


def _oai_dc_page(records: Sequence[Record], token: str | None) -> bytes:
    """A ListRecords page carrying these records' DC (their own identifiers)."""
    items = [bodies.record(r.identifier, payload=dublin_core_xml(r.metadata)) for r in records]
    return bodies.records_page(items, token)


def test_a_harvest_from_a_slow_server_keeps_the_works_up_to_date_as_a_full_recompute_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the real harvest loop and its page process: pages derived ahead, the works
    brought up to date between them while the server takes its time, then the update
    after the last page: the store is what a full recompute makes of it."""
    monkeypatch.setattr(ahead, "CATCH_UP_FROM", 5)
    rng = random.Random(37)  # noqa: S311 - test data, not secrets
    records = [random_record(rng, i) for i in range(60)]
    records += [variant(rng, rng.choice(records), i) for i in range(30)]
    rng.shuffle(records)
    # One identifier each (the generator's identifiers are per source).
    records = [
        rec("src", f"oai:src:{i}", {k: list(v) for k, v in r.metadata.items()})
        for i, r in enumerate(records)
    ]
    chunks = _pages(records, 10)
    db = tmp_path / "mirror.db"
    with faults.running(identify=bodies.identify()) as server:
        server.play(
            *(
                Stall(0.12, Reply(_oai_dc_page(chunk, None if n == len(chunks) else f"t{n}")))
                for n, chunk in enumerate(chunks, start=1)
            )
        )
        work = ahead.DeriveAhead(refresh_between_pages=True)
        summary = harvest_in_page_process(server.url, db, work)
    assert summary.status == "completed" and summary.records_seen == len(records)
    assert work.reports, "no refresh between pages"
    store = open_store(db)
    try:
        update_works(store)
        assert_same_as_full(store.conn)
    finally:
        store.close()


def test_author_forms_made_by_the_migration_are_those_of_the_last_works_update(
    store: Store,
) -> None:
    rng = random.Random(23)  # noqa: S311 - test data, not secrets
    records = [random_record(rng, i) for i in range(80)]
    harvest_page(store, records)
    update_works(store)
    conn = store.conn
    counted = conn.execute("SELECT * FROM author_forms ORDER BY 1, 2").fetchall()
    # Pages derived ahead since: their records' creators moved on in record_authors.
    changes = random_changes(rng, records, 30, 1000, deleted=0.2, changed=_edited)
    harvest_page(store, changes, "2024-06-01T00:00:00Z")
    assert conn.execute("SELECT count(*) FROM derived_ahead").fetchone()[0] > 0
    # A store of m010: no author_forms yet; opening it migrates.
    with store.write() as writing:
        writing.execute("DROP TABLE author_forms")
        writing.execute("DELETE FROM _sqlite_migrations WHERE name = 'm011_author_forms'")
    path = store.path
    store.close()
    migrated = open_store(path)
    try:
        assert migrated.conn.execute("SELECT * FROM author_forms ORDER BY 1, 2").fetchall() == (
            counted
        )
        update_works(migrated, "2024-06-01T00:00:00Z")
        assert_same_as_full(migrated.conn)
    finally:
        migrated.close()


def test_the_keys_of_an_older_store_are_clustered_by_the_migration(store: Store) -> None:
    rng = random.Random(29)  # noqa: S311 - test data, not secrets
    records = [random_record(rng, i) for i in range(80)]
    import_records(store, records)
    update_works(store, "2024-05-02T00:00:00Z")
    with store.write() as writing:
        refresh(writing, now=NOW, full=True)  # the keys all in match_keys
    conn = store.conn
    keys = conn.execute("SELECT * FROM match_keys ORDER BY 1, 2").fetchall()
    assert keys
    # A store of m011: the keys in a rowid table with an index, no change table.
    with store.write() as writing:
        for statement in [
            "DROP VIEW match_keys_current",
            "DROP TABLE match_key_changes",
            "ALTER TABLE match_keys RENAME TO clustered",
            "CREATE TABLE match_keys (group_key INTEGER NOT NULL, record_id INTEGER NOT NULL)",
            "CREATE INDEX match_keys_by_group ON match_keys (group_key, record_id)",
            "INSERT INTO match_keys SELECT * FROM clustered",
            "DROP TABLE clustered",
            "DELETE FROM _sqlite_migrations WHERE name = 'm012_match_key_changes'",
        ]:
            writing.execute(statement)
    path = store.path
    store.close()
    migrated = open_store(path)
    try:
        conn = migrated.conn
        (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'match_keys'").fetchone()
        assert "WITHOUT ROWID" in sql
        assert conn.execute("SELECT * FROM match_keys ORDER BY 1, 2").fetchall() == keys
        changes = random_changes(rng, records, 20, 1000, deleted=0.2, changed=_edited)
        import_records(migrated, changes, "2024-06-01T00:00:00Z")
        update_works(migrated, "2024-06-01T00:00:00Z")
        assert_same_as_full(conn)
    finally:
        migrated.close()
