"""Hypothesis strategies: request arguments, query strings, token states and local records."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import strategies as st

from oaiformat.dublin_core import ELEMENTS
from provider.tokens import ListState
from provider.verbs import VERB_RULES

VERBS = (
    "Identify",
    "ListMetadataFormats",
    "ListSets",
    "GetRecord",
    "ListIdentifiers",
    "ListRecords",
)
LIST_VERBS = ("ListIdentifiers", "ListRecords", "ListSets")
ARGUMENT_NAMES = ("verb", "metadataPrefix", "identifier", "from", "until", "set", "resumptionToken")
# Near misses a sloppy parser might accept: wrong case, stray spaces, the Python keyword form.
_NEAR_NAMES = ("Verb", "VERB", "metadataprefix", "from_", " verb", "set ", "resumptiontoken")
_NEAR_VERBS = ("identify", "ListRecord", "listrecords", " Identify", "Identify ", "GetRecords")

# Unreserved URI characters: what setSpecs and metadataPrefixes are made of (OAI-PMH.xsd).
_UNRESERVED = string.ascii_letters + string.digits + "-_.!~*'()"
# What this suite treats as a well-formed URI path: unreserved plus a few reserved characters
# and some letters beyond ASCII (identifiers are IRIs in practice).
_URI_BODY = _UNRESERVED + ":/?@&=+$,;" + "éøßπЖ中"

# Text of any kind: controls (C0, DEL, C1), U+FFFE, astral characters; no lone surrogates,
# which no UTF-8 request can carry.
any_text = st.text(
    alphabet=st.characters(codec="utf-8"),
    max_size=30,
)
control_text = st.text(
    alphabet=st.sampled_from(["\x00", "\x01", "\x08", "\x0b", "\x1f", "\x7f", "\x85", "\ufffe"])
    | st.characters(codec="utf-8"),
    max_size=10,
)


# --- datestamps --------------------------------------------------------------------------


@st.composite
def days(draw: st.DrawFn, *, min_year: int = 1, max_year: int = 9999) -> str:
    """A legal YYYY-MM-DD day."""
    moment = draw(st.dates(min_value=date(min_year, 1, 1), max_value=date(max_year, 12, 31)))
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"


@st.composite
def seconds_datestamps(draw: st.DrawFn, *, min_year: int = 1, max_year: int = 9999) -> str:
    """A legal YYYY-MM-DDThh:mm:ssZ datestamp."""
    day = draw(days(min_year=min_year, max_year=max_year))
    hour, minute, second = (draw(st.integers(0, top)) for top in (23, 59, 59))
    return f"{day}T{hour:02d}:{minute:02d}:{second:02d}Z"


def legal_datestamps(*, min_year: int = 1, max_year: int = 9999) -> st.SearchStrategy[str]:
    """Either of the protocol's two datestamp forms."""
    return days(min_year=min_year, max_year=max_year) | seconds_datestamps(
        min_year=min_year, max_year=max_year
    )


_ALMOST_DATES = st.sampled_from(
    [
        "2020-13-01",
        "2020-02-30",
        "0000-01-01",
        "2020-01-01T24:00:00Z",
        "2020-01-01T00:00:00",
        "2020-01-01T00:00:00.5Z",
        "2020-01-01T00:00:00+01:00",
        "2020-01-01 00:00:00Z",
        "2020-1-1",
        "20200101",
        "2020-01-01T00:00Z",
        "\uff12\uff10\uff12\uff10-01-01",  # fullwidth digits
        "2020-01-01Z",
        "9999-12-31T23:59:59Z",
    ]
)
datestamp_values = legal_datestamps() | _ALMOST_DATES


# --- request arguments --------------------------------------------------------------------


set_specs = st.lists(
    st.text(alphabet=_UNRESERVED, min_size=1, max_size=8), min_size=1, max_size=3
).map(":".join)
uri_identifiers = st.builds(
    "{}:{}".format,
    st.sampled_from(["oai", "http", "urn", "info", "x-y.z+w"]),
    st.text(alphabet=_URI_BODY, min_size=1, max_size=30),
)


@dataclass(frozen=True)
class Known:
    """What a harvester could know of a repository: its identifiers, setSpecs and tokens."""

    identifiers: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()


def _known_or(items: tuple[str, ...], fallback: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(items) | fallback if items else fallback


def junk_values(known: Known = Known()) -> st.SearchStrategy[str]:
    """A value of any kind for any argument: another argument's, near misses, junk text."""
    choices: list[st.SearchStrategy[str]] = [
        st.sampled_from(VERBS + _NEAR_VERBS),
        st.sampled_from(["oai_dc", "OAI_DC", "marc21", "oai dc", "oai_dc "]),
        datestamp_values,
        set_specs,
        uri_identifiers,
        any_text,
        control_text,
        st.just(""),
    ]
    if known.identifiers:
        choices.append(st.sampled_from(known.identifiers))
    if known.sets:
        choices.append(st.sampled_from(known.sets))
    if known.tokens:
        choices.append(st.sampled_from(known.tokens))
        choices.append(st.sampled_from(known.tokens).flatmap(altered_tokens))
    return st.one_of(choices)


def plausible_values(name: str, known: Known = Known()) -> st.SearchStrategy[str]:
    """A value a harvester might really send for the argument `name`."""
    if name == "verb":
        return st.sampled_from(VERBS)
    if name == "metadataPrefix":
        return st.just("oai_dc") | st.sampled_from(["marc21", "OAI_DC"])
    if name == "identifier":
        return _known_or(known.identifiers, uri_identifiers)
    if name in ("from", "until"):
        return datestamp_values
    if name == "set":
        return _known_or(known.sets, set_specs)
    if name == "resumptionToken":
        if not known.tokens:
            return any_text
        return st.sampled_from(known.tokens) | st.sampled_from(known.tokens).flatmap(altered_tokens)
    return any_text


argument_names = st.sampled_from(ARGUMENT_NAMES) | st.sampled_from(_NEAR_NAMES) | any_text


# Hypothesis draws small integers (0 above all) most often and shrinks towards them, so in
# the rolls below the low values choose the ordinary case and the high ones the odd case.


@st.composite
def argument_pairs(draw: st.DrawFn, known: Known = Known()) -> list[tuple[str, str]]:
    """(name, value) pairs in request order: usually a verb and the arguments it takes with
    fitting values, sometimes a resumption token, missing or extra arguments, junk, repeats.
    """
    junk = junk_values(known)
    pairs: list[tuple[str, str]] = []
    roll = draw(st.integers(0, 9))
    if roll <= 7:
        pairs.append(("verb", draw(st.sampled_from(VERBS))))
    elif roll == 8:
        pairs.append(("verb", draw(junk)))
    rules = VERB_RULES.get(pairs[0][1]) if pairs else None
    if rules is not None:
        if rules.exclusive and draw(st.integers(0, 9)) >= 6:
            names = [rules.exclusive]
        else:
            names = [n for n in rules.required if draw(st.integers(0, 9)) <= 8]
            names += [n for n in rules.optional if draw(st.integers(0, 9)) >= 6]
        for name in names:
            value = plausible_values(name, known) if draw(st.integers(0, 9)) <= 7 else junk
            pairs.append((name, draw(value)))
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.integers(0, 9)) <= 5:
            name = draw(st.sampled_from(ARGUMENT_NAMES))
        else:
            name = draw(argument_names)
        pairs.append((name, draw(plausible_values(name, known) | junk)))
    return draw(st.permutations(pairs))


def request_args(known: Known = Known()) -> st.SearchStrategy[dict[str, list[str]]]:
    """dict[str, list[str]] as the WSGI layer hands it over: every list non-empty."""
    return argument_pairs(known).map(_grouped)


def _grouped(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    args: dict[str, list[str]] = {}
    for name, value in pairs:
        args.setdefault(name, []).append(value)
    return args


def _encode_part(text: str, how: str) -> str:
    if how == "quote":
        return quote(text, safe="")
    if how == "plus":
        return quote_plus(text)
    if how == "lower":
        return re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(text, safe=""))
    return text  # raw: '&', '=', '%', '+' and non-ASCII pass unescaped


@st.composite
def query_strings(draw: st.DrawFn, known: Known = Known()) -> str:
    """A query string as a client might send it: escaped, unescaped or broken, as text."""
    parts = []
    # Mostly escaped properly; sometimes raw ('&', '=', '%', '+' then break the pairs apart).
    how = st.sampled_from(["quote", "plus", "lower", "raw"])
    for name, value in draw(argument_pairs(known)):
        part = f"{_encode_part(name, draw(how))}={_encode_part(value, draw(how))}"
        if draw(st.integers(0, 19)) >= 19:
            part = name  # a name without '=' (parse_qsl keeps it as an empty value)
        parts.append(part)
    junk = st.sampled_from(["", "&", "&&", "%", "%zz", "%C3", "%FF%FE", "=", "==x", "+", ";"])
    for _ in range(draw(st.integers(0, 6)) // 4):
        parts.insert(draw(st.integers(0, len(parts))), draw(junk))
    return "&".join(parts)


# --- resumption tokens --------------------------------------------------------------------


# Characters a tampering client might put in: the token alphabet, separators, escapes, NUL.
ascii_token_chars = st.sampled_from(string.ascii_letters + string.digits + "-_.=+/% \x00~")
any_token_chars = ascii_token_chars | st.characters(codec="utf-8")


@st.composite
def altered_tokens(
    draw: st.DrawFn, token: str, chars: st.SearchStrategy[str] = any_token_chars
) -> str:
    """`token` with exactly one character replaced by a different one drawn from `chars`."""
    if not token:
        return draw(chars)
    position = draw(st.integers(0, len(token) - 1))
    new = draw(chars.filter(token[position].__ne__))
    return f"{token[:position]}{new}{token[position + 1 :]}"


optional_text = st.none() | st.text(max_size=20)
list_states = st.builds(
    ListState,
    verb=st.sampled_from(LIST_VERBS),
    metadata_prefix=st.none() | st.text(max_size=12),
    from_=optional_text,
    until=optional_text,
    set_spec=st.none() | set_specs,
    # Counters as JSON carries them exactly (tokens refuse anything from 2**53 on).
    max_change_seq=st.integers(0, 2**53 - 1),
    after=st.tuples(st.text(max_size=25), st.text(max_size=60)),
    cursor=st.integers(0, 2**31),
    complete_list_size=st.integers(0, 2**31),
    expires=st.integers(1, 2**35),
)


# --- local records in the export shape ----------------------------------------------------


# Letters (any script), digits, punctuation and spaces: what real DC values hold. Controls
# are left out here: a record holding them is not published as it is stored.
dc_text = st.text(
    alphabet=st.characters(categories=["L", "N", "P", "S", "Zs"], codec="utf-8"),
    min_size=1,
    max_size=40,
)
language_tags = st.sampled_from(["en", "de", "fr-CA", "zh-Hant-TW", "x-klingon", "i-navajo"])
dc_values = dc_text | st.builds(lambda v, lang: {"value": v, "lang": lang}, dc_text, language_tags)
dc_metadata = st.dictionaries(
    st.sampled_from(ELEMENTS), st.lists(dc_values, min_size=1, max_size=3), max_size=6
).map(lambda found: {name: found[name] for name in ELEMENTS if name in found})
record_identifiers = (
    st.builds(
        "oai:repository.example.org:{}".format,
        st.text(alphabet=_UNRESERVED, min_size=1, max_size=20),
    )
    | uri_identifiers
)


@st.composite
def local_record(draw: st.DrawFn, identifier: str) -> dict[str, Any]:
    """One local record in the export shape (sets sorted, unique; a tombstone has no metadata)."""
    deleted = draw(st.booleans())
    return {
        "source": "local",
        "identifier": identifier,
        "datestamp": draw(legal_datestamps(min_year=1000)),
        "deleted": deleted,
        "sets": sorted(set(draw(st.lists(set_specs, max_size=3)))),
        "metadata": {} if deleted else draw(dc_metadata),
    }


def local_records(*, max_size: int = 8) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Records with distinct identifiers."""
    return st.lists(record_identifiers, min_size=1, max_size=max_size, unique=True).flatmap(
        lambda ids: st.tuples(*(local_record(i) for i in ids)).map(list)
    )
