"""Replay of real captured responses through the whole harvester, one row per outcome.

A local server answers Identify with a fixed valid body (or with an Identify capture) and
the list requests with a capture's bytes, under the HTTP status and Content-Type that
INDEX.md records for it. Each row states what the run must end with: records stored (live
and deleted), records quarantined, retries, and the error or warning it reports. Every
capture of ../shared/fixtures/real has a row (test_every_capture_has_a_row); Identify
captures stand in as the Identify answer, ListSets and ListMetadataFormats captures as a
wrong answer to ListRecords.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harvester.client import Client
from harvester.run import SourceHarvest
from harvester.settings import HarvesterSettings, SourceSettings
from store.db import open_store
from tests.harvester import bodies, captures, faults
from tests.harvester.faults import Action, Reply, Request

REPOSITORY_IDENTIFIER = "repository.example.org"
_TOKEN = re.compile(
    rb"<(?:\w+:)?resumptionToken\b[^>]*?>(.*?)</(?:\w+:)?resumptionToken>", re.DOTALL
)
# HTTP status, Content-Type and headers of the recorded responses that were not a plain
# 200 text/xml (INDEX.md, "Acquired as").
HTTP: dict[str, tuple[int, str, tuple[tuple[str, str], ...]]] = {
    "paperhive-oai-pmh__listrecords-arxiv-503__i0.xml": (
        503,
        "text/html",
        (("Retry-After", "10"),),
    ),
    "oaipmh-scythe__list_records__i2.xml": (422, "text/xml; charset=utf-8", ()),
    "oaipmh-scythe__list_records__i10.xml": (422, "text/xml; charset=utf-8", ()),
    "scrapi__ncar__i0.xml": (200, "text/html;charset=ISO-8859-1", ()),
}
FOUR_PAGES = tuple(f"phpoaipmh__GoodResponseFourPage_{i}.xml" for i in range(1, 5))
# The list answer of the Identify rows: 16 records of the same DSpace as pyoai__fake1-00001.
ERASMUS = "pyoai__fake1-00005.xml"
NOT_A_LIST = "the response holds neither records nor an error"
PAGE_CAP = "list ended early: page cap of 1 reached"
HEADERS_ONLY = "answered ListIdentifiers to ListRecords"


@dataclass(frozen=True)
class Expected:
    """How a run must end: status, records stored, quarantined, retries, error, warning."""

    status: str = "completed"
    live: int = 0
    deleted: int = 0
    quarantined: int = 0
    retries: int = 0
    error: str | None = None
    warning: str | None = None


def stored(
    live: int, deleted: int = 0, *, warning: str | None = None, quarantined: int = 0
) -> Expected:
    """A completed run that stored these records."""
    return Expected("completed", live, deleted, quarantined, warning=warning)


def failed(error: str, *, retries: int = 0) -> Expected:
    """A failed run whose error contains `error`."""
    return Expected("failed", retries=retries, error=error)


@dataclass(frozen=True)
class Case:
    """Captures to serve and the outcome expected.

    `pages`: the first answers a new list, each next one the token of the one before.
    `first`: answers new-list requests before `pages[0]` does (throttling, then data).
    `identify`: a capture answering Identify (else a fixed valid Identify).
    `refuse_with`: answers a token no capture leads to (else the page cap stops the list).
    """

    pages: tuple[str, ...]
    expected: Expected
    first: tuple[str, ...] = ()
    identify: str | None = None
    refuse_with: str | None = None
    repository_name: str | None = None

    def files(self) -> list[str]:
        """Every capture the case serves."""
        extra = [f for f in (self.identify, self.refuse_with) if f]
        return [*self.first, *self.pages, *extra]


def _one(name: str, expected: Expected) -> tuple[str, Case]:
    return name, Case((name,), expected)


def _identify(name: str, repository_name: str) -> tuple[str, Case]:
    return name, Case((ERASMUS,), stored(16), identify=name, repository_name=repository_name)


def _headers_only(name: str) -> tuple[str, Case]:
    # ListIdentifiers answering ListRecords: headers without metadata would overwrite stored
    # records with empty ones, so the page is fetched again, then the run fails.
    return name, Case((name,), failed(HEADERS_ONLY, retries=1))


def _not_a_list(name: str) -> tuple[str, Case]:
    # ListSets / ListMetadataFormats answering ListRecords: unreadable, fetched again, failed.
    return name, Case((name,), failed(NOT_A_LIST, retries=1))


CASES: dict[str, Case] = dict(
    [
        # -- ListRecords and GetRecord answers that are stored; ListIdentifiers refused ------
        _one("dpla-ingestion3__mt.xml", stored(1)),  # MODS GetRecord via REPOX
        # LibraryCloud datestamps "20210311" are not ISO 8601: every record quarantined.
        _one("dpla-ingestion3__oai-page.xml", stored(0, quarantined=10, warning=PAGE_CAP)),
        _one("hepcrawl__arxiv-physics-hep-ex.xml", stored(3)),
        _one("hepcrawl__cds-cerncds-hep-ex.xml", stored(2)),
        _one("hepcrawl__hindawi-test_1.xml", stored(1)),
        _one("hepcrawl__sample_arxiv_record.xml", stored(12)),  # GetRecord holding 12 records
        _one("hepcrawl__sample_pos_record.xml", stored(1)),  # identifier with a space
        _one("metis-framework__deletedOaiRecord.xml", stored(0, 1)),
        _headers_only("metis-framework__oaiListIdentifiers.xml"),
        _headers_only("metis-framework__oaiListIdentifiersIncorrectCompleteListSize.xml"),
        _headers_only("mit-oai-pmh-harvester__get-identifiers__i0.xml"),
        _one("mit-oai-pmh-harvester__list-records-include-deleted__i0.xml", stored(0, 1)),
        _one("oai-harvest-manager__ListRecords-endpoint0000-RecordLists-resp0000.xml", stored(8)),
        _one("oaipmh-scythe__get_record__i1.xml", stored(1)),  # DataCite payload
        _headers_only("paperhive-oai-pmh__listidentifiers-exlibris__i0.xml"),
        _headers_only("paperhive-oai-pmh__listidentifiers-gulbenkian__i0.xml"),
        _one("perl-oai-lib__mets.xml", stored(1)),
        _one("phpoaipmh__NamespacedSample.xml", stored(1, warning=PAGE_CAP)),
        _one("plugin-OaipmhHarvester__Harvest-ListRecords.xml", stored(1, warning=PAGE_CAP)),
        _one("pyoai__fake1-00005.xml", stored(16)),  # handle identifiers, 2003
        _one("pyoai__fake2-00000.xml", stored(0, 1)),  # GetRecord of a deleted record
        _one("scrapi__addis_ababa__i0.xml", stored(8)),
        _one("scrapi__bhl__i0.xml", stored(42)),
        _one("scrapi__cogprints__i0.xml", stored(45)),
        # Last pages of longer chains: completeListSize counts records never served here.
        _one("scrapi__colostate__i10.xml", stored(8, warning="completeListSize 1008")),
        _one("scrapi__datacite__i1.xml", stored(6, warning="completeListSize 56")),
        _one("scrapi__columbia__i0.xml", stored(6)),
        _one("scrapi__icpsr__i0.xml", stored(4)),  # responseDate with millis and -04:00
        _one("scrapi__kent__i0.xml", stored(4)),
        _one("scrapi__ncar__i0.xml", stored(1)),  # XML served as text/html;charset=ISO-8859-1
        _one("scrapi__noaa_nodc__i0.xml", stored(5)),  # datestamps without Z
        _one("scrapi__pubmedcentral__i0.xml", stored(50, warning=PAGE_CAP)),
        _one("scrapi__purdue__i1.xml", stored(1)),
        _one("scrapi__spdataverse__i1.xml", stored(3, 6)),
        _one("scrapi__tdar__i0.xml", stored(24)),
        _one("scrapi__ucescholarship__i1.xml", stored(6)),
        _one("scrapi__zenodo__i0.xml", stored(7)),
        _one("sickle__ListRecords.xml", stored(1, 1, warning=PAGE_CAP)),
        # A deleted header with neither identifier nor datestamp: quarantined, rest kept.
        _one("sickle__ListRecords4.xml", stored(1, quarantined=1, warning="quarantined")),
        # -- broken bytes, repaired ---------------------------------------------------------
        _one("perl-oai-lib__badbytes.xml", stored(1, warning="re-read as UTF-8")),
        _one(
            "plugin-OaipmhHarvester__Harvest-ListRecords.notoken.xml",
            stored(1, warning="text before the root"),
        ),
        _one("scrapi__pcurio__i0.xml", stored(5, warning="stripped characters XML forbids")),
        # -- empty lists ---------------------------------------------------------------------
        _one("mit-oai-pmh-harvester__get-identifiers-no-matches__i0.xml", stored(0)),
        _one("oaipmh-scythe__list_records__i2.xml", stored(0)),  # noRecordsMatch in HTTP 422
        _one("scrapi__mla__i13.xml", stored(0)),  # noRecordsMatch ending a chain
        _one("paperhive-oai-pmh__empty-result-listrecords-mikromarc__i0.xml", stored(0)),
        # -- OAI errors ----------------------------------------------------------------------
        _one("inspire-next__is-malformed.xml", failed("idDoesNotExist: Malformed identifier")),
        _one(
            "metis-framework__oaiListIdentifiersIncorrectMetadataPrefix.xml",
            failed("cannotDisseminateFormat: Wrong metadata prefix."),
        ),
        _one("mit-oai-pmh-harvester__record-not-found__i9.xml", failed("idDoesNotExist")),
        _one("oaipmh-scythe__list_records__i10.xml", failed("badResumptionToken")),  # HTTP 422
        _one("phpoaipmh__BadResponseInvalidRecord.xml", failed("idDoesNotExist")),
        _one("phpoaipmh__BadResponseNonExistentVerb.xml", failed("badVerb")),
        # -- not OAI-PMH at all: fetched again once, then failed -----------------------------
        _one(
            "paperhive-oai-pmh__malformed-xml-arxiv__i0.xml",
            failed("the root element is <error> in no namespace", retries=1),
        ),
        _one(
            "oai-harvest-manager__static-repo.xml",
            failed("root element is <Repository> in namespace", retries=1),
        ),
        _one(
            "spotlight-oaipmh-resources__mymods.xml",
            failed("the root element is <OAI-PMH> in no namespace", retries=1),
        ),
        _one("sickle__ListRecordsBroken.xml", failed("no records to salvage", retries=1)),
        # arXiv flow control: 503 + Retry-After: 10 with an HTML body, every time.
        _one(
            "paperhive-oai-pmh__listrecords-arxiv-503__i0.xml",
            failed("HTTP 503 after 2 attempts", retries=1),
        ),
        # -- ListSets and ListMetadataFormats answering ListRecords --------------------------
        _not_a_list("dpla-ingestion3__oai-sets.xml"),
        _not_a_list("mit-oai-pmh-harvester__get-sets__i0.xml"),
        _not_a_list("oai-harvest-manager__ListIdentifiers-endpoint0000-FormatLists-resp0000.xml"),
        _not_a_list("plugin-OaipmhHarvester__ListMetadataFormats.xml"),
        _not_a_list("plugin-OaipmhHarvester__ListSets.xml"),
        _not_a_list("pyoai__fake1-00000.xml"),
        _not_a_list("sickle__ListMetadataFormats.xml"),
        # -- Identify captures as the Identify answer ----------------------------------------
        _identify("pyoai__fake1-00001.xml", "Erasmus University : Research Online"),
        _identify("pyoai__fake5-00001.xml", "DSpace at Erasmus"),  # earliest "aaaa-bb-cc"
        _identify("phpoaipmh__GoodResponseIdentify.xml", "National Science Digital Library"),
        _identify("perl-oai-lib__identify.xml", "citebase.eprints.org"),
        _identify(
            "oai-harvest-manager__response-Identify.xml",
            "CLARIN Centre Vienna / Language Resources Portal",
        ),
        _identify("paperhive-oai-pmh__identify-arxiv__i0.xml", "arXiv"),
        _identify("oaipmh-scythe__identify__i2.xml", "Zenodo"),
        _identify("oaipmh-scythe__identify__i1.xml", "repository.prod"),
        (
            "pyoai__fake3-00001.xml",  # an unclosed <bogus> element
            Case(
                (ERASMUS,),
                failed("Identify is not well-formed XML"),
                identify="pyoai__fake3-00001.xml",
            ),
        ),
        (
            "pyoai__fake4-00001.xml",  # an undefined entity &bogus;
            Case(
                (ERASMUS,),
                failed("Identify is not well-formed XML"),
                identify="pyoai__fake4-00001.xml",
            ),
        ),
        # -- several captures in one run -----------------------------------------------------
        ("phpoaipmh four-page chain", Case(FOUR_PAGES, failed(HEADERS_ONLY, retries=1))),
        (
            "arXiv throttles, then answers",
            Case(
                ("hepcrawl__arxiv-physics-hep-ex.xml",),
                Expected("completed", 3, retries=1),
                first=("paperhive-oai-pmh__listrecords-arxiv-503__i0.xml",),
            ),
        ),
        (
            "Zenodo refuses every token",
            Case(
                ("sickle__ListRecords.xml",),
                Expected("failed", 1, 1, error="badResumptionToken: the list was restarted"),
                refuse_with="oaipmh-scythe__list_records__i10.xml",
            ),
        ),
    ]
)


def _reply(name: str) -> Reply:
    path = captures.locate(name)
    assert path is not None
    status, content_type, headers = HTTP.get(name, (200, "text/xml", ()))
    return Reply(path.read_bytes(), status, headers, content_type)


class Replay:
    """Chooses the answer to each request of one case."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.pages = [_reply(n) for n in case.pages]
        self.tokens = [_token(p.body) for p in self.pages]
        self.first = [_reply(n) for n in case.first]
        self.identify = Reply(_reply(case.identify).body if case.identify else bodies.identify())
        self.unexpected: list[Request] = []

    def __call__(self, request: Request) -> Action:
        if request.verb == "Identify":
            return self.identify
        if request.verb == "ListSets":  # the captures answer ListRecords
            return Reply(bodies.error("noSetHierarchy"))
        token = request.params.get("resumptionToken")
        if token is None:
            return self.first.pop(0) if self.first else self.pages[0]
        if token in self.tokens[:-1]:
            return self.pages[self.tokens.index(token) + 1]
        if self.case.refuse_with:
            return _reply(self.case.refuse_with)
        self.unexpected.append(request)
        return faults.EXHAUSTED


def _token(body: bytes) -> str | None:
    match = _TOKEN.search(body)
    return match.group(1).decode("utf-8").strip() if match else None


@dataclass(frozen=True)
class Result:
    """What a replayed run left in the store."""

    status: str
    live: int
    deleted: int
    quarantined: int
    retries: int
    error: str | None
    warnings: list[str]
    repository_name: str | None


def replay(case: Case, db: Path) -> tuple[Result, list[float]]:
    """Run SourceHarvest against a server replaying the case; return what it stored."""
    replay = Replay(case)
    # A page cap of the chain's length: a capture whose token leads nowhere ends the list
    # with a warning instead of a request the server has no answer for.
    settings = HarvesterSettings(
        connect_timeout=1,
        read_timeout=2,
        max_attempts=2,
        page_cap=1 if case.refuse_with is None and len(case.pages) == 1 else 50,
    )
    waits: list[float] = []
    with faults.running(route=replay) as server:
        store = open_store(db)
        client = Client(server.url, settings, sleep=waits.append, rng=random.Random(3))  # noqa: S311
        try:
            summary = SourceHarvest(
                store,
                SourceSettings("real", server.url),
                client,
                settings,
                repository_identifier=REPOSITORY_IDENTIFIER,
                clock=lambda: datetime.now(UTC),
            ).run()
            conn = store.conn
            live, deleted = conn.execute(
                "SELECT count(*) - coalesce(sum(deleted), 0), coalesce(sum(deleted), 0)"
                " FROM records WHERE source = 'real'"
            ).fetchone()
            (quarantined,) = conn.execute(
                "SELECT count(*) FROM quarantine WHERE source = 'real'"
            ).fetchone()
            (name,) = conn.execute(
                "SELECT repository_name FROM sources WHERE name = 'real'"
            ).fetchone()
        finally:
            client.close()
            store.close()
    assert not replay.unexpected, f"requests the captures have no answer for: {replay.unexpected}"
    assert not server.failures, server.failures
    result = Result(
        summary.status,
        live,
        deleted,
        quarantined,
        summary.counts.retries,
        summary.error,
        list(summary.counts.warnings),
        name,
    )
    return result, waits


def _params() -> Iterator[object]:
    for name, case in CASES.items():
        reason = captures.skip_reason(case.files())
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        yield pytest.param(case, id=name, marks=marks)


@pytest.mark.parametrize("case", list(_params()))
def test_replayed_capture_ends_as_expected(case: Case, tmp_path: Path) -> None:
    result, waits = replay(case, tmp_path / "m.db")
    want = case.expected
    assert (result.status, result.live, result.deleted, result.quarantined, result.retries) == (
        want.status,
        want.live,
        want.deleted,
        want.quarantined,
        want.retries,
    ), result
    if want.error is None:
        assert result.error is None
    else:
        assert result.error is not None and want.error in result.error, result.error
    if want.warning is not None:
        assert any(want.warning in w for w in result.warnings), result.warnings
    if case.repository_name is not None:
        assert result.repository_name == case.repository_name
    if any(name in HTTP and HTTP[name][0] == 503 for name in case.files()):
        assert waits and all(w == 10.0 for w in waits)  # arXiv's Retry-After honoured


@pytest.mark.skipif(not captures.SHARED.is_dir(), reason=f"{captures.SHARED} is absent")
def test_every_capture_has_a_row() -> None:
    served = {name for case in CASES.values() for name in case.files()}
    assert served == {p.name for p in captures.SHARED.glob("*.xml")}


def test_local_copies_are_the_permissive_captures_with_attribution() -> None:
    local = {p.name for p in captures.LOCAL.glob("*.xml")}
    assert local and not any(captures.is_copyleft(n) for n in local)
    attribution = (captures.LOCAL / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in attribution for name in local)
    if captures.SHARED.is_dir():
        shared = {p.name for p in captures.SHARED.glob("*.xml")}
        assert local == {n for n in shared if not captures.is_copyleft(n)}
        for name in local:
            assert (captures.LOCAL / name).read_bytes() == (captures.SHARED / name).read_bytes()
