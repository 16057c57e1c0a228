"""What a repository says of itself: Identify, and the namespace of a metadata format."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from harvester.client import Client
from harvester.errors import HarvestError, MalformedResponse, RemoteOAIError
from harvester.pages import parse_response
from harvester.persist import RunCounts
from oaiformat.namespaces import NS_OAI

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IdentifyInfo:
    """What Identify told us."""

    granularity: str
    fields: dict[str, str | None]


def identify(client: Client, counts: RunCounts) -> IdentifyInfo:
    """Ask the repository to Identify itself. Raises HarvestError when it cannot."""
    fetched = client.fetch({"verb": "Identify"})
    counts.bytes += len(fetched.body)
    try:
        root, repaired = parse_response(fetched.body, "Identify")
    except MalformedResponse as exc:
        raise MalformedResponse(f"{fetched.url}: {exc}") from exc
    if repaired:
        logger.warning("%s: Identify repaired: %s", fetched.url, repaired)
    body = root.find(f"{{{NS_OAI}}}Identify")
    if body is None:
        error = root.find(f"{{{NS_OAI}}}error")
        if error is not None:
            raise RemoteOAIError(error.get("code", ""), error.text or "")
        raise MalformedResponse(f"{fetched.url}: not an Identify response")

    def text(tag: str) -> str | None:
        value = body.findtext(f"{{{NS_OAI}}}{tag}")
        return value.strip() if value else None

    granularity = text("granularity") or "YYYY-MM-DD"
    compression = [c.text or "" for c in body.iterfind(f"{{{NS_OAI}}}compression")]
    return IdentifyInfo(
        granularity,
        {
            "xml": fetched.body.decode("utf-8", "replace"),
            "granularity": granularity,
            "earliest_datestamp": text("earliestDatestamp"),
            "deleted_record": text("deletedRecord"),
            "compression": ",".join(compression) or None,
            "repository_name": text("repositoryName"),
        },
    )


def format_namespace(client: Client, prefix: str, counts: RunCounts) -> str:
    """The namespace ListMetadataFormats gives for `prefix`, or "" when it cannot tell
    (the list request itself will say whether the format is disseminated)."""
    try:
        fetched = client.fetch({"verb": "ListMetadataFormats"})
        counts.bytes += len(fetched.body)
        root, _ = parse_response(fetched.body, "ListMetadataFormats")
    except HarvestError as exc:
        logger.warning("ListMetadataFormats failed (%s); %s's namespace unknown", exc, prefix)
        return ""
    for element in root.iter(f"{{{NS_OAI}}}metadataFormat"):
        if (element.findtext(f"{{{NS_OAI}}}metadataPrefix") or "").strip() == prefix:
            return (element.findtext(f"{{{NS_OAI}}}metadataNamespace") or "").strip()
    logger.warning("ListMetadataFormats does not list %s", prefix)
    return ""
