"""The harvester: pulls remote OAI-PMH repositories into the store.

Modules:
    pages       pure: response bytes -> Page (records, token, responseDate, OAI error)
    errors      HarvestError -> FetchError, RemoteOAIError(code), MalformedResponse
    settings    SourceSettings: one [sources.NAME] table
"""

from __future__ import annotations

__all__: list[str] = []
