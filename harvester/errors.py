"""Errors raised while harvesting.

HarvestError
 +-- FetchError            the request failed after its retries (connection, timeout, HTTP)
 +-- RemoteOAIError        the repository answered with an OAI <error> (code attribute)
 +-- MalformedResponse     the body is not a readable OAI-PMH response, even after repair
Interrupted                the harvest was asked to stop (SIGINT, SIGTERM, the run time
                           cap): not a failure, so no handler of failures may take it for one
"""

from __future__ import annotations


class HarvestError(Exception):
    """Root of every failure the harvester raises."""


class FetchError(HarvestError):
    """A request failed for good: the retries and their budget are spent."""


class RemoteOAIError(HarvestError):
    """The repository answered with an OAI-PMH error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


class MalformedResponse(HarvestError, ValueError):
    """The body could not be read as an OAI-PMH response."""


class Interrupted(Exception):
    """The harvest was asked to stop; what was committed stays, the checkpoint is kept."""
