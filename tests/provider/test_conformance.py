"""Checklist §15 ("What a validator checks") as parametrised tables against the real server.

Every applicable row of the OAI-PMH checklist's §15 (the project's shared checklist, kept
beside the repository, not in it) is here, by its number. Three rows do not apply to this
provider and are left out on purpose:

- #31 (from finer than a day-granularity repository supports): the provider declares
  seconds granularity, so `from=2002-02-05T00:00:00Z` is legal here (see #58).
- #46 (noMetadataFormats): every record, tombstones included, is disseminated in oai_dc,
  so no item without a disseminable format can exist.
- #66 (503 + Retry-After over a rate limit): the provider has no rate limiting.

Every reply goes through `serve`, which validates it against the XSDs and protocol rules and
fails on any HTTP 500; `oai_request` also fails the very request that produced a problem.
Errors are asserted by code, never by wording.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from lxml import etree

from oaiformat.datestamps import SECONDS_FORMAT
from oaiformat.namespaces import NS_OAI
from provider import tokens
from provider.settings import ProviderSettings
from store.db import open_reader
from store.tables import RECORD_SETS, RECORDS
from tests.conftest import REPOSITORY_IDENTIFIER, Reply, RunningProvider, serve
from tests.provider.expectations import (
    Check,
    Context,
    deleted_record,
    first_page,
    identify_basics,
    identify_facts,
    identify_oai_identifier,
    includes_child_set_items,
    includes_deleted,
    lists_oai_dc,
    no_raw_quote,
    one_live_record,
    second_page,
    whole_records,
)
from tests.provider.replies import (
    FORM,
    SECONDS,
    RawReply,
    Token,
    check_envelope,
    error_codes,
    listed_keys,
    request_echo,
    resumption_token,
    send_raw,
    without_response_date,
)
from tests.provider.stores import (
    BARE_ID,
    DATED,
    DATED_SET,
    DELETED_ID,
    EMPTY_SET,
    HARVESTED_DELETED_ID,
    ID,
    PAGE_SIZE,
    SAMPLE_SIZE,
    build_bare,
    build_dated,
    build_sample,
    dated_id,
)
from tests.xsd import ResponseValidator, xpath_texts

ECHO_SUPPRESSED = frozenset({"badVerb", "badArgument"})


def settings(*, page_size: int = PAGE_SIZE, token_lifetime: int = 86_400) -> ProviderSettings:
    """The test repository's settings, by default with a small page size."""
    return ProviderSettings(
        repository_identifier=REPOSITORY_IDENTIFIER,
        page_size=page_size,
        token_lifetime=token_lifetime,
    )


def oai_request(
    running: RunningProvider, query: str, method: str = "GET"
) -> tuple[Reply, etree._Element]:
    """Send one OAI-PMH request; check HTTP, headers and envelope (#4); return the root."""
    before = len(running.invalid)
    reply = running.request(query, method=method)
    assert running.invalid[before:] == [], running.invalid[before:]
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/xml")
    assert "Accept-Encoding" in reply.headers.get("Vary", "")
    assert "Content-Encoding" not in reply.headers  # urllib sends Accept-Encoding: identity
    return reply, check_envelope(reply.body, running.url)


# ---------------------------------------------------------------------------------------------
# Servers: module-scoped, read-only (tests that move a clock or need fresh state start their own)


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The sample plus generated records: 25 records, pages of five."""
    return build_sample(tmp_path_factory.mktemp("sample") / "mirror.db")


@pytest.fixture(scope="module")
def sample_oai(sample_db: str, response_validator: ResponseValidator) -> Iterator[RunningProvider]:
    """The provider over sample_db, page size 5."""
    with serve(sample_db, response_validator, settings()) as running:
        yield running


@pytest.fixture(scope="module")
def unpaged_oai(sample_db: str, response_validator: ResponseValidator) -> Iterator[RunningProvider]:
    """The provider over the same store, every list on one page."""
    with serve(sample_db, response_validator, settings(page_size=1000)) as running:
        yield running


@pytest.fixture(scope="module")
def bare_oai(
    tmp_path_factory: pytest.TempPathFactory, response_validator: ResponseValidator
) -> Iterator[RunningProvider]:
    """The provider over a repository without sets."""
    path = build_bare(tmp_path_factory.mktemp("bare") / "mirror.db")
    with serve(path, response_validator, settings()) as running:
        yield running


@pytest.fixture(scope="module")
def placeholders(sample_oai: RunningProvider) -> dict[str, dict[str, str]]:
    """Values for the {NAME}s of the table's queries, per repository."""
    values = {"ID": ID, "DEL": DELETED_ID, "DEL_H": HARVESTED_DELETED_ID, "EMPTY_SET": EMPTY_SET}
    firsts = {
        "T": "verb=ListRecords&metadataPrefix=oai_dc",
        "TI": "verb=ListIdentifiers&metadataPrefix=oai_dc",
        "TS": "verb=ListSets",
    }
    for name, query in firsts.items():
        token = resumption_token(oai_request(sample_oai, query)[1])
        assert token is not None
        values[name] = token.text
    _, doc = oai_request(sample_oai, "verb=Identify")
    (earliest,) = xpath_texts(doc, "o:Identify/o:earliestDatestamp")
    year_before = datetime.strptime(earliest, SECONDS_FORMAT) - timedelta(days=366)
    values["EARLY"] = year_before.strftime(SECONDS_FORMAT)
    _, doc = oai_request(
        sample_oai, f"verb=GetRecord&identifier={DELETED_ID}&metadataPrefix=oai_dc"
    )
    (values["DEL_STAMP"],) = xpath_texts(doc, "o:GetRecord/o:record/o:header/o:datestamp")
    return {"sample": values, "unpaged": values, "bare": {"ID": BARE_ID}}


# ---------------------------------------------------------------------------------------------
# The table


@dataclass(frozen=True)
class Row:
    """One probe: query (GET string or POST body, {NAME} placeholders) -> expectation.

    A success row names the verb element; an error row lists the accepted sets of codes.
    Every row also gets HTTP 200, text/xml, Vary, the envelope (#4) and the echo rule.
    """

    number: int  # the row of checklist §15; extras carry the row they extend
    note: str
    query: str
    element: str | None = None
    accepts: tuple[tuple[str, ...], ...] = ()  # each sorted: the codes of one answer
    check: Check | None = None
    repository: str = "sample"  # sample (pages of 5) | unpaged | bare (no sets)

    @property
    def id(self) -> str:
        """The pytest id."""
        return f"{self.number:02d}-{self.note}"


def ok(
    number: int,
    note: str,
    query: str,
    element: str,
    check: Check | None = None,
    repository: str = "sample",
) -> Row:
    """A row answered by the verb `element`."""
    return Row(number, note, query, element=element, check=check, repository=repository)


def err(number: int, note: str, query: str, *codes: str, repository: str = "sample") -> Row:
    """A row answered by exactly these error codes (one <error> each)."""
    return Row(number, note, query, accepts=(tuple(sorted(codes)),), repository=repository)


def either(
    number: int, note: str, query: str, *accepts: tuple[str, ...], repository: str = "sample"
) -> Row:
    """A row the checklist lets a repository answer with any one of these sets of codes."""
    answers = tuple(tuple(sorted(codes)) for codes in accepts)
    return Row(number, note, query, accepts=answers, repository=repository)


BAD_VERB, BAD_ARG, BAD_TOKEN = "badVerb", "badArgument", "badResumptionToken"
CANNOT, NO_ID, NO_MATCH = "cannotDisseminateFormat", "idDoesNotExist", "noRecordsMatch"
NO_SETS = "noSetHierarchy"
LR = "verb=ListRecords&metadataPrefix=oai_dc"
LI = "verb=ListIdentifiers&metadataPrefix=oai_dc"
GR = "verb=GetRecord&identifier={ID}&metadataPrefix=oai_dc"
LMF = "verb=ListMetadataFormats"
NOSUCH = "identifier=oai:repo.example.org:nonexistent"

ROWS = [
    ok(1, "identify", "verb=Identify", "Identify", identify_basics),
    ok(3, "getrecord", GR, "GetRecord"),
    ok(4, "envelope", LI, "ListIdentifiers"),  # and every other row: see oai_request
    ok(5, "identify-facts", "verb=Identify", "Identify", identify_facts),
    ok(5, "identify-no-sets", "verb=Identify", "Identify", identify_facts, repository="bare"),
    err(6, "no-arguments", "", BAD_VERB),
    err(7, "junk", "junk", BAD_VERB),
    err(8, "unknown-verb", "verb=junk", BAD_VERB),
    err(8, "unknown-verb-with-args", "verb=Frobnicate&metadataPrefix=oai_dc", BAD_VERB),
    err(8, "empty-verb", "verb=", BAD_VERB),
    err(9, "verb-case", "verb=identify", BAD_VERB),
    err(10, "verb-repeated", "verb=Identify&verb=Identify", BAD_VERB),
    err(11, "two-verbs", "verb=Identify&verb=ListSets", BAD_VERB),
    err(12, "illegal-argument", "verb=Identify&foo=bar", BAD_ARG),
    err(12, "illegal-empty-argument", "verb=Identify&foo=", BAD_ARG),
    err(13, "prefix-for-identify", "verb=Identify&metadataPrefix=oai_dc", BAD_ARG),
    err(14, "token-for-identify", "verb=Identify&resumptionToken=x", BAD_ARG),
    err(15, "identifier-missing", "verb=GetRecord&metadataPrefix=oai_dc", BAD_ARG),
    err(16, "prefix-missing", "verb=GetRecord&identifier={ID}", BAD_ARG),
    err(17, "set-for-getrecord", f"{GR}&set=a", BAD_ARG),
    Row(
        18,
        "quote-in-identifier",
        "verb=GetRecord&identifier=invalid%22id&metadataPrefix=oai_dc",
        accepts=((NO_ID,), (BAD_ARG,)),
        check=no_raw_quote,
    ),
    # An identifier that is no anyURI (a lone '%', sent as %25) cannot be echoed: badArgument.
    err(
        18,
        "percent-in-identifier",
        "verb=GetRecord&identifier=oai:x:abc%25&metadataPrefix=oai_dc",
        BAD_ARG,
    ),
    err(18, "bad-escape-in-lmf", "verb=ListMetadataFormats&identifier=oai:x:a%25zz", BAD_ARG),
    err(19, "prefix-syntax", "verb=GetRecord&identifier={ID}&metadataPrefix=oai%20dc", BAD_ARG),
    err(20, "listrecords-alone", "verb=ListRecords", BAD_ARG),
    err(21, "listidentifiers-alone", "verb=ListIdentifiers", BAD_ARG),
    # #22 and the other repeated arguments: each argument may appear once (protocol §3.1.1).
    err(22, "prefix-repeated", f"{LR}&metadataPrefix=oai_dc", BAD_ARG),
    err(22, "identifier-repeated", f"{GR}&identifier={{ID}}", BAD_ARG),
    err(22, "set-repeated", f"{LI}&set=type&set=arxiv", BAD_ARG),
    err(22, "from-repeated", f"{LR}&from=2020-01-01&from=2020-01-01", BAD_ARG),
    err(22, "token-repeated", "verb=ListRecords&resumptionToken={T}&resumptionToken={T}", BAD_ARG),
    err(22, "lmf-identifier-repeated", f"{LMF}&identifier={{ID}}&identifier={{ID}}", BAD_ARG),
    # Keys with an empty value are arguments with an illegal value.
    err(22, "empty-prefix", "verb=ListRecords&metadataPrefix=", BAD_ARG),
    err(22, "empty-identifier", "verb=GetRecord&identifier=&metadataPrefix=oai_dc", BAD_ARG),
    err(22, "empty-set", f"{LR}&set=", BAD_ARG),
    err(22, "empty-from", f"{LI}&from=", BAD_ARG),
    err(22, "empty-until", f"{LI}&until=", BAD_ARG),
    err(22, "empty-token", "verb=ListSets&resumptionToken=", BAD_ARG),
    err(22, "empty-lmf-identifier", f"{LMF}&identifier=", BAD_ARG),
    err(23, "from-junk", f"{LR}&from=junk", BAD_ARG),
    err(24, "until-junk", f"{LI}&until=junk", BAD_ARG),
    err(25, "impossible-date", f"{LR}&from=2002-02-30", BAD_ARG),
    err(26, "z-missing", f"{LR}&from=2002-02-05T05:35:00", BAD_ARG),
    err(27, "offset", f"{LR}&from=2002-02-05T05:35:00%2B01:00", BAD_ARG),
    err(27, "fraction", f"{LR}&from=2002-02-05T05:35:00.5Z", BAD_ARG),
    err(27, "minutes-only", f"{LR}&until=2002-02-05T05:35Z", BAD_ARG),
    err(28, "mixed-granularity", f"{LR}&from=2002-02-05&until=2002-02-06T05:35:00Z", BAD_ARG),
    err(29, "from-after-until", f"{LR}&from=2004-01-02&until=2004-01-01", BAD_ARG),
    err(29, "from-after-until-s", f"{LI}&from=2004-01-01T00:00:01Z&until=2004-01-01", BAD_ARG),
    err(30, "year-only", f"{LR}&from=2002", BAD_ARG),
    err(30, "year-month", f"{LR}&until=2002-02", BAD_ARG),
    either(
        32,
        "token-with-until",
        "verb=ListRecords&resumptionToken=junk&until=1990-01-10",
        (BAD_ARG,),
        (BAD_ARG, BAD_TOKEN),
    ),
    # #33 and the like: resumptionToken is exclusive (protocol §3.5).
    err(
        33,
        "token-with-prefix",
        "verb=ListRecords&resumptionToken={T}&metadataPrefix=oai_dc",
        BAD_ARG,
    ),
    err(33, "token-with-set", "verb=ListIdentifiers&resumptionToken={TI}&set=type", BAD_ARG),
    err(33, "token-with-from", "verb=ListRecords&resumptionToken={T}&from=2020-01-01", BAD_ARG),
    # Two faults, two errors: foo is no argument of ListSets, and the token is not alone.
    err(33, "ls-token-with-junk", "verb=ListSets&resumptionToken={TS}&foo=bar", BAD_ARG, BAD_ARG),
    err(34, "prefix-for-listsets", "verb=ListSets&metadataPrefix=oai_dc", BAD_ARG),
    err(35, "prefix-for-lmf", f"{LMF}&metadataPrefix=oai_dc", BAD_ARG),
    err(36, "junk-token-lr", "verb=ListRecords&resumptionToken=junk", BAD_TOKEN),
    err(37, "junk-token-li", "verb=ListIdentifiers&resumptionToken=junk", BAD_TOKEN),
    err(38, "junk-token-ls", "verb=ListSets&resumptionToken=junk", BAD_TOKEN),
    either(
        38,
        "junk-token-ls-no-sets",
        "verb=ListSets&resumptionToken=junk",
        (BAD_TOKEN,),
        (NO_SETS,),
        repository="bare",
    ),
    # #39: a token is signed with its verb; T is ListRecords', TI ListIdentifiers', TS ListSets'.
    err(39, "lr-token-to-li", "verb=ListIdentifiers&resumptionToken={T}", BAD_TOKEN),
    err(39, "li-token-to-lr", "verb=ListRecords&resumptionToken={TI}", BAD_TOKEN),
    err(39, "ls-token-to-lr", "verb=ListRecords&resumptionToken={TS}", BAD_TOKEN),
    err(39, "lr-token-to-ls", "verb=ListSets&resumptionToken={T}", BAD_TOKEN),
    err(41, "lr-unknown-format", "verb=ListRecords&metadataPrefix=nosuchformat", CANNOT),
    err(42, "li-unknown-format", "verb=ListIdentifiers&metadataPrefix=nosuchformat", CANNOT),
    err(43, "gr-unknown-format", "verb=GetRecord&identifier={ID}&metadataPrefix=xyz", CANNOT),
    err(44, "gr-unknown-id", f"verb=GetRecord&{NOSUCH}&metadataPrefix=oai_dc", NO_ID),
    err(44, "gr-unknown-id-format", f"verb=GetRecord&{NOSUCH}&metadataPrefix=xyz", NO_ID, CANNOT),
    err(45, "lmf-unknown-id", f"{LMF}&{NOSUCH}", NO_ID),
    err(47, "until-before-earliest", f"{LR}&until={{EARLY}}", NO_MATCH),
    err(48, "from-future", f"{LI}&from=2999-01-01", NO_MATCH),
    err(49, "empty-set", f"{LR}&set={{EMPTY_SET}}", NO_MATCH),
    err(49, "unknown-set", f"{LI}&set=nosuchset", NO_MATCH),
    err(50, "listsets-no-sets", "verb=ListSets", NO_SETS, repository="bare"),
    ok(50, "no-sets-lists-work", LR, "ListRecords", repository="bare"),
    err(51, "lr-set-no-sets", f"{LR}&set=a", NO_SETS, repository="bare"),
    err(51, "li-set-no-sets", f"{LI}&set=a:b", NO_SETS, repository="bare"),
    err(
        52,
        "format-and-set",
        "verb=ListRecords&metadataPrefix=xyz&set=a",
        CANNOT,
        NO_SETS,
        repository="bare",
    ),
    ok(53, "formats", LMF, "ListMetadataFormats", lists_oai_dc),
    ok(54, "formats-of-item", f"{LMF}&identifier={{ID}}", "ListMetadataFormats", lists_oai_dc),
    ok(54, "formats-of-deleted", f"{LMF}&identifier={{DEL}}", "ListMetadataFormats", lists_oai_dc),
    ok(55, "getrecord-live", GR, "GetRecord", one_live_record),
    ok(55, "getrecord-no-sets", GR, "GetRecord", one_live_record, repository="bare"),
    ok(56, "getrecord-deleted", GR.replace("{ID}", "{DEL}"), "GetRecord", deleted_record),
    ok(
        56,
        "getrecord-deleted-harvested",
        GR.replace("{ID}", "{DEL_H}"),
        "GetRecord",
        deleted_record,
    ),
    ok(
        57,
        "deleted-listed",
        f"{LI}&from={{DEL_STAMP}}",
        "ListIdentifiers",
        includes_deleted,
        "unpaged",
    ),
    ok(
        60,
        "set-has-subsets",
        f"{LI}&set=arxiv:physics",
        "ListIdentifiers",
        includes_child_set_items,
    ),
    ok(61, "first-page", LR, "ListRecords", first_page),
    ok(62, "resumed-page", "verb=ListRecords&resumptionToken={T}", "ListRecords", second_page),
    ok(67, "identify-descriptions", "verb=Identify", "Identify", identify_oai_identifier),
    ok(68, "whole-records", LR, "ListRecords", whole_records, repository="unpaged"),
    ok(68, "whole-headers", LI, "ListIdentifiers", whole_records, repository="unpaged"),
]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_checklist_row(
    row: Row,
    method: str,
    sample_oai: RunningProvider,
    unpaged_oai: RunningProvider,
    bare_oai: RunningProvider,
    placeholders: dict[str, dict[str, str]],
) -> None:
    """Each row, sent as GET and as POST (same answer both ways)."""
    running = {"sample": sample_oai, "unpaged": unpaged_oai, "bare": bare_oai}[row.repository]
    values = placeholders[row.repository]
    query = row.query.format_map({name: quote(value, safe="") for name, value in values.items()})
    _, doc = oai_request(running, query, method)
    codes = error_codes(doc)
    body = [child.tag for child in doc][2:]
    if row.element is not None:
        assert codes == []
        assert body == [f"{{{NS_OAI}}}{row.element}"]
    else:
        assert tuple(sorted(codes)) in row.accepts, codes
        assert body == [f"{{{NS_OAI}}}error"] * len(codes)
    if ECHO_SUPPRESSED & set(codes):
        assert request_echo(doc) == {}
    else:
        assert request_echo(doc) == dict(parse_qsl(query, keep_blank_values=True))
    if row.check is not None:
        row.check(doc, Context(running.url, values))


# ---------------------------------------------------------------------------------------------
# POST answers as GET does (#2, #3; the table above runs every row both ways too)


@pytest.mark.parametrize("query", ["verb=Identify", GR, LR, "verb=ListSets", "verb=junk"])
def test_post_body_equals_get_body(query: str, provider: RunningProvider) -> None:
    """#2: the same reply except responseDate (#3 is the GetRecord case)."""
    query = query.format(ID=quote(ID, safe=""))
    get, doc = oai_request(provider, query)
    post, _ = oai_request(provider, query, "POST")
    assert without_response_date(post.body) == without_response_date(get.body)
    assert error_codes(doc) == ([BAD_VERB] if query == "verb=junk" else [])


# ---------------------------------------------------------------------------------------------
# Resumption tokens (#39 is in the table; #40 expiry, tampering, #61-#63 paging)


def walk(running: RunningProvider, query: str) -> tuple[list[str], list[Token | None]]:
    """Follow a list to its end: every key listed, and each page's token."""
    verb = dict(parse_qsl(query))["verb"]
    keys: list[str] = []
    found: list[Token | None] = []
    _, doc = oai_request(running, query)
    while True:
        if verb != "ListSets":
            whole_records(doc)
        keys.extend(listed_keys(doc))
        token = resumption_token(doc)
        found.append(token)
        if token is None or not token.text:
            return keys, found
        assert len(found) <= SAMPLE_SIZE, "the list does not end"
        resumed = urlencode({"verb": verb, "resumptionToken": token.text})
        _, doc = oai_request(running, resumed)
        assert request_echo(doc) == {"verb": verb, "resumptionToken": token.text}


def stored_identifiers(db_path: str, set_spec: str | None) -> set[str]:
    """Every published identifier in the store (in the set), read with SQL, not OAI."""
    store = open_reader(db_path)
    try:
        if set_spec is None:
            rows = store.conn.execute(f"SELECT local_identifier FROM {RECORDS}").fetchall()
        else:
            rows = store.conn.execute(
                f"SELECT local_identifier FROM {RECORD_SETS} WHERE set_spec = ?", [set_spec]
            ).fetchall()
    finally:
        store.close()
    return {str(row[0]) for row in rows}


@pytest.mark.parametrize(
    ("query", "set_spec"),
    [
        (LR, None),
        (LI, None),
        (f"{LR}&set=type", "type"),
        (f"{LI}&set=generated:batch", "generated:batch"),
        (f"{LI}&from=2024-05-01&until=2024-05-01", None),
        ("verb=ListSets", None),
    ],
)
def test_pages_concatenate(
    query: str,
    set_spec: str | None,
    sample_oai: RunningProvider,
    unpaged_oai: RunningProvider,
    sample_db: str,
) -> None:
    """#61, #62: cursors count the pages, the last token is empty, and the pages together
    are the whole list, in order, with no duplicate and no gap."""
    keys, found = walk(sample_oai, query)
    whole, unpaged_tokens = walk(unpaged_oai, query)
    assert unpaged_tokens == [None]
    assert keys == whole
    assert len(keys) == len(set(keys))
    if "ListSets" not in query:
        assert set(keys) == stored_identifiers(sample_db, set_spec)
    assert len(found) == -(-len(keys) // PAGE_SIZE) > 1
    for page, token in enumerate(found):
        assert token is not None
        assert token.cursor == str(page * PAGE_SIZE)
        assert token.complete_list_size == str(len(keys))
        if page < len(found) - 1:
            assert token.text
            assert SECONDS.match(token.expiration_date or "")
        else:
            assert token.text == ""


@pytest.mark.parametrize("query", [LR, LI, "verb=ListSets"])
def test_token_resend_is_idempotent(query: str, sample_oai: RunningProvider) -> None:
    """#63: the same token twice, nothing changed in between: the same page."""
    verb = dict(parse_qsl(query))["verb"]
    token = resumption_token(oai_request(sample_oai, query)[1])
    assert token is not None
    resumed = urlencode({"verb": verb, "resumptionToken": token.text})
    first, _ = oai_request(sample_oai, resumed)
    again, _ = oai_request(sample_oai, resumed)
    assert without_response_date(again.body) == without_response_date(first.body)


@dataclass
class MovableClock:
    """A clock the test sets by hand (make_app's `clock`)."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize("query", [LR, LI, "verb=ListSets"])
def test_expired_token_is_refused(
    query: str, filled_db: str, response_validator: ResponseValidator
) -> None:
    """#40: valid until its expirationDate, badResumptionToken after it."""
    verb = dict(parse_qsl(query))["verb"]
    clock = MovableClock(datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC))
    lifetime = 600
    with serve(filled_db, response_validator, settings(token_lifetime=lifetime), clock) as running:
        token = resumption_token(oai_request(running, query)[1])
        assert token is not None
        assert token.expiration_date is not None
        expires = datetime.strptime(token.expiration_date, SECONDS_FORMAT).replace(tzinfo=UTC)
        assert expires == clock.now + timedelta(seconds=lifetime)
        resumed = urlencode({"verb": verb, "resumptionToken": token.text})
        clock.now = expires - timedelta(seconds=1)
        assert error_codes(oai_request(running, resumed)[1]) == []
        clock.now = expires + timedelta(seconds=1)
        _, doc = oai_request(running, resumed)
        assert error_codes(doc) == [BAD_TOKEN]
        assert request_echo(doc) == {"verb": verb, "resumptionToken": token.text}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _state(token: str) -> list[Any]:
    payload = token.partition(".")[0]
    return cast(
        list[Any], json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    )


def _altered_cursor(token: str) -> str:
    state = _state(token)
    state[6] += PAGE_SIZE  # cursor: skip a page
    return f"{_b64(json.dumps(state, separators=(',', ':')).encode())}.{token.partition('.')[2]}"


def _other_key(token: str) -> str:
    state = _state(token)
    prefix, from_, until, set_spec, max_seq, after, cursor, size, expires = state
    forged = tokens.ListState(
        "ListRecords",
        prefix,
        from_,
        until,
        set_spec,
        max_seq,
        (after[0], after[1]),
        cursor,
        size,
        expires,
    )
    return tokens.encode(forged, "not-this-repository's-key")


def _flipped_signature(token: str) -> str:
    payload, _, signature = token.partition(".")
    return f"{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"


REFUSED_TOKENS: list[tuple[str, Callable[[str], str]]] = [
    ("garbage", lambda _: "junk"),
    ("markup", lambda _: '<a href="x">&amp;\'</a>'),
    ("non-ascii", lambda _: "résumé"),
    ("non-ascii-signature", lambda t: f"{t.partition('.')[0]}.ü"),
    ("dot", lambda _: "."),
    ("payload-only", lambda t: t.partition(".")[0]),
    ("signature-only", lambda t: f".{t.partition('.')[2]}"),
    ("extra-segment", lambda t: f"{t}.x"),
    ("truncated", lambda t: t[:-2]),
    ("flipped-signature", _flipped_signature),
    ("altered-cursor", _altered_cursor),
    ("other-key", _other_key),
]


@pytest.mark.parametrize(
    "tamper", [tamper for _, tamper in REFUSED_TOKENS], ids=[n for n, _ in REFUSED_TOKENS]
)
def test_tampered_or_garbage_token_is_refused(
    tamper: Callable[[str], str],
    sample_oai: RunningProvider,
    placeholders: dict[str, dict[str, str]],
) -> None:
    """A token this repository did not issue, or altered: badResumptionToken, echoed."""
    token = tamper(placeholders["sample"]["T"])
    _, doc = oai_request(sample_oai, urlencode({"verb": "ListRecords", "resumptionToken": token}))
    assert error_codes(doc) == [BAD_TOKEN]
    assert request_echo(doc) == {"verb": "ListRecords", "resumptionToken": token}


# ---------------------------------------------------------------------------------------------
# HTTP around the protocol: other paths, methods and bodies


@dataclass(frozen=True)
class HttpRow:
    """One raw HTTP request -> status (and Allow for 405)."""

    note: str
    method: str
    target: str
    status: int
    content_type: str | None = None
    body: bytes | None = None
    allow: str | None = None


IDENTIFY_BODY = b"verb=Identify"
HTTP_ROWS = [
    HttpRow("get", "GET", "/oai?verb=Identify", 200),
    HttpRow("post-form-charset", "POST", "/oai", 200, f"{FORM}; charset=UTF-8", IDENTIFY_BODY),
    HttpRow("root", "GET", "/?verb=Identify", 404),
    HttpRow("trailing-slash", "GET", "/oai/?verb=Identify", 200),
    HttpRow("head", "HEAD", "/oai?verb=Identify", 200),
    HttpRow("head-elsewhere", "HEAD", "/other", 404),
    HttpRow("below-endpoint", "GET", "/oai/Identify", 404),
    HttpRow("other-case", "GET", "/OAI?verb=Identify", 404),
    HttpRow("post-elsewhere", "POST", "/other", 404, FORM, IDENTIFY_BODY),
    HttpRow("put", "PUT", "/oai", 405, FORM, IDENTIFY_BODY, "GET, HEAD, POST"),
    HttpRow("delete", "DELETE", "/oai?verb=Identify", 405, allow="GET, HEAD, POST"),
    HttpRow("patch", "PATCH", "/oai", 405, FORM, IDENTIFY_BODY, "GET, HEAD, POST"),
    HttpRow("post-text", "POST", "/oai", 415, "text/plain", IDENTIFY_BODY),
    HttpRow("post-json", "POST", "/oai", 415, "application/json", b'{"verb": "Identify"}'),
    HttpRow("post-multipart", "POST", "/oai", 415, "multipart/form-data; boundary=b", b"--b--"),
    HttpRow("post-no-type", "POST", "/oai", 415, None, IDENTIFY_BODY),
]


@pytest.mark.parametrize("row", HTTP_ROWS, ids=[row.note for row in HTTP_ROWS])
def test_http_status(row: HttpRow, sample_oai: RunningProvider) -> None:
    """404 off the endpoint (/oai/ is the endpoint too), 405 with `Allow: GET, HEAD, POST`,
    415 for a non-form POST body; HEAD answers as GET, without the body."""
    headers = {} if row.content_type is None else {"Content-Type": row.content_type}
    reply = send_raw(sample_oai, row.method, row.target, headers=headers, body=row.body)
    assert reply.status == row.status
    assert reply.headers.get("allow") == row.allow
    if row.method == "HEAD":
        assert reply.body == b""
        if row.status == 200:
            get = send_raw(sample_oai, "GET", row.target)
            assert int(reply.headers["content-length"]) == len(get.body)
            assert reply.headers.get("content-type") == get.headers.get("content-type")
    elif row.status == 200:
        doc = check_envelope(reply.body, sample_oai.url)
        assert xpath_texts(doc, "o:Identify/o:baseURL") == [sample_oai.url]


# ---------------------------------------------------------------------------------------------
# Compression (#64, #65)

CODINGS: list[tuple[str | None, tuple[str, ...]]] = [
    (None, ()),  # #65: no Accept-Encoding header at all
    ("identity", ()),
    ("gzip;q=1.0, identity;q=0.5", ("gzip",)),  # #64
    ("gzip", ("gzip",)),
    ("x-unknown, deflate", ("deflate",)),
    ("gzip;q=0, deflate", ("deflate",)),
    ("gzip;q=0", ()),
    ("*", ("gzip", "deflate")),
    ("*;q=0", ()),
    ("GZIP", ("gzip",)),  # content-coding names are case-insensitive (RFC 9110 §8.4.1)
]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("query", ["verb=Identify", LR, "verb=junk"])
@pytest.mark.parametrize(("accept", "codings"), CODINGS, ids=[str(c[0]) for c in CODINGS])
def test_compression_follows_accept_encoding(
    accept: str | None,
    codings: tuple[str, ...],
    query: str,
    method: str,
    sample_oai: RunningProvider,
    response_validator: ResponseValidator,
) -> None:
    """gzip or deflate only when accepted (decompressed, the same valid reply); Vary set."""
    headers = {} if accept is None else {"Accept-Encoding": accept}

    def fetch(extra: dict[str, str]) -> RawReply:
        if method == "GET":
            return send_raw(sample_oai, "GET", f"/oai?{query}", headers=extra)
        form = {"Content-Type": FORM, **extra}
        return send_raw(sample_oai, "POST", "/oai", headers=form, body=query.encode())

    reply = fetch(headers)
    assert reply.status == 200
    assert reply.headers.get("vary") == "Accept, Accept-Encoding"
    assert int(reply.headers["content-length"]) == len(reply.body)
    coding = reply.headers.get("content-encoding")
    if not codings:
        assert coding is None
        body = reply.body
    else:
        assert coding in codings
        # HTTP "deflate" is the zlib format (RFC 9110 §8.4.1.2), which zlib.decompress reads.
        body = gzip.decompress(reply.body) if coding == "gzip" else zlib.decompress(reply.body)
    assert response_validator.problems(body) == []
    check_envelope(body, sample_oai.url)
    plain = fetch({})
    assert "content-encoding" not in plain.headers
    assert without_response_date(body) == without_response_date(plain.body)


# ---------------------------------------------------------------------------------------------
# Inclusive from/until (#58, #59) on records written at known moments


@pytest.fixture(scope="module")
def dated_oai(
    tmp_path_factory: pytest.TempPathFactory, response_validator: ResponseValidator
) -> Iterator[RunningProvider]:
    """The provider over stores.build_dated: one record per stores.DATED moment."""
    path = build_dated(tmp_path_factory.mktemp("dated") / "mirror.db")
    with serve(path, response_validator, settings(page_size=1000)) as running:
        yield running


EVERY = frozenset(DATED)
BOUNDS: list[tuple[str, str | None, str | None, frozenset[str]]] = [
    ("58-exact-second", "2023-03-04T05:06:07Z", "2023-03-04T05:06:07Z", frozenset({"exact"})),
    ("58-from-inclusive", "2023-03-04T05:06:07Z", None, EVERY - {"before"}),
    ("58-until-inclusive", None, "2023-03-04T05:06:07Z", frozenset({"before", "exact"})),
    ("58-one-second-in", "2023-03-04T05:06:08Z", "2023-03-05T23:59:58Z", frozenset({"day-start"})),
    ("59-whole-utc-day", "2023-03-05", "2023-03-05", frozenset({"day-start", "day-end"})),
    ("59-until-day", None, "2023-03-05", EVERY - {"next-day"}),
    ("59-from-day", "2023-03-05", None, frozenset({"day-start", "day-end", "next-day"})),
    ("59-empty-day", "2023-03-03", "2023-03-03", frozenset()),
    ("48-after-last", "2023-03-06T00:00:01Z", None, frozenset()),
    # Years below 1000 are legal datestamps: a harvester's "since the beginning" bound.
    ("30-from-year-999", "0999-01-01", None, EVERY),
    ("30-until-year-999", None, "0999-12-31T23:59:59Z", frozenset()),
]


@pytest.mark.parametrize("set_spec", [None, DATED_SET])
@pytest.mark.parametrize("verb", ["ListIdentifiers", "ListRecords"])
@pytest.mark.parametrize(
    ("from_", "until", "expected"), [b[1:] for b in BOUNDS], ids=[b[0] for b in BOUNDS]
)
def test_from_until_are_inclusive(
    from_: str | None,
    until: str | None,
    expected: frozenset[str],
    verb: str,
    set_spec: str | None,
    dated_oai: RunningProvider,
) -> None:
    """#58: both bounds inclusive to the second; #59: a day `until` takes the whole UTC day."""
    args = {"verb": verb, "metadataPrefix": "oai_dc", "from": from_, "until": until}
    args["set"] = set_spec
    query = urlencode({name: value for name, value in args.items() if value is not None})
    _, doc = oai_request(dated_oai, query)
    if not expected:
        assert error_codes(doc) == ["noRecordsMatch"]
        return
    assert error_codes(doc) == []
    assert set(listed_keys(doc)) == {dated_id(name) for name in expected}
    assert len(listed_keys(doc)) == len(expected)


def test_one_access_line_per_request(
    sample_oai: RunningProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """Client address, method, path, status, verb, OAI error, size, time, User-Agent; for
    answers outside the protocol too."""
    with caplog.at_level(logging.INFO, "provider.app"):
        send_raw(sample_oai, "GET", "/oai?verb=GetRecord", headers={"User-Agent": "probe/1.0"})
        send_raw(sample_oai, "GET", "/elsewhere", headers={"User-Agent": "probe/1.0"})
        send_raw(sample_oai, "DELETE", "/oai", headers={"User-Agent": "probe/1.0"})
    lines = [r.getMessage() for r in caplog.records if r.name == "provider.app"]
    assert len(lines) == 3
    first, missing, refused = lines
    assert first.startswith('127.0.0.1 "GET /oai" 200 verb=GetRecord error=badArgument ')
    assert first.endswith('"probe/1.0"')
    assert missing.startswith('127.0.0.1 "GET /elsewhere" 404 verb=- error=- ')
    assert refused.startswith('127.0.0.1 "DELETE /oai" 405 ')
