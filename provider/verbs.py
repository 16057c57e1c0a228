"""Request arguments -> a typed request, or the OAI errors the protocol prescribes (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from oaiformat.datestamps import format_utc, parse_strict
from oaiformat.identifiers import METADATA_PREFIX, SET_SPEC, is_valid_uri
from oaiformat.xmlsafe import strip_illegal_text
from provider.errors import BadArgument, BadVerb, OAIError, OAIErrors


@dataclass(frozen=True)
class VerbRules:
    """Which arguments a verb takes (protocol §4): required, optional, and the exclusive one."""

    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    exclusive: str | None = None

    @property
    def allowed(self) -> frozenset[str]:
        """Every argument name legal for the verb."""
        names = {*self.required, *self.optional}
        if self.exclusive:
            names.add(self.exclusive)
        return frozenset(names)


_LIST_RULES = VerbRules(("metadataPrefix",), ("from", "until", "set"), "resumptionToken")
VERB_RULES: dict[str, VerbRules] = {
    "Identify": VerbRules(),
    "ListMetadataFormats": VerbRules(optional=("identifier",)),
    "ListSets": VerbRules(exclusive="resumptionToken"),
    "GetRecord": VerbRules(required=("identifier", "metadataPrefix")),
    "ListIdentifiers": _LIST_RULES,
    "ListRecords": _LIST_RULES,
}


@dataclass(frozen=True)
class IdentifyRequest:
    """Identify."""


@dataclass(frozen=True)
class ListMetadataFormatsRequest:
    """ListMetadataFormats, for the whole repository or one item."""

    identifier: str | None


@dataclass(frozen=True)
class ListSetsRequest:
    """ListSets, first page or resumed."""

    resumption_token: str | None


@dataclass(frozen=True)
class GetRecordRequest:
    """GetRecord."""

    identifier: str
    metadata_prefix: str


@dataclass(frozen=True)
class ListRequest:
    """ListIdentifiers or ListRecords: either a first request or a resumption token.

    `from_` and `until` are inclusive bounds at seconds granularity (a day `until` already
    widened to 23:59:59); None means open.
    """

    verb: str
    metadata_prefix: str | None = None
    from_: str | None = None
    until: str | None = None
    set_spec: str | None = None
    resumption_token: str | None = None


Request = (
    IdentifyRequest | ListMetadataFormatsRequest | ListSetsRequest | GetRecordRequest | ListRequest
)


def parse_verb(args: Mapping[str, Sequence[str]]) -> str:
    """Return the verb. Raises BadVerb when it is missing, repeated or unknown."""
    verbs = args.get("verb", [])
    if not verbs:
        raise BadVerb("the verb argument is missing")
    if len(verbs) > 1:
        raise BadVerb("the verb argument is repeated")
    if verbs[0] not in VERB_RULES:
        raise BadVerb(f"{verbs[0]!r} is not an OAI-PMH verb")
    return verbs[0]


def _check_arguments(verb: str, args: Mapping[str, Sequence[str]]) -> list[OAIError]:
    rules = VERB_RULES[verb]
    problems: list[OAIError] = []
    # An empty list of values is an argument not given (HTTP cannot send one; callers can).
    given = [name for name, values in args.items() if name != "verb" and values]
    for name in given:
        values = args[name]
        if name not in rules.allowed:
            problems.append(BadArgument(f"{name!r} is not an argument of {verb}"))
        elif len(values) > 1:
            problems.append(BadArgument(f"the argument {name!r} is repeated"))
        elif values[0] == "":
            problems.append(BadArgument(f"the argument {name!r} is empty"))
        elif strip_illegal_text(values[0]) != values[0]:
            # Such a value could not even be echoed in <request>: XML forbids the characters.
            problems.append(BadArgument(f"the argument {name!r} holds characters XML forbids"))
    if rules.exclusive and rules.exclusive in args:
        others = [name for name in given if name != rules.exclusive]
        if others:
            problems.append(
                BadArgument(
                    f"{rules.exclusive} is exclusive, but {', '.join(map(repr, others))} also given"
                )
            )
    else:
        problems.extend(
            BadArgument(f"{verb} requires the argument {name!r}")
            for name in rules.required
            if not args.get(name)
        )
    return problems


def _bounds(
    from_value: str | None, until_value: str | None
) -> tuple[str | None, str | None, list[OAIError]]:
    problems: list[OAIError] = []
    parsed = {}
    for name, value in (("from", from_value), ("until", until_value)):
        if value is None:
            continue
        try:
            parsed[name] = parse_strict(value)
        except ValueError:
            problems.append(BadArgument(f"{name} is not a legal datestamp"))
    if problems:
        return None, None, problems
    lower = upper = None
    if "from" in parsed:
        lower = format_utc(parsed["from"][0])
    if "until" in parsed:
        moment, is_day = parsed["until"]
        # A day `until` includes the whole UTC day (protocol §2.7.1: inclusive).
        upper = format_utc(moment + timedelta(days=1, seconds=-1) if is_day else moment)
    if "from" in parsed and "until" in parsed:
        if parsed["from"][1] != parsed["until"][1]:
            problems.append(BadArgument("from and until have different granularities"))
        elif parsed["from"][0] > parsed["until"][0]:
            problems.append(BadArgument("from is later than until"))
    return lower, upper, problems


def parse_request(args: Mapping[str, Sequence[str]]) -> Request:
    """Validate the arguments of one request.

    Returns the typed request. Raises BadVerb, or OAIErrors holding every badArgument
    found. Identifiers and tokens are checked later (idDoesNotExist, badResumptionToken).
    """
    verb = parse_verb(args)
    problems = _check_arguments(verb, args)
    if problems:
        raise OAIErrors(problems)
    one = {name: values[0] for name, values in args.items() if values}
    prefix = one.get("metadataPrefix")
    if prefix is not None and not METADATA_PREFIX.fullmatch(prefix):
        problems.append(BadArgument("metadataPrefix has illegal syntax"))
    identifier = one.get("identifier")
    if identifier is not None and not is_valid_uri(identifier):
        # "Illegal" identifiers may get badArgument (checklist #18), which keeps the value
        # out of <request>, where the XSD types it as anyURI.
        problems.append(BadArgument("identifier is not a legal URI"))
    set_spec = one.get("set")
    if set_spec is not None and not SET_SPEC.fullmatch(set_spec):
        problems.append(BadArgument("set is not a legal setSpec"))
    lower, upper, date_problems = _bounds(one.get("from"), one.get("until"))
    problems.extend(date_problems)
    if problems:
        raise OAIErrors(problems)
    token = one.get("resumptionToken")
    if verb == "Identify":
        return IdentifyRequest()
    if verb == "ListMetadataFormats":
        return ListMetadataFormatsRequest(one.get("identifier"))
    if verb == "ListSets":
        return ListSetsRequest(token)
    if verb == "GetRecord":
        return GetRecordRequest(one["identifier"], one["metadataPrefix"])
    return ListRequest(verb, prefix, lower, upper, set_spec, token)
