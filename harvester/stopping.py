"""When one source's run must stop early: the harvest was interrupted (SIGINT, SIGTERM), or
the run's time cap has passed. Every wait of the run (a request in flight, a retry or
politeness wait, the page process's next page) asks the same RunStop. And when a list
that keeps sending tokens must be given up (ListGuards)."""

from __future__ import annotations

import threading
import time

from harvester.errors import Interrupted
from harvester.settings import HarvesterSettings

# How often a wait that cannot be woken checks whether the run must stop.
POLL_SECONDS = 0.1


class RunStop:
    """The interrupt shared by a harvest's runs, and one run's deadline."""

    def __init__(self, interrupt: threading.Event | None = None, time_cap: int = 0) -> None:
        self.interrupt = interrupt
        self.time_cap = time_cap
        self.deadline: float | None = None  # monotonic; set when the run starts

    def start(self) -> None:
        """The run starts now: its time cap counts from here."""
        self.deadline = time.monotonic() + self.time_cap if self.time_cap > 0 else None

    def reason(self) -> str | None:
        """Why the run must stop now, or None."""
        if self.interrupt is not None and self.interrupt.is_set():
            return "interrupted"
        if self.deadline is not None and time.monotonic() > self.deadline:
            return f"run time cap of {self.time_cap} s reached"
        return None

    def check(self) -> None:
        """Raise Interrupted when the run must stop."""
        reason = self.reason()
        if reason is not None:
            raise Interrupted(reason)

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`, raising Interrupted as soon as the run must stop."""
        end = time.monotonic() + seconds
        while True:
            self.check()
            left = end - time.monotonic()
            if left <= 0:
                return
            if self.deadline is not None:
                left = min(left, max(0.0, self.deadline - time.monotonic()) + 0.01)
            if self.interrupt is not None:
                self.interrupt.wait(left)
            else:
                time.sleep(left)


class ListGuards:
    """When a list that keeps sending tokens must be given up: a token sent twice, too many
    empty pages in a row, the page cap."""

    def __init__(self, settings: HarvesterSettings) -> None:
        self.settings = settings
        self.seen_tokens: set[str] = set()
        self.empty_in_row = 0

    def reason_to_stop(self, token: str, empty: bool, pages: int) -> str | None:
        """Why the walk must stop after a page that carries `token` (`empty`: it had
        nothing in it; `pages`: of the list so far), or None."""
        self.empty_in_row = self.empty_in_row + 1 if empty else 0
        if token in self.seen_tokens:
            return f"the server sent the token {token[:40]!r} twice"
        if self.empty_in_row >= self.settings.empty_page_limit:
            return f"{self.empty_in_row} empty pages in a row still carrying tokens"
        if pages >= self.settings.page_cap:
            return f"page cap of {self.settings.page_cap} reached"
        self.seen_tokens.add(token)
        return None
