"""Shared fixtures: stores with known records, and the provider on a real 127.0.0.1 server."""

from __future__ import annotations

import contextlib
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.validate import validator

import pytest

from oaiformat.datestamps import parse_strict
from oaiformat.dublin_core import DCValue
from oaiformat.record import Record
from provider.app import make_app
from provider.settings import ProviderSettings
from store.db import Store, open_store
from store.records import SourceInfo, ensure_source
from store.transfer import import_file
from store.writes import save_records
from tests import html5
from tests.xsd import ResponseValidator

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

REPOSITORY_IDENTIFIER = "repository.example.org"
SAMPLE = Path(__file__).resolve().parent.parent / "oai" / "data" / "sample.jsonl"
HARVESTED = SourceInfo(
    "arxiv", "http://export.arxiv.org/oai2", repository_name="arXiv (captured sample)"
)
NOW = "2024-05-01T12:00:00Z"


@pytest.fixture(scope="session")
def response_validator() -> ResponseValidator:
    """The XSD + protocol validator, loaded once per run."""
    return ResponseValidator()


def harvested_records(count: int = 3) -> list[Record]:
    """Records as if harvested from arXiv: origin sets, one deleted."""
    records = [
        Record(
            "arxiv",
            f"oai:arXiv.org:2101.{i:05d}",
            f"2021-01-{i + 1:02d}",
            sets=("physics:hep-ex",) if i % 2 else ("cs",),
            metadata={
                "title": [DCValue(f"Harvested paper {i}")],
                "creator": [DCValue("Stirrup, V."), DCValue("Kaur, J.")],
            },
        )
        for i in range(count)
    ]
    records.append(Record("arxiv", "oai:arXiv.org:gone", "2021-02-01T10:00:00Z", deleted=True))
    return records


def fill_store(store: Store, *, extra_local: int = 0, now: str = NOW) -> None:
    """Load the sample records, `extra_local` generated ones, and a harvested source."""
    import_file(store, SAMPLE, REPOSITORY_IDENTIFIER, lambda: parse_strict(now)[0])
    with store.write() as conn:
        ensure_source(conn, HARVESTED, now)
        save_records(
            conn,
            harvested_records(),
            repository_identifier=REPOSITORY_IDENTIFIER,
            now=now,
            harvest_date=now,
        )
        generated = [
            Record(
                "local",
                f"oai:{REPOSITORY_IDENTIFIER}:gen-{i:05d}",
                "2020-01-01",
                sets=("generated:batch",),
                metadata={"title": [DCValue(f"Generated {i}")]},
            )
            for i in range(extra_local)
        ]
        save_records(conn, generated, repository_identifier=REPOSITORY_IDENTIFIER, now=now)


def save_local(path: str | Path, records: Iterable[Record], now: str) -> None:
    """Write `local` records straight into the store file at `path`."""
    store = open_store(path)
    try:
        with store.write() as conn:
            ensure_source(conn, SourceInfo("local"), now)
            save_records(conn, records, repository_identifier=REPOSITORY_IDENTIFIER, now=now)
    finally:
        store.close()


@dataclass
class Reply:
    """One HTTP reply from the provider."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class RunningProvider:
    """The provider served by wsgiref on 127.0.0.1, every reply checked by the validator."""

    url: str
    db_path: str
    invalid: list[str] = field(default_factory=list)

    def request(
        self,
        query: str | Iterable[tuple[str, str]] = "",
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Reply:
        """Send one request; a mapping/sequence is url-encoded, a string sent as it is."""
        text = query if isinstance(query, str) else urllib.parse.urlencode(list(query))
        url = self.url
        data = body
        if method == "GET":
            url = f"{self.url}?{text}" if text else self.url
        elif data is None:
            data = text.encode()
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        if method == "POST" and "Content-Type" not in (headers or {}):
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read())

    def get(self, **params: str) -> Reply:
        """GET with keyword arguments (use from_ for `from`)."""
        return self.request([(k.rstrip("_"), v) for k, v in params.items()])


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _validating(
    app: WSGIApplication, validator_: ResponseValidator, invalid: list[str]
) -> WSGIApplication:
    def wrapped(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        seen: dict[str, str] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
            seen["status"] = status
            seen.update({k.lower(): v for k, v in headers})
            return start_response(status, headers)

        body = b"".join(app(environ, capture))  # type: ignore[arg-type]
        if seen["status"].startswith("500"):
            invalid.append(f"HTTP 500 for {environ.get('QUERY_STRING')!r}")
        # A HEAD answer has no body to validate (its GET twin is validated).
        head = environ.get("REQUEST_METHOD") == "HEAD"
        if seen["status"].startswith("200") and "content-encoding" not in seen and not head:
            # The HTML view for browsers is checked as HTML5, everything else against the XSDs.
            is_page = seen.get("content-type", "").startswith("text/html")
            check = html5.problems if is_page else validator_.problems
            for problem in check(body):
                invalid.append(f"{environ.get('QUERY_STRING')!r}: {problem}")
        return [body]

    return wrapped


@contextlib.contextmanager
def serve(
    db_path: str,
    validator_: ResponseValidator,
    settings: ProviderSettings | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Iterator[RunningProvider]:
    """Run the provider for `db_path` on 127.0.0.1:0 in a thread; fail on invalid replies."""
    settings = settings or ProviderSettings(repository_identifier=REPOSITORY_IDENTIFIER)
    app = make_app(db_path, settings, clock=clock) if clock else make_app(db_path, settings)
    invalid: list[str] = []
    checked = validator(_validating(app, validator_, invalid))
    server: WSGIServer = make_server("127.0.0.1", 0, checked, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield RunningProvider(f"http://127.0.0.1:{server.server_port}/oai", db_path, invalid)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    assert not invalid, "invalid provider replies:\n" + "\n".join(invalid[:20])


def filled_store_file(path: Path, *, extra_local: int = 0) -> Path:
    """Create the store file `path` holding what fill_store() loads; returns `path`."""
    store = open_store(path)
    try:
        fill_store(store, extra_local=extra_local)
    finally:
        store.close()
    return path


@pytest.fixture
def filled_db(tmp_path: Path) -> str:
    """A store file holding the sample records and a small harvested source."""
    return str(filled_store_file(tmp_path / "mirror.db"))


@pytest.fixture
def provider(filled_db: str, response_validator: ResponseValidator) -> Iterator[RunningProvider]:
    """The provider over `filled_db`, page size 100."""
    with serve(filled_db, response_validator) as running:
        yield running
