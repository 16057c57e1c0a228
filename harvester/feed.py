"""Pages fetched, parsed and prepared for writing: in this process, or in a second one.

The run loop (harvester.run) takes pages from a feed and decides what to do with each; a
feed only follows resumption tokens. ProcessFeed does the fetching, parsing, field
extraction and rendering in a child process while this one writes to SQLite, so the two
halves of a harvest use both cores (threads would not: extraction holds the GIL).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import logging
import multiprocessing
import os
import queue
import signal
import statistics
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from harvester.client import Client, Fetched
from harvester.errors import FetchError, HarvestError, Interrupted, MalformedResponse
from harvester.memory import collect_rarely, peak_rss_kib
from harvester.pages import Page, Unread, parse_large, parse_unread
from harvester.settings import HarvesterSettings
from harvester.stopping import RunStop
from oaiformat.datestamps import format_utc
from store.records import SourceInfo
from store.writes import PreparedRecord, prepare_record

if TYPE_CHECKING:
    from harvester.persist import PageWork

logger = logging.getLogger(__name__)

# Pages the child may run ahead of the writer, bounded for memory (prepared pages of 100
# records are ~0.5 MB): enough to hide a fetch, and to give the writer time between pages
# (Feed.slack) to bring the works up to date without keeping the fetching waiting.
PAGES_AHEAD = 10
# Intervals between pages the walk's pace is measured over.
PACE_PAGES = 9
# The writer has time to spare only while the page process mostly waits for the server:
# at least this share of the interval between pages (it waits ~55% against a server
# taking 100 ms a page, never against a static one).
WAITING_SHARE = 0.25
# The page work (deriving a page's records for the works) is done in the page process only
# for a page it waited this long for. Against a static server pages are there at once
# (fetched ahead), and the work made both processes slower: a 20k harvest with the work
# on every page the writer kept up with, 8.03-8.29 s whole (page loop 5.0-5.3 s); only on
# pages waited for, 6.78-7.19 s (page loop 3.0-3.5 s), the works update after the list
# deriving the rest in its worker processes. The parts of a large body after its first are
# never waited for (they are read from the spooled file), so they are left to the writer's
# refreshes between pages and the update after the list: deriving them here would hold up
# the next request, which goes out once the body's last part is taken.
WORK_AFTER_WAIT_S = 0.005
# Seconds a stopped walk may take to wind down before the child process is ended.
FINISH_GRACE_SECONDS = 30.0
_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class FedPage:
    """One page as a feed delivers it: `prepared` holds its records (page.records is
    emptied when the page comes from another process, to spare the pickling)."""

    url: str
    params: dict[str, str]
    page: Page
    prepared: list[PreparedRecord]
    bytes: int
    retries: int
    # False for a part of a large page: its records are written, the checkpoint stays.
    final: bool = True
    # Records of the same page sent in parts before this one, by the same fetch (a page
    # fetched again after a break starts again from 0).
    records_before: int = 0
    # What the page work prepared for the records (harvester.persist.PageWork), if any.
    work_prepared: Any = None
    # When the page had come (time.monotonic(), one clock for every process here): the
    # pace of the server, whatever the writer does.
    fetched_at: float = 0.0
    # Seconds the page process waited for the page once ready to read it: the share of
    # its time it spends waiting for the server, not working.
    waited: float = 0.0


class Feed(Protocol):
    """Follows a list's resumption tokens, one page at a time."""

    # Retries the feed's own HTTP client made (0 when it shares the caller's).
    retries: int
    # The peak resident memory of the feed's own process as of its last walk, in KiB (0
    # when it runs in the caller's process).
    peak_rss_kib: int

    def start(self, params: Mapping[str, str], source: SourceInfo) -> None:
        """Begin a walk with the request `params`, its records read as `source`'s."""

    def next(self) -> FedPage:
        """The next page of the walk. Raises HarvestError when it cannot be had."""

    def finish_walk(self) -> None:
        """End the walk (pages fetched ahead are dropped); call before the next start."""

    def slack(self) -> float:
        """Seconds the writer may spend before it would hold the walk up: 0 when a page is
        waiting to be written or nothing runs ahead."""

    def close(self) -> None:
        """Release the feed's resources."""


# Pages (or parts) the fetching thread holds ready for the reading one. One hides a fetch
# while a page is read; the reader takes the next at once after handing a page to the
# writer unread, and three kept it supplied: a 100k harvest from a static server 11.87 /
# 12.30 s -> 11.18 / 11.25 s (page loop, one ahead / three).
FETCHED_AHEAD = 3
# Records per part of a page read from a spooled (large) body.
PART_RECORDS = 1000


def fetch_page(
    client: Client, params: Mapping[str, str], settings: HarvesterSettings, source: str
) -> Iterator[tuple[str, Unread, int, bool, int]]:
    """Fetch and parse one page, fetching again what cannot be used.

    Yields (url, page, bytes received in all attempts, final, records of the page in the
    parts before it): one final page, its records left unread, or for a body spooled to
    disk, parts of PART_RECORDS records read and then the final part (bytes are counted on
    the final one). Raises FetchError, or MalformedResponse when every attempt was
    unreadable.
    """
    received = 0
    unreadable: tuple[int, str] | None = None  # the last large body's size and its error
    for attempt in range(1, settings.max_attempts + 1):
        fetched = client.fetch(params, spool=True)
        received += fetched.size
        before = 0
        try:
            for page, final in _pages(fetched, source):
                if page.verb == "ListIdentifiers":
                    # Headers without metadata would overwrite stored records with empty
                    # ones (mit-oai-pmh-harvester__get-identifiers__i0.xml answers so).
                    raise _WrongVerb
                yield fetched.url, page, received if final else 0, final, before
                if not final:  # a part of a large body: read already
                    before += len(page.read().records)
            return
        except MalformedResponse as exc:
            if attempt == settings.max_attempts:
                raise MalformedResponse(f"{fetched.url}: {exc}") from exc
            if fetched.spool is not None:
                # A large body broken the same way twice is broken for good: reading it a
                # third time would cost as much again for nothing.
                if unreadable == (fetched.size, str(exc)):
                    raise MalformedResponse(
                        f"{fetched.url}: {exc}; the same {fetched.size}-byte answer twice in"
                        " a row, not fetched again"
                    ) from exc
                unreadable = (fetched.size, str(exc))
            reason = f"unreadable page ({exc})"
        except _WrongVerb:
            if attempt == settings.max_attempts:
                raise MalformedResponse(
                    f"{fetched.url}: answered ListIdentifiers to ListRecords"
                ) from None
            reason = "the server answered ListIdentifiers to ListRecords"
        finally:
            fetched.close()
        client.retry_page(reason)
    raise MalformedResponse("unreachable")  # the loop returns or raises


class _WrongVerb(Exception):
    """The page answers ListIdentifiers to a ListRecords request."""


def _pages(fetched: Fetched, source: str) -> Iterator[tuple[Unread, bool]]:
    if fetched.spool is None:
        yield parse_unread(fetched.body, source), True
    else:
        for part, final in parse_large(fetched.spool, source, PART_RECORDS):
            yield Unread.of(part), final


def prepare_page(
    page: Page, source: SourceInfo, repository_identifier: str, now: str
) -> list[PreparedRecord]:
    """Every record of the page (parsed as `source`'s) prepared and rendered for writing."""
    harvest_date = page.response_date or now
    return [
        prepare_record(
            record,
            repository_identifier=repository_identifier,
            source=source,
            harvest_date=harvest_date,
            render_now=True,
        )
        for record in page.records
    ]


class _Fetched(NamedTuple):
    """One page (or part) as a walk yields it, its records unread."""

    url: str
    params: dict[str, str]
    page: Unread
    received: int  # bytes received, in every attempt
    final: bool
    before: int  # records of the same page in the parts before this one
    fetched_at: float  # when it had come (time.monotonic())


def _fed(
    fetched: _Fetched,
    retries: int,
    source: SourceInfo,
    repository_identifier: str,
    work: PageWork | None,
    waited: float = 0.0,
) -> FedPage:
    """A fetched page (or part) read and prepared for writing, with `work`'s share done
    when given."""
    page = fetched.page.read()
    prepared = prepare_page(page, source, repository_identifier, format_utc(datetime.now(UTC)))
    return FedPage(
        fetched.url,
        fetched.params,
        page,
        prepared,
        fetched.received,
        retries,
        fetched.final,
        fetched.before,
        work.prepare(prepared) if work is not None else None,
        fetched.fetched_at,
        waited,
    )


def _next_params(page: Unread) -> dict[str, str] | None:
    if page.error_code or not page.token:
        return None
    return {"verb": "ListRecords", "resumptionToken": page.token}


class InlineFeed:
    """Fetches each page when it is asked for, in this process."""

    def __init__(
        self,
        client: Client,
        settings: HarvesterSettings,
        repository_identifier: str,
        work: PageWork | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.repository_identifier = repository_identifier
        self.work = work
        # The walk under way: whose records, and its pages.
        self._walk: tuple[SourceInfo, Iterator[_Fetched]] | None = None
        self.retries = 0  # counted by the caller's client
        self.peak_rss_kib = 0  # the caller's own

    def start(self, params: Mapping[str, str], source: SourceInfo) -> None:
        """Begin a walk with the request `params`, its records read as `source`'s."""
        stop = threading.Event()  # never set: the caller stops between pages
        self._walk = (
            source,
            _list_pages(self.client, dict(params), self.settings, source.name, stop),
        )

    def next(self) -> FedPage:
        """Fetch, parse and prepare the next page (or part of a large page)."""
        if self._walk is None:
            raise HarvestError("the walk has ended")
        source, pages = self._walk
        fetched = next(pages, None)
        if fetched is None:
            raise HarvestError("the walk has ended")
        return _fed(fetched, self.client.retries, source, self.repository_identifier, self.work)

    def finish_walk(self) -> None:
        """Forget the walk."""
        self._walk = None

    def slack(self) -> float:
        """0: nothing runs ahead, so time spent between pages delays the next fetch."""
        return 0.0

    def close(self) -> None:
        """Nothing to release: the client belongs to the caller."""


@dataclass(frozen=True)
class _PageReady:
    """Child to parent: the next page, prepared."""

    fed: FedPage

    @property
    def retries(self) -> int:
        return self.fed.retries


@dataclass(frozen=True)
class _Unread:
    """Child to parent: the next page, fetched and parsed but not read: the parent reads
    and prepares it (the child was busier)."""

    url: str
    params: dict[str, str]
    body: bytes
    received: int
    fetched_at: float
    waited: float
    retries: int


@dataclass(frozen=True)
class _Idle:
    """Child to parent: the walk has stopped; the child waits for the next command."""

    retries: int
    peak_rss_kib: int


@dataclass(frozen=True)
class _Failed:
    """Child to parent: the walk failed; `kind` is malformed, fetch or unexpected."""

    kind: str
    text: str
    retries: int


_Message = _PageReady | _Unread | _Idle | _Failed


class _Stopped(Exception):
    """The parent asked the walk to stop while the child was waiting to retry."""


def _orphaned(parent: int) -> None:
    """Leave at once when the parent is gone (kill -9): nobody reads what this would send,
    and waiting for the queue's feeder thread to flush would hang the child for ever."""
    if os.getppid() != parent:
        os._exit(0)


def _send(results: Any, message: _Message, parent: int) -> None:
    """Put a message for the parent (exits the process once the parent is gone)."""
    while True:
        try:
            results.put(message, timeout=_POLL_SECONDS)
            return
        except queue.Full:
            _orphaned(parent)


def _worker(
    commands: Any,
    results: Any,
    stop: Any,
    base_url: str,
    settings: HarvesterSettings,
    repository_identifier: str,
    log_level: int,
    parent: int,
    work: PageWork | None,
    writer_waits: Any,
) -> None:
    """The child process: walk lists on command, sending each prepared page."""
    # Ctrl-C reaches the whole process group: the parent decides, and ends this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    results.cancel_join_thread()  # never block the child's exit on an unread queue
    # The thread fetching ahead gets the GIL back soon after its socket has data, rather
    # than after the 5 ms default, while this one prepares the last page.
    sys.setswitchinterval(0.0005)
    collect_rarely()  # as its parent does (spawned, it does not inherit that)

    def sleep(seconds: float) -> None:
        # A retry wait (Retry-After may ask for an hour) ends as soon as the walk is stopped.
        if stop.wait(seconds):
            raise _Stopped
        _orphaned(parent)

    client = Client(base_url, settings, sleep=sleep)
    try:
        while True:
            try:
                command = commands.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                _orphaned(parent)
                continue
            if command[0] != "walk":
                break
            _, params, source, retry_budget = command
            # One retry budget per source and run, shared with the parent: what it left.
            client.budget_left = retry_budget
            walk = _Walk(
                client, results, stop, settings, source, repository_identifier, work, writer_waits
            )
            walk.run(params, parent)
            _send(results, _Idle(client.retries, peak_rss_kib()), parent)
    finally:
        client.close()
    # Told to quit: leave without the interpreter's teardown, which frees every object the
    # walk left behind (caches of names, interned strings) and kept the parent's close()
    # waiting ~0.1-0.3 s for nothing. Nothing is left to flush but the log.
    logging.shutdown()
    sys.stderr.flush()
    os._exit(0)


@dataclass(frozen=True)
class _Walk:
    """What the child walks a list with."""

    client: Client
    results: Any
    stop: Any
    settings: HarvesterSettings
    source: SourceInfo
    repository_identifier: str
    work: PageWork | None
    # The parent's flag: 1 while the writer waits for a page (multiprocessing RawValue).
    writer_waits: Any

    def run(self, params: dict[str, str] | None, parent: int) -> None:
        """Send the list's pages from `params` on, until it ends, fails or is stopped.

        Two threads of their own: one fetches, one reads and prepares the pages (at a
        lower priority, made here so that threads of later walks do not inherit it).
        """
        pages = _Ahead(_list_pages(self.client, params, self.settings, self.source.name, self.stop))
        reader = threading.Thread(target=self._read, args=(pages, parent), name="page-reader")
        reader.start()
        reader.join()

    def _read(self, pages: _Ahead, parent: int) -> None:
        """Read, prepare and send each page the fetching thread has."""
        _lower_priority()
        client, results, writer_waits = self.client, self.results, self.writer_waits
        try:
            for fetched in pages:
                body = fetched.page.body
                if body is not None and pages.waited < WORK_AFTER_WAIT_S and writer_waits.value:
                    # The page was there at once and the writer waits for one: it reads
                    # this one (and the next ones, until the flag falls when it has one).
                    # Against a server that has every page at once this process is the
                    # busier (reading and preparing a record costs more than writing it),
                    # and the two share the reading. Handed over in bursts so; clearing
                    # the flag here to make them alternate was slower (100k page loop,
                    # median of 4: 8.86 against 8.48 s).
                    unread = _Unread(
                        fetched.url,
                        fetched.params,
                        body,
                        fetched.received,
                        fetched.fetched_at,
                        pages.waited,
                        client.retries,
                    )
                    _send(results, unread, parent)
                    if self.stop.is_set():
                        return
                    continue
                # The page work only while it costs no wall time: this process waited for
                # the page (the server sets the pace) and the writer keeps up (nothing
                # waits to be sent). Otherwise it is left to the works update after the
                # list, which does it in worker processes and builds its indexes once.
                idle = pages.waited >= WORK_AFTER_WAIT_S and results.empty()
                work = self.work if idle else None
                fed = _fed(
                    fetched,
                    client.retries,
                    self.source,
                    self.repository_identifier,
                    work,
                    pages.waited,
                )
                # The records travel prepared; the parsed ones would only cost pickling.
                sent = dataclasses.replace(fed, page=dataclasses.replace(fed.page, records=[]))
                _send(results, _PageReady(sent), parent)
                if self.stop.is_set():
                    return
        except _Stopped:
            return
        except HarvestError as exc:
            kind = "malformed" if isinstance(exc, MalformedResponse) else "fetch"
            _send(results, _Failed(kind, str(exc), client.retries), parent)
        except Exception as exc:  # a bug: the parent records a failed run
            text = f"unexpected {type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            _send(results, _Failed("unexpected", text, client.retries), parent)
        finally:
            pages.close()


# How much lower the thread reading and preparing pages runs than the one fetching them.
READER_NICENESS = 10


def _lower_priority() -> None:
    """Lower this thread's priority (Linux: niceness is per thread), so that the thread
    fetching pages (and, on this machine, anything else waiting for the CPU, such as a local
    server) is run as soon as its answer comes, not after the reader's time slice:
    measured against a server 100 ms a page, a 20k harvest's page loop 21.66 -> 21.23 s."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), READER_NICENESS)


def _list_pages(
    client: Client,
    params: dict[str, str] | None,
    settings: HarvesterSettings,
    source: str,
    stop: Any,
) -> Iterator[_Fetched]:
    """A list's pages (and parts of large pages) from `params` on, fetched and parsed (the
    records left unread), as _Fetched tuples, until the list ends, a token repeats (the
    parent ends the list) or the walk is stopped."""
    seen: set[str] = set()
    while params is not None and not stop.is_set():
        page = None
        for url, page, received, final, before in fetch_page(client, params, settings, source):
            yield _Fetched(url, params, page, received, final, before, time.monotonic())
        if page is None:
            raise HarvestError("a page ended without its final part")
        params = _next_params(page)
        if params is not None and page.token in seen:
            params = None
        seen.add(page.token or "")


class _Ahead:
    """An iterator run up to FETCHED_AHEAD items ahead in a thread: the next pages are
    fetched and parsed as XML (the thread mostly waits on the server, without the GIL)
    while this thread reads and prepares the last one: the next request goes out one XML
    parse after a page has come, not one page's reading and preparing. Exceptions reach
    the consumer in order; close() ends the thread."""

    _END = object()

    def __init__(self, items: Iterator[Any]) -> None:
        self._items = items
        self._queue: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(
            maxsize=FETCHED_AHEAD
        )
        self._closed = threading.Event()
        # Seconds the consumer waited for the item it was given last.
        self.waited = 0.0
        self._thread = threading.Thread(target=self._produce, daemon=True, name="page-ahead")
        self._thread.start()

    def _put(self, entry: tuple[Any, BaseException | None]) -> bool:
        while not self._closed.is_set():
            try:
                self._queue.put(entry, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for item in self._items:
                if not self._put((item, None)) or self._closed.is_set():
                    return
        except BaseException as exc:
            self._put((None, exc))
            return
        self._put((self._END, None))

    def __iter__(self) -> Iterator[Any]:
        while True:
            asked = time.monotonic()
            item, error = self._queue.get()
            self.waited = time.monotonic() - asked
            if error is not None:
                raise error
            if item is self._END:
                return
            yield item

    def close(self) -> None:
        """Stop producing and wait for the thread (a request in flight ends by its own
        timeouts, or the parent ends this process)."""
        self._closed.set()
        # A put waiting for room returns now, not at its next poll a second later.
        with contextlib.suppress(queue.Empty):
            self._queue.get_nowait()
        self._thread.join()


class ProcessFeed:
    """Fetches, parses and prepares pages in a child process, up to PAGES_AHEAD ahead.

    The child starts when the feed is made (~0.25 s of imports): make it before asking
    Identify, so the start overlaps the requests before the list.
    """

    def __init__(
        self,
        base_url: str,
        settings: HarvesterSettings,
        repository_identifier: str,
        client: Client,
        stop: RunStop | None = None,
        work: PageWork | None = None,
        share_reading: bool = True,
    ) -> None:
        # When the run must stop (a signal, its time cap), the walk ends at once (the child
        # is ended), not at the next page.
        self.stop = stop
        # spawn, not fork: the parent may run other harvests in threads.
        context = multiprocessing.get_context("spawn")
        self._commands = context.Queue()
        self._results = context.Queue(maxsize=PAGES_AHEAD)
        self._stop = context.Event()
        # 1 while the writer waits for the next page (written by this process only), and
        # only when it may read pages itself (`share_reading`: not while other sources'
        # harvests share this process, whose time then goes to all of them).
        self._writer_waits = context.RawValue("b", 0)
        self._share_reading = share_reading
        self._walking = False
        # The walk's source and the repository's identifier: what a page the child hands
        # over unread is read and prepared with here.
        self._source: SourceInfo | None = None
        self._repository_identifier = repository_identifier
        self.peak_rss_kib = 0
        self.retries = 0
        # When the last pages came from the server: the pace the walk goes at.
        self._arrivals: collections.deque[float] = collections.deque(maxlen=PACE_PAGES + 1)
        self._waits: collections.deque[float] = collections.deque(maxlen=PACE_PAGES)
        # Of the last pages, those the child handed over unread (it had them at once).
        self._handed: collections.deque[bool] = collections.deque(maxlen=PACE_PAGES)
        self._process = context.Process(
            target=_worker,
            args=(
                self._commands,
                self._results,
                self._stop,
                base_url,
                settings,
                repository_identifier,
                logging.getLogger().getEffectiveLevel(),
                os.getpid(),
                work,
                self._writer_waits,
            ),
            daemon=True,
            name="oai-harvest-feed",
        )
        # The parent's client: the child takes over what is left of its retry budget.
        self._client = client
        self._process.start()

    def start(self, params: Mapping[str, str], source: SourceInfo) -> None:
        """Begin a walk with the request `params`, its records read as `source`'s."""
        self.finish_walk()
        self._stop.clear()
        self._source = source
        self._commands.put(("walk", dict(params), source, self._client.budget_left))
        self._walking = True

    def _receive(self, deadline: float | None = None) -> _Message:
        while True:
            try:
                message: _Message = self._results.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                reason = None if self.stop is None else self.stop.reason()
                if reason is not None:
                    self._walking = False
                    self._process.terminate()
                    raise Interrupted(reason) from None
                if not self._process.is_alive():
                    self._walking = False
                    raise FetchError("the page-fetching process died") from None
                if deadline is not None and time.monotonic() > deadline:
                    self._process.terminate()
                    self._walking = False
                    raise FetchError("the page-fetching process did not stop; ended it") from None
                continue
            self.retries = message.retries
            if isinstance(message, _Idle):
                self.peak_rss_kib = max(self.peak_rss_kib, message.peak_rss_kib)
            return message

    def next(self) -> FedPage:
        """The next page the child prepared. Raises HarvestError as the child reports."""
        if not self._walking:
            raise HarvestError("the walk has ended")
        self._writer_waits.value = int(self._share_reading)
        try:
            message = self._receive()
        finally:
            self._writer_waits.value = 0
        if isinstance(message, _PageReady):
            self._note_pace(message.fed.fetched_at, message.fed.waited, handed=False)
            return message.fed
        if isinstance(message, _Unread):
            self._note_pace(message.fetched_at, message.waited, handed=True)
            return self._read_here(message)
        self._walking = False
        if isinstance(message, _Idle):
            raise HarvestError("the walk ended before the list did")
        self._receive_idle()
        if message.kind == "malformed":
            raise MalformedResponse(message.text)
        if message.kind == "unexpected":
            logger.error("%s", message.text)
            raise HarvestError(message.text.splitlines()[0])
        raise FetchError(message.text)

    def _note_pace(self, fetched_at: float, waited: float, *, handed: bool) -> None:
        """Keep what slack() judges the walk's pace by, for a page taken."""
        self._arrivals.append(fetched_at)
        self._waits.append(waited)
        self._handed.append(handed)

    def _read_here(self, message: _Unread) -> FedPage:
        """A page the child handed over unread, read and prepared in this process (its
        bytes parsed again: the child parsed them once without error)."""
        if self._source is None:
            raise HarvestError("a page came outside a walk")
        source = self._source
        page = parse_unread(message.body, source.name)
        fetched = _Fetched(
            message.url, message.params, page, message.received, True, 0, message.fetched_at
        )
        return _fed(
            fetched, message.retries, source, self._repository_identifier, None, message.waited
        )

    def _receive_idle(self) -> None:
        # The child stops between requests, or in a retry wait; a request in flight can take
        # up to the response deadline, and then the child is ended.
        deadline = time.monotonic() + FINISH_GRACE_SECONDS
        while not isinstance(self._receive(deadline), _Idle):
            pass

    def slack(self) -> float:
        """0 when a page is ready; else the time the child can go on fetching before it
        waits for the writer: PAGES_AHEAD times the median interval between the last pages
        as they came from the server (not as they reached the writer: pages the child held
        while the writer was busy reach it in a burst)."""
        if not self._walking or len(self._arrivals) < 3 or not self._results.empty():
            return 0.0
        times = list(self._arrivals)
        interval = statistics.median(b - a for a, b in itertools.pairwise(times))
        if statistics.median(self._waits) < WAITING_SHARE * interval or any(self._handed):
            # The page process works most of the time (a fast server): time the writer
            # spends between pages would be taken from it, on a machine of two cores. A
            # page handed over says so too: the child had it at once, and once it has
            # handed a few it waits for the fetching, not for the server.
            return 0.0
        return PAGES_AHEAD * interval

    def finish_walk(self) -> None:
        """Stop the child's walk and drop what it fetched ahead."""
        self._arrivals.clear()
        self._waits.clear()
        self._handed.clear()
        if not self._walking:
            return
        self._stop.set()
        self._receive_idle()
        self._walking = False

    def close(self) -> None:
        """Stop the child process."""
        with contextlib.suppress(HarvestError):
            self.finish_walk()
        self._commands.put(("quit",))
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)
        self._commands.close()
        self._results.close()
