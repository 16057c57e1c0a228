"""The SQLite mirror and the token-secret file beside it: storage only (no XML rendering,
no dedupe), shared by every package.

Modules:
    schema        DDL and migrations: the documented interface people query
    schema_docs   what each table, view and column means: the README's, shipped as JSON
    datasette_metadata  Datasette metadata: descriptions, search, facets, hidden tables, links
    datasette_plugin    the Datasette plugin (an entry point): XML as text, links drawn
    tables        the table names (importing them pulls in no SQLite tooling)
    meta          store-wide values and counters (store_meta)
    db            open_store() for writers (created, migrated); open_reader() for reads
    records       SourceInfo; source rows; look-ups; the repository identifier check
    writes        prepare_record() / write_prepared() / save_records(): upserts, tombstones
    withdrawal    tombstones for a withdrawn source or record
    sets          set names and oai_dc descriptions per source (the sets table)
    transfer      import of oai_dc XML / JSONL files, export as JSONL
    batches       id lists in SQL-sized batches
    token_secret  the owner-only file beside the store holding the token secret(s)
    errors        StoreError and its subclasses
"""

from __future__ import annotations

__all__: list[str] = []
