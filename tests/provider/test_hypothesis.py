"""Properties of the provider: any request gets a valid answer; tokens and arguments hold up."""

from __future__ import annotations

import gzip
import io
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from oaiformat.record import Record
from provider import tokens
from provider.app import make_app
from provider.errors import BadResumptionToken, OAIError, OAIErrors
from provider.settings import ProviderSettings
from provider.verbs import (
    GetRecordRequest,
    IdentifyRequest,
    ListMetadataFormatsRequest,
    ListRequest,
    ListSetsRequest,
    parse_request,
)
from store.db import open_store
from store.records import ensure_source
from store.writes import save_records
from tests.conftest import HARVESTED, NOW, REPOSITORY_IDENTIFIER, fill_store
from tests.strategies import (
    LIST_VERBS,
    VERBS,
    Known,
    altered_tokens,
    any_text,
    any_token_chars,
    argument_names,
    days,
    junk_values,
    list_states,
    query_strings,
    request_args,
    seconds_datestamps,
)
from tests.xsd import ResponseValidator, xpath_texts

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

PAGE_SIZE = 3
FORM = "application/x-www-form-urlencoded"
ACCEPT_ENCODINGS = (
    "gzip",
    "deflate",
    "gzip;q=0",
    "gzip;q=0, deflate",
    "*",
    "*;q=0",
    "br, identity",
    "gzip;q=abc",
    "GZIP;q=0.5",
    "deflate;q=nan",
    "gzip;level=1",
)
EPOCH = datetime.fromtimestamp(0, UTC)
SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
REQUEST_TYPES = (
    IdentifyRequest,
    ListMetadataFormatsRequest,
    ListSetsRequest,
    GetRecordRequest,
    ListRequest,
)
# Broad properties: a few hundred examples each, no deadline (the XSD check dominates).
broad = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
quick = settings(max_examples=150, deadline=None)


@dataclass(frozen=True)
class Reply:
    """What the WSGI app answered."""

    status: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Provider:
    """The WSGI app over a small filled store, and what a harvester could know of it."""

    app: WSGIApplication
    known: Known


def call(
    app: WSGIApplication,
    *,
    method: str = "GET",
    query: str = "",
    body: bytes = b"",
    content_type: str | None = None,
    content_length: str | None = None,
    accept_encoding: str | None = None,
    checked: bool = True,
) -> Reply:
    """Push one request through the app in-process, through wsgiref's validator if `checked`."""
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    # PEP 3333: the raw query reaches the app as latin-1 text of its UTF-8 bytes.
    environ.update(
        REQUEST_METHOD=method,
        PATH_INFO="/oai",
        QUERY_STRING=query.encode("utf-8").decode("latin-1"),
    )
    environ["wsgi.input"] = io.BytesIO(body)
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    if accept_encoding is not None:
        environ["HTTP_ACCEPT_ENCODING"] = accept_encoding.encode("utf-8").decode("latin-1")
    if method == "POST":
        environ["CONTENT_LENGTH"] = content_length if content_length is not None else str(len(body))
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"] = status
        seen["headers"] = dict(headers)
        return lambda data: None

    result = (validator(app) if checked else app)(environ, start_response)
    try:
        data = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    coding = seen["headers"].get("Content-Encoding")
    if coding == "gzip":
        data = gzip.decompress(data)
    elif coding == "deflate":
        data = zlib.decompress(data)
    else:
        assert coding is None, coding
    return Reply(seen["status"], seen["headers"], data)


def token_of(app: WSGIApplication, **params: str) -> str:
    """The resumption token of the first page of a list request."""
    reply = call(app, query=urlencode(params))
    found = xpath_texts(etree.fromstring(reply.body), "//o:resumptionToken")
    assert found and found[0], reply.body[:500]
    return found[0]


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Provider:
    """The app over the sample store plus a few generated records, three records a page."""
    path = str(tmp_path_factory.mktemp("hypothesis") / "mirror.db")
    store = open_store(path)
    try:
        fill_store(store, extra_local=5)
        identifiers = [r[0] for r in store.conn.execute("SELECT local_identifier FROM records")]
        sets = [r[0] for r in store.conn.execute("SELECT DISTINCT set_spec FROM record_sets")]
    finally:
        store.close()
    app = make_app(
        path, ProviderSettings(repository_identifier=REPOSITORY_IDENTIFIER, page_size=PAGE_SIZE)
    )
    real_tokens = [
        token_of(app, verb="ListRecords", metadataPrefix="oai_dc"),
        token_of(app, verb="ListIdentifiers", metadataPrefix="oai_dc"),
        token_of(app, verb="ListSets"),
        token_of(app, verb="ListRecords", metadataPrefix="oai_dc", set="generated"),
    ]
    return Provider(app, Known(tuple(identifiers), tuple(sets), tuple(real_tokens)))


def check_reply(reply: Reply, what: str, response_validator: ResponseValidator) -> None:
    """No HTTP 500; a 200 is an XSD- and protocol-valid OAI-PMH document."""
    assert not reply.status.startswith("500"), f"HTTP 500 for {what!r}"
    if not reply.status.startswith("200"):
        if currently_in_test_context():
            event(f"HTTP {reply.status}")
        return
    assert reply.headers["Content-Type"] == "text/xml; charset=UTF-8"
    problems = response_validator.problems(reply.body)
    assert not problems, f"{what!r}: {problems[:5]}"
    if currently_in_test_context():
        # What the examples reached (shown by --hypothesis-show-statistics).
        doc = etree.fromstring(reply.body)
        codes = xpath_texts(doc, "o:error/@code")
        event(f"error {codes[0]}" if codes else f"answer {etree.QName(doc[2]).localname}")


# --- (a) the WSGI app never fails and never writes an invalid document --------------------


@broad
@given(data=st.data())
def test_any_get_gets_a_valid_answer(
    provider: Provider, response_validator: ResponseValidator, data: st.DataObject
) -> None:
    query = data.draw(query_strings(provider.known), label="query")
    accept = data.draw(st.none() | st.sampled_from(ACCEPT_ENCODINGS) | any_text, label="accept")
    parse_qsl(query, keep_blank_values=True, errors="replace")
    reply = call(provider.app, query=query, accept_encoding=accept)
    assert reply.status == "200 OK"
    check_reply(reply, query, response_validator)


@broad
@given(data=st.data())
def test_any_post_gets_a_valid_answer(
    provider: Provider, response_validator: ResponseValidator, data: st.DataObject
) -> None:
    query = data.draw(query_strings(provider.known), label="body")
    content_type = data.draw(
        st.sampled_from([FORM, f"{FORM}; charset=UTF-8", FORM.upper(), "text/plain", ""]),
        label="content_type",
    )
    parse_qsl(query, keep_blank_values=True, errors="replace")
    reply = call(provider.app, method="POST", body=query.encode(), content_type=content_type)
    expected = "200 OK" if content_type.split(";")[0].lower() == FORM else "415"
    assert reply.status.startswith(expected)
    check_reply(reply, query, response_validator)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_selective_list_is_walked_once(
    provider: Provider, response_validator: ResponseValidator, data: st.DataObject
) -> None:
    verb = data.draw(st.sampled_from(["ListIdentifiers", "ListRecords"]), label="verb")
    params = {"verb": verb, "metadataPrefix": "oai_dc"}
    day = data.draw(st.booleans(), label="day granularity")
    # Every record of the store was written at NOW (2024-05-01T12:00:00Z): aim around it.
    if day:
        stamps = st.sampled_from(["2024-04-30", "2024-05-01", "2024-05-02"]) | days()
    else:
        near = ["2024-05-01T11:59:59Z", "2024-05-01T12:00:00Z", "2024-05-01T12:00:01Z"]
        stamps = st.sampled_from(near) | seconds_datestamps()
    for name in ("from", "until"):
        value = data.draw(st.none() | stamps, label=name)
        if value is not None:
            params[name] = value
    chosen = data.draw(st.none() | st.sampled_from(provider.known.sets), label="set")
    if chosen is not None:
        params["set"] = chosen
    seen: list[str] = []
    sizes: set[str] = set()
    query = urlencode(params)
    for _ in range(50):  # bounded: the store holds fewer than 50 pages
        reply = call(provider.app, query=query)
        check_reply(reply, query, response_validator)
        doc = etree.fromstring(reply.body)
        if xpath_texts(doc, "o:error/@code"):
            assert xpath_texts(doc, "o:error/@code") in (["noRecordsMatch"], ["badArgument"])
            assert not seen
            return
        seen += xpath_texts(doc, "//o:header/o:identifier")
        tokens_found = doc.findall(".//{http://www.openarchives.org/OAI/2.0/}resumptionToken")
        if not tokens_found:
            break
        sizes.add(tokens_found[0].get("completeListSize", ""))
        if not tokens_found[0].text:
            break
        query = urlencode({"verb": verb, "resumptionToken": tokens_found[0].text})
    else:
        pytest.fail("the list did not end within 50 pages")
    assert len(seen) == len(set(seen))
    assert sizes <= {str(len(seen))}


@quick
@given(
    pairs=st.lists(st.tuples(argument_names, junk_values()), max_size=5),
    verb=st.sampled_from(VERBS),
)
def test_get_and_post_answer_alike(
    provider: Provider, pairs: list[tuple[str, str]], verb: str
) -> None:
    query = urlencode([("verb", verb), *pairs])
    got = call(provider.app, query=query)
    posted = call(provider.app, method="POST", body=query.encode(), content_type=FORM)
    # Everything but the responseDate (the clock may tick between the two requests).
    date = re.compile(rb"<responseDate>[^<]*</responseDate>")
    assert date.sub(b"", got.body) == date.sub(b"", posted.body)


def test_bogus_content_length_is_refused_without_500(provider: Provider) -> None:
    # wsgiref's validator refuses such an environ itself; a real server may still pass it on.
    reply = call(
        provider.app,
        method="POST",
        body=b"verb=Identify",
        content_type=FORM,
        content_length="x",
        checked=False,
    )
    assert reply.status.startswith("400")


def test_non_ascii_token_is_refused(
    provider: Provider, response_validator: ResponseValidator
) -> None:
    reply = call(provider.app, query="verb=ListRecords&resumptionToken=a.%C3%A9")
    check_reply(reply, "resumptionToken=a.é", response_validator)
    codes = xpath_texts(etree.fromstring(reply.body), "o:error/@code")
    assert codes == ["badResumptionToken"]


def test_exclusive_message_with_control_character_in_a_name(
    provider: Provider, response_validator: ResponseValidator
) -> None:
    reply = call(provider.app, query="verb=ListSets&resumptionToken=x&%1F=")
    check_reply(reply, "resumptionToken=x&\x1f=", response_validator)
    codes = xpath_texts(etree.fromstring(reply.body), "o:error/@code")
    assert set(codes) == {"badArgument"}


@pytest.mark.parametrize(
    "value",
    ["\uff12\uff10\uff12\uff10-01-01", "\u0662\u0660\u0662\u0660-01-01T00:00:00Z"],
    ids=["fullwidth-day", "arabic-indic-seconds"],
)
def test_datestamp_with_non_ascii_digits_is_refused(
    provider: Provider, response_validator: ResponseValidator, value: str
) -> None:
    query = urlencode({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "until": value})
    reply = call(provider.app, query=query)
    check_reply(reply, query, response_validator)
    codes = xpath_texts(etree.fromstring(reply.body), "o:error/@code")
    assert codes == ["badArgument"]


def test_origin_datestamp_in_non_ascii_digits_is_refused(tmp_path: Path) -> None:
    # Such a datestamp cannot be published in provenance (XSD date types take ASCII digits
    # only), so the record is refused before anything of it is written.
    store = open_store(str(tmp_path / "mirror.db"))
    try:
        record = Record(HARVESTED.name, "oai:arXiv.org:digits", "\u0662\u0660\u0662\u0660-01-01")
        with pytest.raises(ValueError, match="datestamp"), store.write() as conn:
            ensure_source(conn, HARVESTED, NOW)
            save_records(conn, [record], repository_identifier=REPOSITORY_IDENTIFIER, now=NOW)
        assert store.conn.execute("SELECT count(*) FROM records").fetchone()[0] == 0
    finally:
        store.close()


# --- (b) resumption tokens ----------------------------------------------------------------


@quick
@given(state=list_states, secret=st.text(min_size=1, max_size=40))
def test_token_round_trips(state: tokens.ListState, secret: str) -> None:
    token = tokens.encode(state, secret)
    assert re.fullmatch(r"[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+", token)
    assert tokens.decode(token, state.verb, (secret,), EPOCH) == state


@quick
@given(state=list_states, data=st.data())
def test_any_one_character_change_is_refused(state: tokens.ListState, data: st.DataObject) -> None:
    token = tokens.encode(state, "secret")
    altered = data.draw(altered_tokens(token, any_token_chars), label="altered")
    with pytest.raises(BadResumptionToken):
        tokens.decode(altered, state.verb, ("secret",), EPOCH)


@pytest.mark.parametrize("position", [0, -1])
@pytest.mark.parametrize("character", ["é", "\x00", ".", "\U0001f600"])
def test_odd_character_in_token_is_refused(position: int, character: str) -> None:
    # A non-ASCII signature once made hmac.compare_digest raise TypeError (HTTP 500).
    state = tokens.ListState("ListRecords", "oai_dc", None, None, None, 1, ("a", "b"), 3, 9, 99)
    token = list(tokens.encode(state, "secret"))
    token[position] = character
    with pytest.raises(BadResumptionToken):
        tokens.decode("".join(token), "ListRecords", ("secret",), EPOCH)


@quick
@given(
    state=list_states,
    other_verb=st.sampled_from(VERBS),
    secret=st.text(min_size=1, max_size=20),
    other_secret=st.text(min_size=1, max_size=20),
)
def test_token_for_another_verb_or_secret_is_refused(
    state: tokens.ListState, other_verb: str, secret: str, other_secret: str
) -> None:
    token = tokens.encode(state, secret)
    if other_verb != state.verb:
        with pytest.raises(BadResumptionToken):
            tokens.decode(token, other_verb, (secret,), EPOCH)
    if other_secret != secret:
        with pytest.raises(BadResumptionToken):
            tokens.decode(token, state.verb, (other_secret,), EPOCH)


@quick
@given(state=list_states)
def test_expired_token_is_refused(state: tokens.ListState) -> None:
    token = tokens.encode(state, "secret")
    later = datetime.fromtimestamp(state.expires + 1, UTC)
    with pytest.raises(BadResumptionToken):
        tokens.decode(token, state.verb, ("secret",), later)


@quick
@given(text=st.text(alphabet=st.characters(max_codepoint=0x7F)), verb=st.sampled_from(LIST_VERBS))
def test_arbitrary_ascii_text_is_no_token(text: str, verb: str) -> None:
    with pytest.raises(BadResumptionToken):
        tokens.decode(text, verb, ("secret",), EPOCH)


# --- (c) parse_request: a request dataclass or an OAI error, nothing else -----------------


def parse_outcome(args: dict[str, list[str]]) -> object:
    """The request, or the OAI error(s) raised; anything else propagates."""
    try:
        return parse_request(args)
    except OAIErrors as problems:
        assert problems.errors
        assert all(isinstance(e, OAIError) and e.code for e in problems.errors)
        return problems
    except OAIError as problem:
        assert problem.code
        return problem


@broad
@given(args=request_args())
def test_parse_request_gives_request_or_oai_error(args: dict[str, list[str]]) -> None:
    outcome = parse_outcome(args)
    if isinstance(outcome, REQUEST_TYPES):
        assert args["verb"] == [type(outcome).__name__.removesuffix("Request")] or (
            isinstance(outcome, ListRequest) and args["verb"] == [outcome.verb]
        )
    else:
        assert isinstance(outcome, OAIError | OAIErrors)


@quick
@given(
    verb=st.sampled_from(["ListRecords", "ListIdentifiers"]),
    start=days(min_year=1000),
    end=days(min_year=1000),
)
def test_list_bounds_are_seconds_and_ordered(verb: str, start: str, end: str) -> None:
    args = {"verb": [verb], "metadataPrefix": ["oai_dc"], "from": [start], "until": [end]}
    outcome = parse_outcome(args)
    if start > end:
        assert isinstance(outcome, OAIErrors)
        assert [e.code for e in outcome.errors] == ["badArgument"]
        return
    assert isinstance(outcome, ListRequest)
    assert outcome.from_ == f"{start}T00:00:00Z"
    assert outcome.until == f"{end}T23:59:59Z"


@quick
@given(start=days(max_year=9999))
@example(start="0999-01-01")
def test_early_from_is_a_seconds_datestamp(start: str) -> None:
    outcome = parse_outcome(
        {"verb": ["ListRecords"], "metadataPrefix": ["oai_dc"], "from": [start]}
    )
    assert isinstance(outcome, ListRequest)
    assert outcome.from_ is not None and SECONDS.match(outcome.from_)


def test_from_before_year_1000_selects_everything(provider: Provider) -> None:
    query = "verb=ListIdentifiers&metadataPrefix=oai_dc&from=0999-01-01"
    doc = etree.fromstring(call(provider.app, query=query).body)
    assert xpath_texts(doc, "o:error/@code") == []
    assert len(xpath_texts(doc, "//o:header/o:identifier")) == PAGE_SIZE


@quick
@given(args=st.dictionaries(argument_names, st.lists(junk_values(), max_size=2)))
@example(args={"verb": ["GetRecord"], "identifier": []})
def test_parse_request_with_empty_value_lists(args: dict[str, list[str]]) -> None:
    parse_outcome(args)


def test_call_helper_answers_identify(provider: Provider) -> None:
    """The in-process helper answers Identify (a sanity check of `call` itself)."""
    reply = call(provider.app, query="verb=Identify")
    assert reply.status == "200 OK"
    assert b"<Identify>" in reply.body
