"""OAI-PMH error conditions (protocol §3.6), one class per error code.

OAIError                      code is what the <error> element carries
 +-- BadVerb
 +-- BadArgument (ValueError)
 +-- BadResumptionToken (ValueError)
 +-- CannotDisseminateFormat
 +-- IdDoesNotExist (LookupError)
 +-- NoRecordsMatch
 +-- NoMetadataFormats
 +-- NoSetHierarchy
OAIErrors                     several of the above, reported together
"""

from __future__ import annotations

from typing import ClassVar


class OAIError(Exception):
    """A condition the protocol reports in an <error> element of an HTTP 200 response."""

    code: ClassVar[str] = ""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadVerb(OAIError):
    """The verb is missing, repeated, or not one of the six."""

    code = "badVerb"


class BadArgument(OAIError, ValueError):
    """An argument is illegal, repeated, missing, or has illegal syntax."""

    code = "badArgument"


class BadResumptionToken(OAIError, ValueError):
    """The resumption token is invalid, expired, tampered with, or for another verb."""

    code = "badResumptionToken"


class CannotDisseminateFormat(OAIError):
    """The metadata format is not supported by the repository or by the item."""

    code = "cannotDisseminateFormat"


class IdDoesNotExist(OAIError, LookupError):
    """The identifier is unknown or illegal in this repository."""

    code = "idDoesNotExist"


class NoRecordsMatch(OAIError):
    """The combination of from, until, set and metadataPrefix selects no records."""

    code = "noRecordsMatch"


class NoMetadataFormats(OAIError):
    """No metadata format can be disseminated for the item."""

    code = "noMetadataFormats"


class NoSetHierarchy(OAIError):
    """The repository does not support sets."""

    code = "noSetHierarchy"


class OAIErrors(Exception):
    """Several OAI errors found at the same step, each reported in its own <error>."""

    def __init__(self, errors: list[OAIError]) -> None:
        super().__init__("; ".join(f"{e.code}: {e.message}" for e in errors))
        self.errors = errors
