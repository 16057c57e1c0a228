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
