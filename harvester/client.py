"""HTTP for the harvester: the only importer of requests and sickle.

One requests.Session per run (keep-alive, gzip), connect/read timeouts, a User-Agent naming
the project, retries with jittered exponential backoff on connection errors, timeouts,
HTTP 429 and 5xx, Retry-After in both of its forms, requests one at a time with an
optional politeness delay, and a cap on the size of a body read in bounded memory.

Requests go through a Sickle subclass (Sickle builds the OAI-PMH request); its parsing and
per-record dict conversion are bypassed: the body bytes are parsed once by harvester.pages.
"""

from __future__ import annotations

import errno
import logging
import random
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from typing import IO, Any

import requests
import urllib3
from sickle import Sickle

from harvester.errors import FetchError
from harvester.settings import HarvesterSettings
from harvester.stopping import POLL_SECONDS, RunStop

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Statuses whose body may still be an OAI-PMH error (Zenodo answers errors with 422).
OAI_ERROR_STATUSES = frozenset({400, 404, 422})


def user_agent() -> str:
    """The User-Agent this harvester sends."""
    try:
        release = version("oai-mirror")
    except PackageNotFoundError:  # running from a source tree
        release = "dev"
    return f"oai-mirror/{release} (OAI-PMH harvester; python-requests)"


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Read a Retry-After header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class Fetched:
    """One successful exchange: the body, decoded from gzip/deflate (retries are counted
    on the client). A body larger than settings.spool_bytes is in `spool`, a temporary
    file the caller closes, and `body` is empty."""

    url: str
    status: int
    body: bytes
    size: int = 0
    spool: IO[bytes] | None = None
    retry_after: str | None = None

    def close(self) -> None:
        """Delete the spooled body, if any."""
        if self.spool is not None:
            self.spool.close()


class TruncatedBody(requests.exceptions.ChunkedEncodingError):
    """The connection ended before the body did, after `received` decoded bytes."""

    def __init__(self, received: int, cause: Exception) -> None:
        super().__init__(str(cause))
        self.received = received


class _SessionSickle(Sickle):  # type: ignore[misc]  # sickle has no type hints
    """Sickle sending its requests through our session, with streaming and a size cap."""

    def __init__(
        self, endpoint: str, session: requests.Session, settings: HarvesterSettings
    ) -> None:
        super().__init__(endpoint, max_retries=0)
        self.session = session
        self.settings = settings

    def exchange(self, kwargs: Mapping[str, str], spool: bool) -> Fetched:
        """Send one request and read its body (into a temporary file past spool_bytes
        when `spool`, else such a body is refused)."""
        response = self.session.get(
            self.endpoint,
            params=dict(kwargs),
            timeout=(self.settings.connect_timeout, self.settings.read_timeout),
            stream=True,
        )
        try:
            announced = response.headers.get("Content-Length", "")
            # A body held in memory (no spooling: Identify, ListSets) may be spool_bytes.
            cap = self.settings.max_response_bytes if spool else self.settings.spool_bytes
            name = "max_response_bytes" if spool else "spool_bytes"
            if announced.isdigit() and int(announced) > cap:
                raise FetchError(
                    f"{response.url}: Content-Length {announced} is larger than {name}"
                    f" ({cap}); not read"
                )
            body, spooled, size = self._read_body(response, spool)
        finally:
            response.close()
        return Fetched(
            response.url,
            response.status_code,
            body,
            size,
            spooled,
            response.headers.get("Retry-After"),
        )

    def _read_body(
        self, response: requests.Response, spool: bool
    ) -> tuple[bytes, IO[bytes] | None, int]:
        settings = self.settings
        # read_timeout bounds each read; a server trickling bytes would never trip it, so the
        # whole body also has a deadline (a timeout like the others: retried).
        deadline = time.monotonic() + settings.response_timeout
        chunks: list[bytes] = []
        spooled: IO[bytes] | None = None
        size = 0
        try:
            for chunk in _body_chunks(response):
                if time.monotonic() > deadline:
                    raise requests.exceptions.ReadTimeout(
                        f"{response.url}: body not complete after {settings.response_timeout} s"
                    )
                size += len(chunk)
                if size > settings.max_response_bytes:
                    raise FetchError(
                        f"{response.url}: response larger than "
                        f"{settings.max_response_bytes} bytes, cut off"
                    )
                if spooled is None and size > settings.spool_bytes:
                    if not spool:
                        raise FetchError(
                            f"{response.url}: response larger than {settings.spool_bytes}"
                            " bytes, cut off"
                        )
                    # Past this size the body goes to disk: memory stays bounded whatever
                    # a server sends (harvester.pages reads such a body incrementally).
                    spooled = tempfile.TemporaryFile(prefix="oai-harvest-")  # noqa: SIM115
                    spooled.writelines(chunks)
                    chunks.clear()
                if spooled is not None:
                    spooled.write(chunk)
                else:
                    chunks.append(chunk)
        except BaseException as exc:
            if spooled is not None:
                spooled.close()
            if isinstance(exc, requests.exceptions.ChunkedEncodingError):
                raise TruncatedBody(size, exc) from exc
            raise
        if spooled is not None:
            spooled.seek(0)
        return b"".join(chunks), spooled, size


def _body_chunks(response: requests.Response) -> Iterator[bytes]:
    """The decoded body, chunk by chunk, each as soon as it arrives.

    Not iter_content(): urllib3's read(amt) waits until `amt` bytes have come, so a server
    trickling bytes would keep the deadline check from ever running. urllib3's errors become
    the requests errors fetch() tells apart (as iter_content() would raise them).
    """
    raw = response.raw
    while True:
        try:
            chunk = raw.read1(64 * 1024, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.exceptions.ReadTimeout(str(exc)) from exc
        except urllib3.exceptions.DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(str(exc)) from exc
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.SSLError) as exc:
            raise requests.exceptions.ChunkedEncodingError(str(exc)) from exc
        if not chunk:
            return
        yield chunk


class Client:
    """Fetches OAI-PMH responses from one base URL with the retry policy."""

    def __init__(
        self,
        base_url: str,
        settings: HarvesterSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        stop: RunStop | None = None,
    ) -> None:
        self.base_url = base_url
        # When the run must stop, a request in flight is given up at once.
        self.stop = stop
        self.settings = settings
        self.clock = time.monotonic
        self._last_request: float | None = None
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent()
        self.session.headers["Accept-Encoding"] = "gzip, deflate;q=0.9, identity;q=0.5"
        if settings.contact_email:
            self.session.headers["From"] = settings.contact_email
        self.sickle = _SessionSickle(base_url, self.session, settings)
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.budget_left = float(settings.retry_budget)
        self.retries = 0

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def _backoff(self, attempt: int) -> float:
        base = min(120.0, 2.0 ** (attempt - 1))
        return base * self.rng.uniform(0.5, 1.5)

    def _exchange(self, params: Mapping[str, str], spool: bool) -> Fetched:
        # Politeness: one client per source, and same-host sources run one after the other
        # (harvester.jobs), so spacing this client's requests spaces the host's.
        delay = self.settings.politeness_delay
        if self._last_request is not None and delay > 0:
            remaining = delay - (self.clock() - self._last_request)
            if remaining > 0:
                self.sleep(remaining)
        self._last_request = self.clock()
        if self.stop is None:
            fetched: Fetched = self.sickle.exchange(params, spool)
            return fetched
        return _abandoned_on(self.stop, lambda: self.sickle.exchange(params, spool))

    def fetch(self, params: Mapping[str, str], *, spool: bool = False) -> Fetched:
        """Return the response to one request, retrying what may pass.

        With `spool`, a body larger than spool_bytes comes in a temporary file (the caller
        closes the Fetched); without, such a body fails the request. Raises FetchError when
        the attempts or the retry budget are spent, on a status that is not retried, on a
        redirect loop or a redirect away from HTTP, when the body is larger than allowed,
        or when a body is cut off at the same byte twice in a row.
        """
        attempt = 0
        truncated_at: int | None = None
        while True:
            attempt += 1
            problem: str
            wait: float | None = None
            try:
                fetched = self._exchange(params, spool)
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = connection_problem(exc)
            except TruncatedBody as exc:
                if exc.received == truncated_at:
                    # The server cuts the body at the same byte every time: fetching it
                    # again would read the same bytes again (hundreds of MB, for some).
                    raise FetchError(
                        f"{self.base_url}: response cut off at byte {exc.received} twice in"
                        " a row; not fetched again"
                    ) from exc
                truncated_at = exc.received
                problem = f"truncated response after {exc.received} bytes"
            except requests.exceptions.ContentDecodingError as exc:
                # Content-Encoding: gzip over a body that is not (or is cut inside the
                # stream): as transient as a truncated body (tests/harvester/test_faults.py).
                problem = f"undecodable response: {exc}"
            except requests.RequestException as exc:
                # A redirect loop, a redirect to another scheme, an invalid URL: trying again
                # changes nothing, and anything but a HarvestError would escape the run.
                raise FetchError(f"{self.base_url}: {type(exc).__name__}: {exc}") from exc
            else:
                status = fetched.status
                oai_error = status in OAI_ERROR_STATUSES and b"<OAI-PMH" in fetched.body
                if status == 200 or oai_error:
                    return fetched
                fetched.close()
                if status not in RETRY_STATUSES:
                    raise FetchError(f"{fetched.url}: HTTP {status}, not retried")
                problem = f"HTTP {status}"
                wait = retry_after_seconds(fetched.retry_after, datetime.now(UTC))
                if wait is not None and wait > self.settings.max_retry_after:
                    raise FetchError(
                        f"{fetched.url}: HTTP {status} asks to retry after {wait:.0f} s,"
                        f" more than max_retry_after ({self.settings.max_retry_after} s)"
                    )
            wait = self._backoff(attempt) if wait is None else wait
            if attempt >= self.settings.max_attempts or wait > self.budget_left:
                raise FetchError(f"{self.base_url}: {problem} after {attempt} attempts")
            self._wait(wait, f"{problem}; retry {attempt}")

    def retry_page(self, reason: str) -> None:
        """Spend one retry on a page that arrived but could not be read; raise when spent."""
        wait = self._backoff(1 + self.retries % 6)
        if wait > self.budget_left:
            raise FetchError(f"{self.base_url}: {reason}; retry budget spent")
        self._wait(wait, f"{reason}; fetching the page again")

    def _wait(self, seconds: float, why: str) -> None:
        """Count a retry and wait for it, out of the source's retry budget."""
        logger.warning("%s: %s in %.1f s", self.base_url, why, seconds)
        self.budget_left -= seconds
        self.retries += 1
        self.sleep(seconds)


def _abandoned_on(stop: RunStop, exchange: Callable[[], Fetched]) -> Fetched:
    """Run `exchange` in a helper thread and stop waiting for it once the run must stop.

    A blocking read cannot be cancelled from another thread, and a server that never
    answers holds it for read_timeout (minutes); the stopped run is ending, so the request
    is abandoned to its daemon thread. Raises Interrupted, or what `exchange` raised.
    """
    outcome: list[Fetched] = []
    failure: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(exchange())
        except BaseException as exc:  # handed to the waiting thread, which raises it
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, daemon=True, name="oai-request").start()
    while not done.wait(POLL_SECONDS):
        stop.check()
    if failure:
        raise failure[0]
    return outcome[0]


# What the operating system said, in words an operator reads in a cron mail.
_ERRNO_CAUSES = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "connection timed out",
}


def connection_problem(exc: requests.RequestException) -> str:
    """A short cause for a failed connection or a timeout, from the exception types and the
    operating system's error number (urllib3's text runs to several hundred characters)."""
    if isinstance(exc, requests.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.ReadTimeout):
        return "no answer within the read timeout"
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return "host name not found"
        if isinstance(current, OSError) and current.errno in _ERRNO_CAUSES:
            return _ERRNO_CAUSES[current.errno]
        for linked in (current.__cause__, current.__context__, getattr(current, "reason", None)):
            if isinstance(linked, BaseException):
                pending.append(linked)
        pending.extend(a for a in current.args if isinstance(a, BaseException))
    return "connection failed" if isinstance(exc, requests.ConnectionError) else "timed out"


def describe(params: Mapping[str, Any]) -> str:
    """A short form of the request for log lines (the token shortened)."""
    parts = []
    for key, value in params.items():
        text = str(value)
        parts.append(f"{key}={text[:24]}…" if len(text) > 24 else f"{key}={text}")
    return "&".join(parts)
