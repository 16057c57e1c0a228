"""The harvester: pulls remote OAI-PMH repositories into the store.

Modules:
    jobs        every source of a store: the store lock, known sources, parallel jobs, summary
    run         per source: resume point, page loop, stop guards, summary
    identify    Identify and ListMetadataFormats: what a repository says of itself
    sets        ListSets: the origin's set names and oai_dc descriptions, every page, kept
    granularity from/until in a repository's granularity, the incremental overlap
    feed        pages fetched, parsed and prepared ahead: in this process or a second one
    client      the only importer of requests/sickle: session, retries, Retry-After, size cap,
                bodies past spool_bytes to a temporary file
    stopping    RunStop: when a run must stop (SIGINT/SIGTERM, its time cap), for every wait;
                ListGuards: when a list that keeps sending tokens is given up
    persist     one page + checkpoint in ONE transaction; run history; reset
    pages       pure: response bytes -> Page (records, token, responseDate, OAI error), or
                Unread (parsed, records not read yet); a spooled body read record by
                record, in parts; parse_response for Identify, ListSets and the like
    errors      HarvestError -> FetchError, RemoteOAIError(code), MalformedResponse;
                Interrupted (a stop, not a failure) apart
    settings    SourceSettings: one [sources.NAME] table
    memory      a process's peak resident memory (the summary's peak_rss_mib)
"""

from __future__ import annotations

__all__: list[str] = []
