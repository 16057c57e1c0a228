"""A scripted HTTP server on 127.0.0.1 that misbehaves on cue, for the harvester's tests.

Each request takes the next action of a script the test writes (or an action chosen by a
route function): answer with a status, headers and body; close the connection without an
answer; send part of a body under a larger Content-Length; stall longer than the client's
read timeout; or stream bytes until the client hangs up. Identify and ListSets are answered
from fixed bodies (ListSets: noSetHierarchy, unless the test gives another) so scripts only
list the ListRecords requests. Every action is bounded in bytes and time, and
the server joins its handler threads when it stops.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from urllib.parse import parse_qsl, urlsplit

from tests.harvester import bodies

# Safety bounds: no action of this server runs longer or sends more than this.
MAX_ACTION_SECONDS = 10.0
MAX_STREAM_BYTES = 160 * 1024 * 1024
XML = "text/xml; charset=utf-8"


@dataclass(frozen=True)
class Reply:
    """Answer with this status, body and headers (Content-Length is added)."""

    body: bytes
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = XML


@dataclass(frozen=True)
class Drop:
    """Close the connection without sending a byte."""


@dataclass(frozen=True)
class Truncate:
    """Announce the whole body in Content-Length, send only its first `sent` bytes, close."""

    body: bytes
    sent: int


@dataclass(frozen=True)
class Stall:
    """Wait `seconds` (longer than the client's read timeout) before sending the reply."""

    seconds: float
    then: Reply


@dataclass(frozen=True)
class Endless:
    """Send 200 and then `chunk` again and again until the client disconnects."""

    chunk: bytes = b"<x>" + b"a" * 8189 + b"</x>"
    headers: tuple[tuple[str, str], ...] = ()
    # Seconds between chunks: a trickle, each read well inside the client's read timeout.
    pause: float = 0.0


@dataclass(frozen=True)
class Stream:
    """Send `head`, `unit` `count` times and `tail`, without Content-Length: chunked, or
    ended by closing the connection. With `complete` False a chunked body ends without its
    last chunk (the connection drops, as mid-record when `tail` is half a record)."""

    head: bytes
    unit: bytes
    count: int
    tail: bytes = b""
    chunked: bool = True
    complete: bool = True

    @property
    def size(self) -> int:
        """The body's length in bytes."""
        return len(self.head) + len(self.unit) * self.count + len(self.tail)


Action = Reply | Drop | Truncate | Stall | Endless | Stream


@dataclass(frozen=True)
class Request:
    """One request the server received."""

    path: str
    params: dict[str, str]

    @property
    def verb(self) -> str | None:
        """The verb argument, if any."""
        return self.params.get("verb")


Route = Callable[[Request], Action]
EXHAUSTED = Reply(b"fault server: script exhausted", status=599, content_type="text/plain")


@dataclass
class FaultServer:
    """The running server: its URL, the script still to play and the requests seen."""

    url: str
    identify: bytes | None
    route: Route | None = None
    list_sets: bytes = field(default_factory=lambda: bodies.error("noSetHierarchy"))
    script: deque[Action] = field(default_factory=deque)
    requests: list[Request] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def play(self, *actions: Action) -> None:
        """Append actions to the script; each non-Identify request takes the next one."""
        with self._lock:
            self.script.extend(actions)

    def list_requests(self) -> list[Request]:
        """The requests other than Identify and ListSets, in order."""
        with self._lock:
            return [r for r in self.requests if r.verb not in ("Identify", "ListSets")]

    def next_action(self, request: Request) -> Action:
        """Record the request and return what to do with it."""
        with self._lock:
            self.requests.append(request)
            if self.route is not None:
                return self.route(request)
            if request.verb == "Identify" and self.identify is not None:
                return Reply(self.identify)
            if request.verb == "ListSets":
                return Reply(self.list_sets)
            # 599 is retried by nobody: a test that under-scripts fails loudly, not in a loop.
            return self.script.popleft() if self.script else EXHAUSTED


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so every handler thread ends with its answer.
    protocol_version = "HTTP/1.0"
    timeout = MAX_ACTION_SECONDS
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        request = Request(parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)))
        fault = self.server.fault
        try:
            action = fault.next_action(request)
        except Exception as exc:  # a broken route: answered, kept for the test to fail on
            fault.failures.append(f"{request}: {exc!r}")
            action = EXHAUSTED
        # The client hanging up first is what several actions provoke.
        with contextlib.suppress(OSError):
            self._perform(action, fault)

    def _reply(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _perform(self, action: Action, fault: FaultServer) -> None:
        if isinstance(action, Reply):
            self._reply(action)
        elif isinstance(action, Drop):
            self.close_connection = True  # nothing written: the client sees the socket close
        elif isinstance(action, Truncate):
            self.send_response(200)
            self.send_header("Content-Type", XML)
            self.send_header("Content-Length", str(len(action.body)))
            self.end_headers()
            self.wfile.write(action.body[: action.sent])
            self.wfile.flush()
            self.close_connection = True
        elif isinstance(action, Stall):
            if fault.stopping.wait(min(action.seconds, MAX_ACTION_SECONDS)):
                return
            self._reply(action.then)
        elif isinstance(action, Stream):
            self._stream_body(action, fault)
        else:
            self._stream(action, fault)

    def _stream_body(self, action: Stream, fault: FaultServer) -> None:
        if action.size > MAX_STREAM_BYTES:
            raise ValueError(f"a Stream of {action.size} bytes is over the server's bound")
        self.send_response(200)
        self.send_header("Content-Type", XML)
        if action.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.connection.settimeout(2.0)

        def send(data: bytes) -> None:
            if action.chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)

        send(action.head)
        batch = max(1, 256 * 1024 // max(1, len(action.unit)))
        left = action.count
        while left > 0 and not fault.stopping.is_set():
            send(action.unit * min(batch, left))
            left -= batch
        if action.tail:
            send(action.tail)
        if action.chunked and action.complete:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True

    def _stream(self, action: Endless, fault: FaultServer) -> None:
        self.send_response(200)
        self.send_header("Content-Type", XML)
        for name, value in action.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(b'<?xml version="1.0"?><OAI-PMH>')
        self.connection.settimeout(2.0)
        sent = 0
        while sent < MAX_STREAM_BYTES and not fault.stopping.is_set():
            self.wfile.write(action.chunk)  # raises once the client has closed
            sent += len(action.chunk)
            if action.pause:
                self.wfile.flush()
                if fault.stopping.wait(action.pause):
                    break


class _Server(ThreadingMixIn, HTTPServer):
    # Non-daemon handler threads, joined by server_close(): no thread outlives a test.
    daemon_threads = False
    block_on_close = True

    def __init__(self, fault_factory: Callable[[str], FaultServer]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fault = fault_factory(f"http://127.0.0.1:{self.server_port}/oai")


@contextlib.contextmanager
def running(identify: bytes | None = None, route: Route | None = None) -> Iterator[FaultServer]:
    """Run a fault server on 127.0.0.1:0 in a thread; stop it and join its threads after.

    `identify` answers every Identify request; `route`, when given, decides every answer.
    """
    server = _Server(lambda url: FaultServer(url, identify, route))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.fault
    finally:
        server.fault.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=MAX_ACTION_SECONDS)
