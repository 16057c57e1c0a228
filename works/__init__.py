"""Records become authors and works: the dedupe behind "related outputs by author".

Modules:
    names         pure: dc:creator strings -> one AuthorName per person, with its key
    titles        pure: titles without the notes databases add ("[Review] [45 refs]", markup)
    citation      pure: dc:source read as container, volume, issue, first page, supplement
    features      pure: what matching reads of one record (Features)
    conflicts     pure: evidence against same-work: hard and soft conflicts
    rules         pure: candidate keys and the decision on a pair (same / review)
    derive        per-record derived rows: authors, features, keys, search row
    key_table     the candidate keys: match_keys, the refreshes' changes folded in bulk
    ahead         a harvested page's records derived with the page (the harvest's page hook)
    report        WorksReport: what one refresh did
    update        refresh(): the one entry point every write command calls; records_behind()
    errors        WorksError -> BadQuery, BadOverride
    pairs         candidate groups compared pair by pair; matches written
    incremental   refresh of the records written since the last one, and what they touch
    full          recompute of every work (two worker processes on large stores)
    workers       the recompute's worker processes, and work sent to them in order
    clusters      matched records clustered under cannot-links, written as works and members
    linking       same-work links: records re-rendered when their work changes
    author_table  the authors table: fullest name, forms, record and work counts
    overrides     hand-made author key corrections (join, split)
    pair_overrides  a person's same / different decisions on two records
    browse        authors, works and related outputs as the CLI prints them
    search        full-text search (FTS5)
"""

# Nothing is imported here: a harvest's page process unpickles works.ahead.DeriveAhead, and
# importing the package must not pull in the refresh (works.update, full, linking) that
# process never uses.
