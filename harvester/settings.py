"""SourceSettings: one remote repository to harvest, from a [sources.NAME] table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceSettings:
    """Where and what to harvest for one source."""

    # The source's name: first segment of its published setSpecs, so URI-unreserved only.
    name: str
    # The remote repository's OAI-PMH base URL.
    url: str
    # Metadata format to harvest.
    metadata_prefix: str = "oai_dc"
    # Harvest only this set of the remote repository.
    set_spec: str | None = None
    # Harvest only records with datestamps from this date on (first harvest).
    from_: str | None = None


@dataclass(frozen=True)
class HarvesterSettings:
    """How the harvester behaves towards every remote repository ([harvester] table)."""

    # Contact address sent in the From header (harvester guidelines §2.1); none by default.
    contact_email: str | None = None
    # Seconds to wait for a connection, and for each read of the response.
    connect_timeout: int = 10
    read_timeout: int = 120
    # Seconds a whole response body may take (a server trickling bytes never trips
    # read_timeout).
    response_timeout: int = 600
    # Attempts per request before the page fails (the first try included).
    max_attempts: int = 6
    # Seconds of retry waiting one source may spend in one run.
    retry_budget: int = 1800
    # Longest Retry-After honoured; a server asking for more fails the page.
    max_retry_after: int = 3600
    # Seconds between two requests to the same host.
    politeness_delay: float = 0.0
    # A response body larger than this many bytes is cut off with an error.
    max_response_bytes: int = 256 * 1024 * 1024
    # A response body larger than this many bytes is kept in a temporary file, not in
    # memory, and its records are read and written in parts.
    spool_bytes: int = 16 * 1024 * 1024
    # A list stops with a warning after this many pages.
    page_cap: int = 1_000_000
    # A list stops with a warning after this many empty pages in a row that carry tokens.
    empty_page_limit: int = 5
    # Seconds one source's run may take (0: no cap): past it the run stops after the page
    # being written, keeps its checkpoint and is recorded interrupted; the next resumes.
    run_time_cap: int = 0
