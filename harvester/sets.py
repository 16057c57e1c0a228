"""ListSets: an origin's set names and oai_dc set descriptions, every page, kept per source.

Each run asks it once its records list has ended. When ListSets completes, the source's sets
are replaced by what it said (a set the origin no longer lists loses its name;
noSetHierarchy means none). What arrived of one that failed, ended early or was stopped is
kept beside the names stored before. Its failure, even its interruption, is a warning of the
run, never its outcome: the records are what a run is for, and they are stored by then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from lxml import etree

from harvester.client import Client
from harvester.errors import HarvestError, Interrupted, MalformedResponse, RemoteOAIError
from harvester.pages import parse_response
from harvester.persist import RunCounts
from harvester.settings import HarvesterSettings
from harvester.stopping import ListGuards, RunStop
from oaiformat.identifiers import SET_SPEC
from oaiformat.namespaces import NS_OAI
from oaiformat.reading import DC_ROOT, element_text, read_dc
from store.db import Store
from store.sets import SetInfo, description_xml, save_sets

logger = logging.getLogger(__name__)

_OAI = f"{{{NS_OAI}}}"


@dataclass(frozen=True)
class SetsPage:
    """What one ListSets response says: its sets (those with a legal setSpec; `skipped`
    counts the others), its token, or an OAI error."""

    sets: list[SetInfo]
    token: str | None = None
    error_code: str | None = None
    error_message: str = ""
    skipped: int = 0


@dataclass
class SetList:
    """What a walk over ListSets gathered, whether it completed, and why not."""

    sets: dict[str, SetInfo] = field(default_factory=dict)
    problem: str | None = None
    pages: int = 0
    skipped: int = 0

    @property
    def complete(self) -> bool:
        """True when the walk reached the list's end (every way of stopping short says
        why in `problem`)."""
        return self.problem is None


def _description(element: etree._Element) -> str | None:
    """The set's first oai_dc setDescription, rebuilt from its DC values. Descriptions in
    other formats are dropped: republished, each must validate against a schema of its own
    (OAI-PMH.xsd's setDescription is a strict wildcard), and oai_dc's is the one known."""
    for container in element.iterfind(f"{_OAI}setDescription"):
        payload = next((child for child in container if isinstance(child.tag, str)), None)
        if payload is not None and payload.tag == DC_ROOT:
            description = description_xml(read_dc(payload)[0])
            if description is not None:
                return description
    return None


def parse_sets_page(body: bytes) -> SetsPage:
    """Read one ListSets response (with the safe parser and a page's repairs). Raises
    MalformedResponse when it is not a ListSets response or an OAI error."""
    root, _ = parse_response(body, "ListSets")
    error = root.find(f"{_OAI}error")
    if error is not None:
        return SetsPage([], error_code=error.get("code", ""), error_message=element_text(error))
    listed = root.find(f"{_OAI}ListSets")
    if listed is None:
        raise MalformedResponse("ListSets: the response holds neither sets nor an error")
    sets, skipped = [], 0
    for element in listed.iterfind(f"{_OAI}set"):
        spec = element_text(element.find(f"{_OAI}setSpec"))
        if not SET_SPEC.fullmatch(spec):
            skipped += 1  # it could not be republished (records' are left out the same way)
            continue
        name = element_text(element.find(f"{_OAI}setName")) or spec
        sets.append(SetInfo(spec, name, _description(element)))
    token = element_text(listed.find(f"{_OAI}resumptionToken")) or None
    return SetsPage(sets, token, skipped=skipped)


def list_sets(
    client: Client, settings: HarvesterSettings, counts: RunCounts, stop: RunStop
) -> SetList:
    """Walk ListSets from its first page to the last (or until the stop guards end it).

    A failure (after the client's retries) or a stop (a signal, the run's time cap) ends
    the walk with `problem` set; nothing is raised. The bytes received count in `counts`.
    """
    found = SetList()
    guards = ListGuards(settings)
    params = {"verb": "ListSets"}
    try:
        while True:
            stop.check()
            fetched = client.fetch(params)
            counts.bytes += len(fetched.body)
            page = parse_sets_page(fetched.body)
            found.pages += 1
            found.skipped += page.skipped
            if page.error_code == "noSetHierarchy" and found.pages == 1:
                return found  # a repository without sets: complete
            if page.error_code:
                raise RemoteOAIError(page.error_code, page.error_message)
            found.sets.update((item.spec, item) for item in page.sets)
            if not page.token:
                return found
            reason = guards.reason_to_stop(page.token, not page.sets, found.pages)
            if reason:
                found.problem = f"ListSets ended early: {reason}"
                return found
            params = {"verb": "ListSets", "resumptionToken": page.token}
    except Interrupted as exc:
        found.problem = f"ListSets not finished: {exc}"
        return found
    except HarvestError as exc:
        found.problem = f"ListSets failed: {exc}"
        return found


def harvest_sets(
    store: Store,
    source: str,
    client: Client,
    settings: HarvesterSettings,
    counts: RunCounts,
    stop: RunStop,
) -> int | None:
    """Ask the origin's sets and keep them for `source`; a failure becomes a warning in
    `counts`. Returns how many sets the origin has, or None when ListSets did not complete."""
    found = list_sets(client, settings, counts, stop)
    dropped = 0
    if found.sets or found.complete:  # else nothing to keep or drop
        with store.write() as conn:
            sets = list(found.sets.values())
            dropped = save_sets(conn, source, sets, drop_others=found.complete)
    if found.skipped:
        logger.warning(
            "%s: ListSets: %d sets with an illegal setSpec left out", source, found.skipped
        )
    if found.problem:
        counts.warnings.append(f"{found.problem}; set names stored before are kept")
        logger.warning("%s: %s", source, found.problem)
        return None
    logger.info(
        "%s: ListSets: %d sets in %d pages, %d names dropped",
        source,
        len(found.sets),
        found.pages,
        dropped,
    )
    return len(found.sets)
