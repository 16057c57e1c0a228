"""The store's table names (and SQL over them that more than one package writes), apart
from the schema so that using them imports no SQLite tooling (a harvest's page process
imports the store's record code, not its migrations)."""

from __future__ import annotations

SOURCES = "sources"
RECORDS = "records"
RECORD_SETS = "record_sets"
SETS = "sets"
STORE_META = "store_meta"
HARVEST_STATE = "harvest_state"
HARVEST_RUNS = "harvest_runs"
QUARANTINE = "quarantine"
AUTHORS = "authors"
AUTHOR_FORMS = "author_forms"
RECORD_AUTHORS = "record_authors"
AUTHOR_OVERRIDES = "author_overrides"
WORKS = "works"
WORK_MEMBERS = "work_members"
WORK_MATCHES = "work_matches"
MATCH_FEATURES = "match_features"
MATCH_KEYS = "match_keys"
MATCH_KEY_CHANGES = "match_key_changes"
MATCH_KEYS_CURRENT = "match_keys_current"
RECORDS_FTS = "records_fts"
WORK_OVERRIDES = "work_overrides"
DERIVED_AHEAD = "derived_ahead"


def first_title(alias: str) -> str:
    """SQL for the first dc:title of the records row `alias`, as text (the stored metadata
    holds a string, or {"value", "lang"} for a title with a language)."""
    return (
        f"CASE json_type({alias}.metadata, '$.title[0]') WHEN 'object'"
        f" THEN json_extract({alias}.metadata, '$.title[0].value')"
        f" ELSE json_extract({alias}.metadata, '$.title[0]') END"
    )
