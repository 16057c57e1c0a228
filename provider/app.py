"""The WSGI application: HTTP in, one OAI-PMH response out, never an HTTP 500 by design.

`make_app(store_path, settings)` returns the plain WSGI callable; any WSGI server can run it
(`oai serve` uses waitress; see the README for gunicorn).
"""

from __future__ import annotations

import gzip
import io
import logging
import threading
import time
import zlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import parse_qsl
from wsgiref.util import application_uri

from oaiformat.datestamps import Clock, utc_now
from oaiformat.xmlsafe import parse_bytes
from provider import page_facts
from provider.html import render as render_html
from provider.service import Repository
from provider.settings import ProviderSettings
from provider.token_keys import SECRET_ENV, KeyRing, load_keys
from store.db import Store, open_reader
from store.records import check_repository_identifier
from store.token_secret import TokenKeys, new_secret, secret_path

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger(__name__)

ENDPOINT = "/oai"
# Base URLs remembered, one for each (scheme, Host, server name, port, script name) seen.
_BASE_URLS_KEPT = 64
MAX_POST_BYTES = 1 << 20
FORM_TYPE = "application/x-www-form-urlencoded"
ALLOW = "GET, HEAD, POST"
# Responses differ by Accept-Encoding (compression) and Accept (the HTML view for browsers).
VARY = "Accept, Accept-Encoding"
XML_TYPE = "text/xml; charset=UTF-8"
HTML_TYPE = "text/html; charset=utf-8"
# A request naming both gets the HTML view: every mainstream browser's navigation does, and
# no harvester does (`*/*`, `text/xml`, none at all, or Java's default `text/html,
# image/gif, image/jpeg, *; q=.2, */*; q=.2`, which names text/html alone).
BROWSER_TYPES = ("text/html", "application/xhtml+xml")


def _weights(header: str) -> dict[str, float]:
    """The names an Accept or Accept-Encoding header lists, each with its q (1 unless given;
    an unreadable q counts as 0)."""
    weights: dict[str, float] = {}
    if not header:
        return weights  # most harvesters send neither header
    for part in header.split(","):
        name, *params = part.split(";")
        quality = 1.0
        for param in params:
            key, _, text = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(text)
                except ValueError:
                    quality = 0.0
        weights[name.strip().lower()] = quality
    return weights


def wants_html(accept: str) -> bool:
    """True when the Accept header names both text/html and application/xhtml+xml with
    q > 0: a browser, which gets a page for people instead of the XML."""
    weights = _weights(accept)
    return all(weights.get(media_type, 0.0) > 0 for media_type in BROWSER_TYPES)


def _accepted_coding(header: str) -> str | None:
    """Pick gzip or deflate if the Accept-Encoding header allows it with q > 0."""
    weights = _weights(header)
    for coding in ("gzip", "deflate"):
        if weights.get(coding, weights.get("*", 0.0)) > 0:
            return coding
    return None


# Bodies from this size on go to waitress as a file (its wsgi.file_wrapper): it copies a
# returned bytes body into its output buffer and then out of it again, while it sends a
# wrapped file from where it is (a page of 100 records, 150 KB: the server's CPU over a
# 100k walk 0.93 -> 0.70 s). Below it, one buffer with the headers is the cheaper send.
# Other servers get a list: some sent an in-memory file empty (uWSGI before 2.0.19).
FILE_WRAPPER_FROM = 16384


def _body_iterable(environ: WSGIEnvironment, body: bytes) -> Iterable[bytes]:
    """The WSGI iterable of a response body: waitress's file wrapper around it when the
    body is large, else a list."""
    wrapper = environ.get("wsgi.file_wrapper")
    if (
        wrapper is None
        or len(body) < FILE_WRAPPER_FROM
        or not getattr(wrapper, "__module__", "").startswith("waitress.")
    ):
        return [body]
    # BytesIO shares the body's bytes until written to: nothing is copied here.
    wrapped: Iterable[bytes] = wrapper(io.BytesIO(body), len(body))
    return wrapped


def _compress(body: bytes, coding: str) -> bytes:
    if coding == "gzip":
        return gzip.compress(body, compresslevel=5, mtime=0)
    # HTTP "deflate" is the zlib format (RFC 9110 §8.4.1.2), not a raw deflate stream.
    return zlib.compress(body, 5)


class _Answer(NamedTuple):
    """One HTTP answer, with what the access log says of it."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes
    verb: str | None = None
    errors: tuple[str, ...] = ()


def _text(status: str, text: str, extra: list[tuple[str, str]] | None = None) -> _Answer:
    """A plain-text answer outside the protocol (404, 405, 415, 500)."""
    body = text.encode()
    headers = [("Content-Type", "text/plain; charset=UTF-8"), ("Content-Length", str(len(body)))]
    return _Answer(status, headers + (extra or []), body)


_IDENTIFY = {"verb": ["Identify"]}


def _read_args(environ: WSGIEnvironment) -> dict[str, list[str]] | str:
    """Return the request's arguments in order, or an HTTP status line for a refused body."""
    method = environ["REQUEST_METHOD"]
    if method in ("GET", "HEAD"):
        # PEP 3333 hands the raw query over as latin-1; percent-escapes decode as UTF-8.
        raw = environ.get("QUERY_STRING", "").encode("latin-1").decode("utf-8", "replace")
    else:
        content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if content_type != FORM_TYPE:
            return "415 Unsupported Media Type"
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return "400 Bad Request"
        if length > MAX_POST_BYTES:
            return "413 Content Too Large"
        raw = environ["wsgi.input"].read(length).decode("utf-8", "replace") if length > 0 else ""
    args: dict[str, list[str]] = {}
    for name, value in query_pairs(raw):
        args.setdefault(name, []).append(value)
    return args


def query_pairs(raw: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of a form-urlencoded string, blank values kept: what
    parse_qsl gives, without its unquoting when nothing is quoted (harvesters' requests,
    whose tokens and prefixes are plain)."""
    if "%" in raw or "+" in raw:
        return parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="replace")
    return [pair.partition("=")[::2] for pair in raw.split("&") if pair]


class ProviderApp:
    """The WSGI callable. Each server thread gets its own SQLite connection."""

    def __init__(self, store_path: str, settings: ProviderSettings, clock: Clock) -> None:
        self.store_path = store_path
        self.settings = settings
        self.clock = clock
        store = open_reader(store_path)  # serving never writes the mirror
        try:
            check_repository_identifier(store.conn, settings.repository_identifier)
        finally:
            store.close()
        keys = load_keys(store_path, settings, clock())
        if keys is None:
            # No write command has made the store's secret file yet (or could not); tokens
            # signed with this one stop working when the server restarts.
            logger.warning(
                "no resumption-token secret (%s not set, no %s, no provider.token_secret):"
                " using one for this server's lifetime",
                SECRET_ENV,
                secret_path(store_path),
            )
            keys = TokenKeys(new_secret(), (), "this server's lifetime")
        self.repository = Repository(settings, KeyRing(keys, store_path))
        self._local = threading.local()
        self._base_urls: dict[tuple[object, ...], str] = {}

    def _base_url(self, environ: WSGIEnvironment) -> str:
        """The endpoint's URL as the request reached it (wsgiref's application_uri, which
        took a page of records 5% of its time), remembered for the few hosts a server sees."""
        names = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME")
        reached = tuple(environ.get(name) for name in names)
        url = self._base_urls.get(reached)
        if url is None:
            if len(self._base_urls) >= _BASE_URLS_KEPT:
                self._base_urls.clear()  # Host is the client's to write: keep few
            url = application_uri(environ).rstrip("/") + ENDPOINT
            self._base_urls[reached] = url
        return url

    def _connection(self) -> Store:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = open_reader(self.store_path)
            self._local.store = store
        return store

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        try:
            return self._handle(environ, start_response, started)
        except Exception:
            # A bug, never an expected outcome: the suite fails if any request gets here.
            logger.exception("internal error answering %s", environ.get("QUERY_STRING", ""))
            answer = _text("500 Internal Server Error", "internal error\n")
            start_response(answer.status, answer.headers)
            return [answer.body]

    def _handle(
        self, environ: WSGIEnvironment, start_response: StartResponse, started: float
    ) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        answer = self._answer(environ, method)
        # One access line per request, whatever its outcome (operators grep these).
        if logger.isEnabledFor(logging.INFO):
            self._log_access(environ, method, answer, started)
        # Made before start_response: a failure here still gets the one 500 answer.
        body: Iterable[bytes] = [] if method == "HEAD" else _body_iterable(environ, answer.body)
        start_response(answer.status, answer.headers)
        return body

    @staticmethod
    def _log_access(environ: WSGIEnvironment, method: str, answer: _Answer, started: float) -> None:
        logger.info(
            '%s "%s %s" %s verb=%s error=%s %d bytes %.1f ms "%s"',
            environ.get("REMOTE_ADDR", "-"),
            method,
            environ.get("PATH_INFO", ""),
            answer.status.split(" ", 1)[0],
            answer.verb or "-",
            ",".join(answer.errors) or "-",
            len(answer.body),
            (time.perf_counter() - started) * 1000,
            environ.get("HTTP_USER_AGENT", "-"),
        )

    def _answer(self, environ: WSGIEnvironment, method: str) -> _Answer:
        """The answer to one request; HEAD is answered as GET (its body is not sent)."""
        path = environ.get("PATH_INFO", "")
        # "/oai/" is the endpoint too: link checkers and people add the slash.
        if path not in (ENDPOINT, ENDPOINT + "/"):
            return _text("404 Not Found", f"the OAI-PMH endpoint is {ENDPOINT}\n")
        if method not in ("GET", "HEAD", "POST"):
            return _text("405 Method Not Allowed", "use GET, HEAD or POST\n", [("Allow", ALLOW)])
        args = _read_args(environ)
        if isinstance(args, str):
            return _text(args, "arguments must be form-urlencoded\n")
        base_url = self.settings.base_url or self._base_url(environ)
        for_people = self.settings.html_view and wants_html(environ.get("HTTP_ACCEPT", ""))
        # Bare /oai in a browser is the home page: the repository card, not badVerb.
        home = for_people and not args
        now = self.clock()
        conn = self._connection().conn
        conn.execute("BEGIN")  # one snapshot for every query of this response
        try:
            body, errors = self.repository.respond(conn, _IDENTIFY if home else args, base_url, now)
            if for_people:
                # The page is built from the XML a harvester gets, plus a few store facts.
                answer = parse_bytes(body)  # ours, parsed once for the page and its facts
                facts = page_facts.gather(
                    conn, args, self.settings, home=home, answer=answer, failed=bool(errors)
                )
                body = render_html(answer, facts)
        finally:
            conn.execute("COMMIT")
        headers = [("Content-Type", HTML_TYPE if for_people else XML_TYPE), ("Vary", VARY)]
        coding = _accepted_coding(environ.get("HTTP_ACCEPT_ENCODING", ""))
        verb = ",".join(args.get("verb", [])) or None
        if coding is not None:
            body = _compress(body, coding)
            headers.append(("Content-Encoding", coding))
        headers.append(("Content-Length", str(len(body))))
        return _Answer("200 OK", headers, body, verb, errors)


def make_app(
    store_path: str, settings: ProviderSettings | None = None, *, clock: Clock = utc_now
) -> WSGIApplication:
    """Return the provider as a WSGI application serving the store at `store_path` at /oai.

    The store is only read. Raises MissingStore when there is none, SchemaError when it
    needs a migration, IdentifierConflict when it publishes under another identifier.
    """
    return ProviderApp(store_path, settings or ProviderSettings(), clock)
