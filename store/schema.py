"""The store's schema: the documented interface people query with sqlite3 and Datasette.

Every change is a new named migration appended below (never an edit to an applied one)
and a line in the README's schema changelog.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from store.tables import (
    AUTHOR_FORMS,
    AUTHOR_OVERRIDES,
    AUTHORS,
    DERIVED_AHEAD,
    HARVEST_RUNS,
    HARVEST_STATE,
    MATCH_FEATURES,
    MATCH_KEY_CHANGES,
    MATCH_KEYS,
    MATCH_KEYS_CURRENT,
    QUARANTINE,
    RECORD_AUTHORS,
    RECORD_SETS,
    RECORDS,
    RECORDS_FTS,
    SETS,
    SOURCES,
    STORE_META,
    WORK_MATCHES,
    WORK_MEMBERS,
    WORK_OVERRIDES,
    WORKS,
)
from store.token_secret import create_keys, secret_path

if TYPE_CHECKING:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

# One value of one DC element per row, read from records.metadata (JSON).
_VALUE = "CASE WHEN v.type = 'object' THEN json_extract(v.value, '$.value') ELSE v.value END"
_LANG = "CASE WHEN v.type = 'object' THEN json_extract(v.value, '$.lang') END"


def _joined(element: str) -> str:
    return f"(SELECT group_concat({_VALUE}, '; ') FROM json_each(r.metadata, '$.{element}') v)"


# records_flat's columns as m001 made them (m006 adds two).
FLAT_COLUMNS = f"""r.id AS record_id, r.source, r.identifier, r.local_identifier, r.datestamp,
       r.local_datestamp, r.deleted, r.sets,
       {_joined("title")} AS titles,
       {_joined("creator")} AS creators,
       {_joined("subject")} AS subjects,
       {_joined("date")} AS dates,
       {_joined("type")} AS types,
       {_joined("identifier")} AS identifiers"""

INITIAL_DDL = f"""
CREATE TABLE {SOURCES} (
    name TEXT PRIMARY KEY,
    base_url TEXT,
    metadata_prefix TEXT NOT NULL DEFAULT 'oai_dc',
    metadata_namespace TEXT NOT NULL DEFAULT 'http://www.openarchives.org/OAI/2.0/oai_dc/',
    set_spec TEXT,
    repository_name TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE {RECORDS} (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL REFERENCES {SOURCES}(name),
    identifier TEXT NOT NULL,
    local_identifier TEXT NOT NULL UNIQUE,
    datestamp TEXT NOT NULL,
    datestamp_raw TEXT NOT NULL,
    local_datestamp TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    sets TEXT NOT NULL DEFAULT '[]',
    harvest_date TEXT,
    content_hash TEXT NOT NULL,
    change_seq INTEGER NOT NULL,
    -- The rendered XML comes before the wide columns: the provider reads it on every page,
    -- and SQLite walks a row's overflow pages in column order to reach a column.
    header_xml BLOB NOT NULL,
    record_xml BLOB NOT NULL,
    metadata TEXT,
    metadata_xml TEXT,
    UNIQUE (source, identifier)
);
-- Covers the provider's list queries (keyset, frozen change_seq, published sources) and
-- their counts, so completeListSize never reads the wide rows.
CREATE INDEX records_by_local_datestamp
    ON {RECORDS} (local_datestamp, local_identifier, change_seq, source);

CREATE TABLE {RECORD_SETS} (
    set_spec TEXT NOT NULL,
    local_datestamp TEXT NOT NULL,
    local_identifier TEXT NOT NULL,
    source TEXT NOT NULL,
    change_seq INTEGER NOT NULL,
    record_id INTEGER NOT NULL REFERENCES {RECORDS}(id) ON DELETE CASCADE,
    PRIMARY KEY (set_spec, local_datestamp, local_identifier)
) WITHOUT ROWID;
CREATE INDEX record_sets_by_record ON {RECORD_SETS} (record_id);

CREATE TABLE {SETS} (
    source TEXT NOT NULL REFERENCES {SOURCES}(name),
    set_spec TEXT NOT NULL,
    set_name TEXT NOT NULL,
    PRIMARY KEY (source, set_spec)
);

CREATE TABLE {STORE_META} (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE VIEW record_dc AS
SELECT r.id AS record_id, r.source, r.identifier, r.local_identifier,
       e.key AS element, CAST(v.key AS INTEGER) AS position, {_VALUE} AS value, {_LANG} AS lang
FROM {RECORDS} r, json_each(r.metadata) e, json_each(e.value) v
WHERE r.deleted = 0;

CREATE VIEW record_creators AS
SELECT record_id, source, identifier, local_identifier, position, value AS creator
FROM record_dc WHERE element = 'creator';

CREATE VIEW record_subjects AS
SELECT record_id, source, identifier, local_identifier, position, value AS subject
FROM record_dc WHERE element = 'subject';

CREATE VIEW records_flat AS
SELECT {FLAT_COLUMNS}
FROM {RECORDS} r;
"""

# sqlite-utils' migration set; its table of applied migrations is read here without
# sqlite-utils, which is imported only when a migration is pending (importing it is ~0.1 s
# of every command's start, and of a harvest's page process).
MIGRATION_SET = "oai-mirror"
APPLIED_TABLE = "_sqlite_migrations"


def _run(db: Database, ddl: str) -> None:
    """Run a migration's statements one by one: executescript() would COMMIT the
    migration's transaction."""
    for statement in ddl.split(";\n"):
        if statement.strip():
            db.execute(statement)


def m001_initial(db: Database) -> None:
    """Sources, records with their rendered XML, set memberships, set names, store metadata."""
    _run(db, INITIAL_DDL)


HARVEST_DDL = f"""
ALTER TABLE {SOURCES} ADD COLUMN identify_xml TEXT;
ALTER TABLE {SOURCES} ADD COLUMN granularity TEXT;
ALTER TABLE {SOURCES} ADD COLUMN earliest_datestamp TEXT;
ALTER TABLE {SOURCES} ADD COLUMN deleted_record TEXT;
ALTER TABLE {SOURCES} ADD COLUMN compression TEXT;
ALTER TABLE {SOURCES} ADD COLUMN identified_at TEXT;
ALTER TABLE {RECORDS} ADD COLUMN seen_list INTEGER;

CREATE TABLE {HARVEST_STATE} (
    source TEXT PRIMARY KEY REFERENCES {SOURCES}(name),
    next_from TEXT,
    last_success TEXT,
    failures_in_row INTEGER NOT NULL DEFAULT 0,
    list_id INTEGER,
    list_from TEXT,
    list_until TEXT,
    list_full INTEGER NOT NULL DEFAULT 0,
    list_started TEXT,
    list_first_response_date TEXT,
    token TEXT,
    token_expires TEXT,
    cursor INTEGER NOT NULL DEFAULT 0,
    pages INTEGER NOT NULL DEFAULT 0,
    records_seen INTEGER NOT NULL DEFAULT 0,
    complete_list_size INTEGER
);

CREATE TABLE {HARVEST_RUNS} (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL REFERENCES {SOURCES}(name),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
    full INTEGER NOT NULL DEFAULT 0,
    request_from TEXT,
    added INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    tombstoned INTEGER NOT NULL DEFAULT 0,
    quarantined INTEGER NOT NULL DEFAULT 0,
    pages INTEGER NOT NULL DEFAULT 0,
    retries INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    warnings TEXT NOT NULL DEFAULT '[]',
    error TEXT
);
CREATE INDEX harvest_runs_by_source ON {HARVEST_RUNS} (source, id);

CREATE TABLE {QUARANTINE} (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL REFERENCES {SOURCES}(name),
    run_id INTEGER REFERENCES {HARVEST_RUNS}(id),
    page INTEGER,
    url TEXT,
    raw BLOB NOT NULL,
    raw_hash TEXT NOT NULL,
    error TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    UNIQUE (source, raw_hash)
);
"""


def m002_harvest(db: Database) -> None:
    """What the harvester keeps per source: Identify, checkpoint, run history, quarantine."""
    _run(db, HARVEST_DDL)


# Indexes a full works recompute drops and builds again after its bulk load: built once
# from sorted data, they cost a fraction of keeping them up row by row.
BULK_INDEXES = {
    "record_authors_by_key": (
        f"CREATE INDEX record_authors_by_key ON {RECORD_AUTHORS}"
        " (author_key, role, name, record_id)"
    ),
}

WORKS_DDL = f"""
-- What the works refresh reads first: the records written since it last ran.
CREATE INDEX records_by_change_seq ON {RECORDS} (change_seq);

CREATE TABLE {AUTHORS} (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    forms TEXT NOT NULL DEFAULT '[]',
    corporate INTEGER NOT NULL DEFAULT 0,
    records INTEGER NOT NULL,
    works INTEGER NOT NULL
);
CREATE INDEX authors_by_works ON {AUTHORS} (works DESC, key);

CREATE TABLE {RECORD_AUTHORS} (
    record_id INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('creator', 'contributor')),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    author_key TEXT NOT NULL,
    PRIMARY KEY (record_id, role, position)
) WITHOUT ROWID;
{BULK_INDEXES["record_authors_by_key"]};

CREATE TABLE {AUTHOR_OVERRIDES} (
    id INTEGER PRIMARY KEY,
    author_key TEXT NOT NULL,
    source TEXT,
    identifier TEXT,
    new_key TEXT NOT NULL,
    note TEXT,
    created_at TEXT NOT NULL,
    CHECK ((source IS NULL) = (identifier IS NULL))
);
CREATE UNIQUE INDEX author_overrides_unique
    ON {AUTHOR_OVERRIDES} (author_key, ifnull(source, ''), ifnull(identifier, ''));

CREATE TABLE {WORKS} (
    id INTEGER PRIMARY KEY,
    representative_id INTEGER NOT NULL,
    title TEXT,
    year INTEGER,
    members INTEGER NOT NULL,
    signature TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX works_by_year ON {WORKS} (year);

CREATE TABLE {WORK_MEMBERS} (
    record_id INTEGER PRIMARY KEY,
    work_id INTEGER NOT NULL,
    matched_record_id INTEGER,
    evidence TEXT
);
CREATE INDEX work_members_by_work ON {WORK_MEMBERS} (work_id, record_id);

CREATE TABLE {WORK_MATCHES} (
    group_key INTEGER NOT NULL,
    record_a INTEGER NOT NULL,
    record_b INTEGER NOT NULL,
    evidence TEXT NOT NULL,
    PRIMARY KEY (group_key, record_a, record_b)
) WITHOUT ROWID;
CREATE INDEX work_matches_by_a ON {WORK_MATCHES} (record_a);
CREATE INDEX work_matches_by_b ON {WORK_MATCHES} (record_b);

CREATE TABLE {MATCH_FEATURES} (
    record_id INTEGER PRIMARY KEY,
    title_key TEXT NOT NULL,
    numbers TEXT NOT NULL,
    year INTEGER,
    creators TEXT NOT NULL,
    pids TEXT NOT NULL,
    generic INTEGER NOT NULL,
    context TEXT NOT NULL,
    weight INTEGER NOT NULL
);

CREATE TABLE {MATCH_KEYS} (
    group_key INTEGER NOT NULL,
    record_id INTEGER NOT NULL
);
CREATE INDEX match_keys_by_group ON {MATCH_KEYS} (group_key, record_id);

CREATE VIRTUAL TABLE {RECORDS_FTS} USING fts5(
    title, creators, subjects, description, tokenize = 'unicode61 remove_diacritics 2'
);

CREATE VIEW works_flat AS
SELECT w.id AS work_id, w.title AS work_title, w.year AS work_year, w.members,
       m.record_id, r.source, r.identifier, r.local_identifier,
       m.record_id = w.representative_id AS representative,
       m.matched_record_id, m.evidence
FROM {WORKS} w
JOIN {WORK_MEMBERS} m ON m.work_id = w.id
JOIN {RECORDS} r ON r.id = m.record_id;

CREATE VIEW author_works AS
SELECT DISTINCT a.author_key, a.role, m.work_id
FROM {RECORD_AUTHORS} a JOIN {WORK_MEMBERS} m ON m.record_id = a.record_id;
"""


def m003_works(db: Database) -> None:
    """Authors, works and their evidence, matching keys, full-text search."""
    _run(db, WORKS_DDL)


TRUSTED_WORKS_DDL = f"""
-- Where a record was published and what kind it is: evidence for and against same-work.
ALTER TABLE {MATCH_FEATURES} ADD COLUMN container TEXT NOT NULL DEFAULT '';
ALTER TABLE {MATCH_FEATURES} ADD COLUMN volume TEXT NOT NULL DEFAULT '';
ALTER TABLE {MATCH_FEATURES} ADD COLUMN issue TEXT NOT NULL DEFAULT '';
ALTER TABLE {MATCH_FEATURES} ADD COLUMN first_page TEXT NOT NULL DEFAULT '';
ALTER TABLE {MATCH_FEATURES} ADD COLUMN page_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {MATCH_FEATURES} ADD COLUMN abstract INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {MATCH_FEATURES} ADD COLUMN kind TEXT NOT NULL DEFAULT '';

-- 'same': joined when no conflict stands in the way; 'review': a possible duplicate.
ALTER TABLE {WORK_MATCHES} ADD COLUMN decision TEXT NOT NULL DEFAULT 'same'
    CHECK (decision IN ('same', 'review'));
CREATE INDEX work_matches_for_review ON {WORK_MATCHES} (decision);

-- A person's decision on two records: the same work, or not.
CREATE TABLE {WORK_OVERRIDES} (
    id INTEGER PRIMARY KEY,
    decision TEXT NOT NULL CHECK (decision IN ('same', 'different')),
    source_a TEXT NOT NULL,
    identifier_a TEXT NOT NULL,
    source_b TEXT NOT NULL,
    identifier_b TEXT NOT NULL,
    note TEXT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX work_overrides_unique
    ON {WORK_OVERRIDES} (source_a, identifier_a, source_b, identifier_b);

CREATE VIEW works_review AS
SELECT m.record_a, ra.local_identifier AS identifier_a, m.record_b,
       rb.local_identifier AS identifier_b, min(m.evidence) AS evidence
FROM {WORK_MATCHES} m
JOIN {RECORDS} ra ON ra.id = m.record_a
JOIN {RECORDS} rb ON rb.id = m.record_b
JOIN {WORK_MEMBERS} wa ON wa.record_id = m.record_a
JOIN {WORK_MEMBERS} wb ON wb.record_id = m.record_b
WHERE wa.work_id != wb.work_id
GROUP BY m.record_a, m.record_b;

-- Every record is derived again at the next works update (its features gained columns).
UPDATE {STORE_META} SET value = '0' WHERE key = 'works_seq'
"""


def m004_trusted_works(db: Database) -> None:
    """Works under conflicts: place of publication and kind in the features, decisions on
    compared pairs, a person's same/different decisions, the review view."""
    _run(db, TRUSTED_WORKS_DDL)


def m005_token_secret_out_of_the_store(db: Database) -> None:
    """The resumption-token secret leaves store_meta: anyone given the SQLite file could
    forge tokens with it. It moves to the owner-only file beside the store (unless one is
    there already), so tokens issued before the upgrade stay valid."""
    row = db.execute(f"SELECT value FROM {STORE_META} WHERE key = 'token_secret'").fetchone()
    if row is None:
        return
    main = [r[2] for r in db.execute("PRAGMA database_list").fetchall() if r[1] == "main"]
    if main and main[0]:  # not an in-memory store
        create_keys(secret_path(main[0]), str(row[0]))
    db.execute(f"DELETE FROM {STORE_META} WHERE key = 'token_secret'")


BROWSING_DDL = f"""
-- records_flat gains each record's year (as its work is dated) and its work, so a person
-- browsing records (Datasette) can facet them by year and follow a record to its work.
DROP VIEW records_flat;
CREATE VIEW records_flat AS
SELECT {FLAT_COLUMNS},
       f.year, m.work_id
FROM {RECORDS} r
LEFT JOIN {MATCH_FEATURES} f ON f.record_id = r.id
LEFT JOIN {WORK_MEMBERS} m ON m.record_id = r.id
"""


def m006_records_flat_year_and_work(db: Database) -> None:
    """records_flat gains `year` and `work_id` (views only: no table is rewritten)."""
    _run(db, BROWSING_DDL)


def m007_set_descriptions(db: Database) -> None:
    """Set names gain the origin's oai_dc setDescription (issue 12): harvested with ListSets
    and imported from JSONL set lines, republished in the provider's ListSets."""
    db.execute(f"ALTER TABLE {SETS} ADD COLUMN set_description TEXT")


DERIVED_AHEAD_DDL = f"""
-- Records a harvested page derived in its own transaction, ahead of the works update: what
-- they were derived from and what they were at the last works update. Emptied by every
-- works update.
CREATE TABLE {DERIVED_AHEAD} (
    record_id INTEGER PRIMARY KEY,
    change_seq INTEGER NOT NULL,
    old_features TEXT,
    old_creators TEXT NOT NULL
)
"""


def m008_derived_ahead(db: Database) -> None:
    """A harvest derives each page's records in the page's transaction (issue 10); the
    works update after it only compares and clusters them."""
    _run(db, DERIVED_AHEAD_DDL)


REVIEW_INDEX_DDL = f"""
-- The pairs left for review only: an index of every pair's decision (nearly all 'same')
-- was the one SQLite chose for "decision = 'same' AND record_a IN (...)", so each chunk of
-- an incremental refresh scanned every match (at 1M records, 9,699 changed: 34.5 s, 16.6 s
-- with this index).
DROP INDEX IF EXISTS work_matches_for_review;
CREATE INDEX work_matches_for_review ON {WORK_MATCHES} (record_a, record_b)
    WHERE decision = 'review';
"""


def m009_partial_review_index(db: Database) -> None:
    """work_matches_for_review indexes the 'review' pairs only (issue 10)."""
    _run(db, REVIEW_INDEX_DDL)


# The received metadata XML of a record: the <metadata> content of record_xml when it is
# published as it came (then metadata_xml is NULL, so it is stored once), else
# metadata_xml. Such a payload cannot hold "</metadata>" (oaiformat.reading).
RECEIVED_XML = """CASE WHEN metadata_xml IS NULL AND publishes_received = 1
    THEN substr(CAST(record_xml AS TEXT), instr(CAST(record_xml AS TEXT), '<metadata>') + 10,
        instr(CAST(record_xml AS TEXT), '</metadata>') - instr(CAST(record_xml AS TEXT),
        '<metadata>') - 10)
    ELSE metadata_xml END"""

RECEIVED_DDL = f"""
ALTER TABLE {RECORDS} ADD COLUMN publishes_received INTEGER NOT NULL DEFAULT 0
    CHECK (publishes_received IN (0, 1));
CREATE VIEW record_received AS
SELECT id AS record_id, source, identifier, local_identifier, {RECEIVED_XML} AS metadata_xml
FROM {RECORDS} WHERE deleted = 0;
"""


def m010_publish_as_received(db: Database) -> None:
    """Valid oai_dc is published as it came and stored once, in record_xml (issue 10):
    records.publishes_received, and the view record_received for the received XML."""
    _run(db, RECEIVED_DDL)


AUTHOR_FORMS_DDL = f"""
CREATE TABLE {AUTHOR_FORMS} (
    author_key TEXT NOT NULL,
    name TEXT NOT NULL,
    records INTEGER NOT NULL,
    PRIMARY KEY (author_key, name)
) WITHOUT ROWID;
-- As the authors table stands: the creators of every record as the last works update left
-- them (a record derived ahead by a harvest since then counts as it was before).
INSERT INTO {AUTHOR_FORMS} (author_key, name, records)
SELECT author_key, name, count(*) FROM (
    SELECT author_key, name FROM {RECORD_AUTHORS}
    WHERE role = 'creator' AND record_id NOT IN (SELECT record_id FROM {DERIVED_AHEAD})
    UNION ALL
    SELECT json_extract(c.value, '$[0]'), json_extract(c.value, '$[1]')
    FROM {DERIVED_AHEAD} d, json_each(d.old_creators) c
) GROUP BY author_key, name;
"""


def m011_author_forms(db: Database) -> None:
    """author_forms: how many records write each creator key each way, so that a refresh
    ranks a key's forms without counting its records again (issue 10)."""
    _run(db, AUTHOR_FORMS_DDL)


KEY_CHANGES_DDL = f"""
-- The keys clustered on (group, record): a refresh's changes are folded in as one sorted
-- pass over one B-tree (with the rowid table and its index, 336,135 changes took 7.9 s to
-- fold at 1M, clustered 0.9 s).
CREATE TABLE match_keys_clustered (
    group_key INTEGER NOT NULL,
    record_id INTEGER NOT NULL,
    PRIMARY KEY (group_key, record_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO match_keys_clustered (group_key, record_id)
SELECT group_key, record_id FROM {MATCH_KEYS} ORDER BY group_key, record_id;
DROP TABLE {MATCH_KEYS};
ALTER TABLE match_keys_clustered RENAME TO {MATCH_KEYS};
-- The candidate keys an incremental refresh added (present = 1, not in match_keys) or
-- removed (present = 0, still in match_keys) since they were last folded in: keys are
-- hashes, so a refresh writing them into match_keys dirtied nearly every page of its index
-- (1M records, 1% changed: 45,281 pages of WAL, and its commit and checkpoint 2.4 s).
CREATE TABLE {MATCH_KEY_CHANGES} (
    group_key INTEGER NOT NULL,
    record_id INTEGER NOT NULL,
    present INTEGER NOT NULL CHECK (present IN (0, 1)),
    PRIMARY KEY (group_key, record_id)
) WITHOUT ROWID;
CREATE INDEX match_key_changes_by_record ON {MATCH_KEY_CHANGES} (record_id);
CREATE VIEW {MATCH_KEYS_CURRENT} AS
SELECT k.group_key, k.record_id FROM {MATCH_KEYS} k
WHERE NOT EXISTS (SELECT 1 FROM {MATCH_KEY_CHANGES} c
    WHERE c.group_key = k.group_key AND c.record_id = k.record_id)
UNION ALL
SELECT group_key, record_id FROM {MATCH_KEY_CHANGES} WHERE present = 1;
"""


def m012_match_key_changes(db: Database) -> None:
    """match_keys clustered on its key; match_key_changes: an incremental refresh's
    candidate keys, folded into match_keys in bulk; view match_keys_current (issue 10)."""
    _run(db, KEY_CHANGES_DDL)


MIGRATIONS = (
    m001_initial,
    m002_harvest,
    m003_works,
    m004_trusted_works,
    m005_token_secret_out_of_the_store,
    m006_records_flat_year_and_work,
    m007_set_descriptions,
    m008_derived_ahead,
    m009_partial_review_index,
    m010_publish_as_received,
    m011_author_forms,
    m012_match_key_changes,
)


def pending_migrations(conn: sqlite3.Connection) -> list[str]:
    """Names of the migrations the store has not had yet, in order (a read)."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [APPLIED_TABLE]
    ).fetchone()
    applied = set()
    if found is not None:
        rows = conn.execute(
            f"SELECT name FROM {APPLIED_TABLE} WHERE migration_set = ?", [MIGRATION_SET]
        )
        applied = {str(row[0]) for row in rows}
    return [m.__name__ for m in MIGRATIONS if m.__name__ not in applied]


def migration_runner() -> Migrations:
    """The migrations as sqlite-utils' migration set, to apply them."""
    from sqlite_utils.migrations import Migrations  # noqa: PLC0415 - see MIGRATION_SET

    runner = Migrations(MIGRATION_SET)
    for migration in MIGRATIONS:
        runner()(migration)
    return runner


def apply_migrations(conn: sqlite3.Connection) -> None:
    """Apply the pending migrations, each in a transaction of its own."""
    if not pending_migrations(conn):
        return
    from sqlite_utils import Database  # noqa: PLC0415 - see MIGRATION_SET

    migration_runner().apply(Database(conn, execute_plugins=False))
