"""Answers one OAI-PMH request from the store: verbs dispatched to queries and builders."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from oaiformat.datestamps import format_utc
from provider import queries, responses, tokens
from provider.errors import (
    BadResumptionToken,
    CannotDisseminateFormat,
    IdDoesNotExist,
    NoRecordsMatch,
    NoSetHierarchy,
    OAIError,
    OAIErrors,
)
from provider.settings import ProviderSettings
from provider.token_keys import KeyRing
from provider.verbs import (
    GetRecordRequest,
    IdentifyRequest,
    ListMetadataFormatsRequest,
    ListRequest,
    ListSetsRequest,
    Request,
    parse_request,
)
from store.writes import current_change_seq

OAI_DC = "oai_dc"
COMPRESSION = ("gzip", "deflate")


class Reply(NamedTuple):
    """One response: its XML, and the OAI error codes it carries (none for an answer)."""

    body: bytes
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Repository:
    """This repository as seen through the protocol: settings plus the token keys."""

    settings: ProviderSettings
    keys: KeyRing

    def respond(
        self,
        conn: sqlite3.Connection,
        args: Mapping[str, Sequence[str]],
        base_url: str,
        now: datetime,
    ) -> Reply:
        """Return the XML response to one request; OAI errors become <error> elements (and
        their codes are returned with it, for the access log)."""
        response_date = format_utc(now)
        echo = {name: values[0] for name, values in args.items() if values}
        try:
            request = parse_request(args)
            return Reply(self._dispatch(conn, request, echo, base_url, now, response_date))
        except OAIErrors as problems:
            errors = problems.errors
        except OAIError as problem:
            errors = [problem]
        body = responses.errors(response_date, base_url, echo, errors)
        return Reply(body, tuple(sorted({e.code for e in errors})))

    def _dispatch(
        self,
        conn: sqlite3.Connection,
        request: Request,
        echo: Mapping[str, str],
        base_url: str,
        now: datetime,
        date: str,
    ) -> bytes:
        sources = self.settings.sources
        if isinstance(request, IdentifyRequest):
            return responses.identify(date, echo, self._identify_info(conn, base_url, date))
        if isinstance(request, ListMetadataFormatsRequest):
            if request.identifier is not None and not queries.record_exists(
                conn, request.identifier, sources
            ):
                raise _unknown(request.identifier)
            return responses.list_metadata_formats(date, base_url, echo)
        if isinstance(request, ListSetsRequest):
            return self._list_sets(conn, request, echo, base_url, now, date)
        if isinstance(request, GetRecordRequest):
            problems: list[OAIError] = []
            if request.metadata_prefix != OAI_DC:
                problems.append(_cannot_disseminate(request.metadata_prefix))
            fragment = queries.get_record(conn, request.identifier, sources)
            if fragment is None or problems:
                if fragment is None:
                    problems.append(_unknown(request.identifier))
                raise OAIErrors(problems)
            return responses.with_fragments(date, base_url, echo, "GetRecord", [fragment], None)
        return self._list(conn, request, echo, base_url, now, date)

    def _identify_info(
        self, conn: sqlite3.Connection, base_url: str, response_date: str
    ) -> responses.IdentifyInfo:
        settings = self.settings
        prefix = f"oai:{settings.repository_identifier}:"
        sample = queries.sample_identifier(conn, prefix) or f"{prefix}local/1"
        harvested = queries.harvested_sources(conn, settings.sources)
        return responses.IdentifyInfo(
            repository_name=settings.repository_name,
            base_url=base_url,
            admin_emails=settings.admin_email,
            earliest_datestamp=queries.earliest_datestamp(conn, settings.sources) or response_date,
            repository_identifier=settings.repository_identifier,
            sample_identifier=sample,
            friends=[url for _, _, url in harvested if url],
            compression=COMPRESSION,
        )

    def _list_sets(
        self,
        conn: sqlite3.Connection,
        request: ListSetsRequest,
        echo: Mapping[str, str],
        base_url: str,
        now: datetime,
        date: str,
    ) -> bytes:
        cursor, after = 0, ""
        if request.resumption_token is not None:
            state = tokens.decode(
                request.resumption_token, "ListSets", self.keys.keys(now).accepted, now
            )
            cursor, after = state.cursor, state.after[1]
        sets = queries.all_sets(conn, self.settings.sources)
        if not sets:
            raise NoSetHierarchy("this repository has no sets")
        remaining = [item for item in sets if item[0] > after]
        page = remaining[: self.settings.page_size]
        token = None
        if len(remaining) > len(page):
            state = tokens.ListState(
                "ListSets",
                None,
                None,
                None,
                None,
                0,
                ("", page[-1][0]),
                cursor + len(page),
                len(sets),
                self._expires(now),
            )
            token = self._token_info(state, cursor, now)
        elif request.resumption_token is not None:
            token = responses.TokenInfo("", cursor, len(sets), None)
        if not page:
            raise BadResumptionToken("the resumption token points past the end of the list")
        return responses.list_sets(date, base_url, echo, page, token)

    def _list(
        self,
        conn: sqlite3.Connection,
        request: ListRequest,
        echo: Mapping[str, str],
        base_url: str,
        now: datetime,
        date: str,
    ) -> bytes:
        if request.resumption_token is not None:
            at = self._resumed(request, request.resumption_token, now)
        else:
            at = self._started(conn, request)
        page = queries.list_page(
            conn,
            at.query,
            at.after,
            self.settings.page_size,
            full_records=request.verb == "ListRecords",
        )
        fragments = page.fragments
        if not fragments:
            if at.after is None:
                raise NoRecordsMatch("no record matches the arguments")
            raise BadResumptionToken("the resumption token points past the end of the list")
        served = at.cursor + len(fragments)
        next_after = page.next_after
        size = at.size
        if size < 0:
            size = queries.count_list(conn, at.query) if next_after is not None else len(fragments)
        token = None
        if next_after is not None:
            query = at.query
            state = tokens.ListState(
                request.verb,
                at.prefix,
                query.from_,
                query.until,
                query.set_spec,
                query.max_change_seq,
                next_after,
                served,
                max(size, served + 1),
                self._expires(now),
            )
            token = self._token_info(state, at.cursor, now)
        elif at.after is not None:
            token = responses.TokenInfo("", at.cursor, max(size, served), None)
        return responses.with_fragments(date, base_url, echo, request.verb, fragments, token)

    def _resumed(self, request: ListRequest, token: str, now: datetime) -> _ListPosition:
        """Where a resumption token says the list stands (its query frozen when it began)."""
        state = tokens.decode(token, request.verb, self.keys.keys(now).accepted, now)
        query = queries.ListQuery(
            state.from_, state.until, state.set_spec, self.settings.sources, state.max_change_seq
        )
        return _ListPosition(
            query, state.after, state.cursor, state.complete_list_size, state.metadata_prefix
        )

    def _started(self, conn: sqlite3.Connection, request: ListRequest) -> _ListPosition:
        """The start of a new list, its arguments checked against what the store holds."""
        sources = self.settings.sources
        problems: list[OAIError] = []
        if request.metadata_prefix != OAI_DC:
            problems.append(_cannot_disseminate(request.metadata_prefix))
        if request.set_spec is not None and not queries.has_sets(conn, sources):
            problems.append(NoSetHierarchy("this repository has no sets"))
        if problems:
            raise OAIErrors(problems)
        # Freeze the list at the last write before it began (implementation guidelines
        # §5.1): a record changed during the list is not served twice, and the next
        # incremental harvest (from = this responseDate) is sure to see it.
        query = queries.ListQuery(
            request.from_, request.until, request.set_spec, sources, current_change_seq(conn)
        )
        return _ListPosition(query, None, 0, -1, request.metadata_prefix)

    def _expires(self, now: datetime) -> int:
        return int(now.timestamp()) + self.settings.token_lifetime

    def _token_info(
        self, state: tokens.ListState, cursor: int, now: datetime
    ) -> responses.TokenInfo:
        return responses.TokenInfo(
            tokens.encode(state, self.keys.keys(now).current),
            cursor,
            state.complete_list_size,
            format_utc(state.expiration_date),
        )


class _ListPosition(NamedTuple):
    """Where a list request stands: its query, the last key served, the cursor, the
    complete list size (-1 until counted) and the metadata prefix."""

    query: queries.ListQuery
    after: tuple[str, str] | None
    cursor: int
    size: int
    prefix: str | None


def _unknown(identifier: str) -> IdDoesNotExist:
    return IdDoesNotExist(f"no record has the identifier {identifier!r}")


def _cannot_disseminate(prefix: str | None) -> CannotDisseminateFormat:
    return CannotDisseminateFormat(f"the metadata format {prefix!r} is not supported")
