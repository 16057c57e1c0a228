"""Harvesting one source: Identify, resume point, page loop with stop guards, ListSets,
summary.

The resume point is derived from what is stored, never from memory: a live token (not past
its expirationDate) continues the list; an unfinished list whose token expired is
requested again with its original from/until; otherwise a new list starts from the
responseDate of the last completed one.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from harvester import persist
from harvester.client import Client, describe
from harvester.errors import HarvestError, Interrupted, RemoteOAIError
from harvester.feed import FedPage, Feed, InlineFeed
from harvester.granularity import in_granularity, next_from_date, until_in_granularity
from harvester.identify import IdentifyInfo, format_namespace, identify
from harvester.memory import peak_rss_kib
from harvester.persist import ListCheckpoint, RunCounts
from harvester.sets import harvest_sets
from harvester.settings import HarvesterSettings, SourceSettings
from harvester.stopping import ListGuards, RunStop
from oaiformat.datestamps import Clock, format_utc, normalise
from oaiformat.namespaces import NS_OAI_DC
from store.db import Store
from store.records import SourceInfo

logger = logging.getLogger(__name__)

# A list restarted this often in one run (errors answering its tokens) is given up.
MAX_LIST_RESTARTS = 3
# Runs in a row that failed on the same saved token before the list is asked again.
STUCK_TOKEN_RUNS = 2


@dataclass
class RunSummary:
    """What harvesting one source did."""

    source: str
    status: str = "completed"
    error: str | None = None
    counts: RunCounts = field(default_factory=RunCounts)
    seconds: float = 0.0
    complete_list_size: int | None = None
    records_seen: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    # The from/until the list was asked with (None: from the start / up to now).
    request_from: str | None = None
    request_until: str | None = None
    # How many sets the origin's ListSets gave (None: it did not complete in this run).
    sets: int | None = None
    # The larger of two peaks of resident memory, in KiB, by the end of the run (before the
    # works update after the harvest): this whole process's (other sources' runs included)
    # and the page process's as of its last finished walk (a walk cut short sends none).
    peak_rss_kib: int = 0


def _now(clock: Clock) -> str:
    return format_utc(clock())


def _token_live(checkpoint: ListCheckpoint, now: datetime) -> bool:
    if not checkpoint.token:
        return False
    if not checkpoint.token_expires:
        return True
    try:
        expires = datetime.fromisoformat(normalise(checkpoint.token_expires).replace("Z", "+00:00"))
    except ValueError:
        return True
    return expires > now


class SourceHarvest:
    """One run over one source."""

    def __init__(
        self,
        store: Store,
        source: SourceSettings,
        client: Client,
        settings: HarvesterSettings,
        *,
        repository_identifier: str,
        full: bool = False,
        until: str | None = None,
        clock: Clock,
        progress: Callable[[RunSummary], None] | None = None,
        feed_factory: Callable[[], Feed] | None = None,
        work: persist.PageWork | None = None,
        stop: RunStop | None = None,
    ) -> None:
        self.store = store
        self.source = source
        self.client = client
        self.settings = settings
        self.repository_identifier = repository_identifier
        self.full = full
        self.until = until
        self.clock = clock
        self.progress = progress
        # Pages come from a feed the factory makes (e.g. a ProcessFeed, made as the run
        # starts so that its process starts while Identify is asked), else are fetched here
        # with `client`, which also asks Identify.
        self.feed_factory = feed_factory
        self._made_feed: Feed | None = None
        # Done with each page: prepared by the feed (the factory's feeds are given it by
        # the caller), written in the page's transaction.
        self.work = work
        # When the run must stop (SIGINT/SIGTERM, its time cap): it ends after the page
        # being written, is recorded interrupted, and keeps its checkpoint.
        self.stop = stop or RunStop(time_cap=settings.run_time_cap)
        if client.stop is None:
            client.stop = self.stop  # Identify in flight is given up too
        # The namespace of a format other than oai_dc, from ListMetadataFormats (provenance).
        self.namespace = ""
        self.summary = RunSummary(source.name)

    @property
    def counts(self) -> RunCounts:
        """The run's counters."""
        return self.summary.counts

    def run(self) -> RunSummary:
        """Harvest the source; failures are recorded, logged and returned, not raised."""
        started = self.clock()
        self.summary.started_at = format_utc(started)
        self.stop.start()
        error: str | None = None
        run_id: int | None = None
        try:
            if self.feed_factory is not None:
                self._made_feed = self.feed_factory()
            # The source row exists before its first run (harvest_runs refers to it).
            persist.record_identify(self.store, self._source_info(), None, _now(self.clock))
            run_id = persist.begin_run(self.store, self.source.name, self.full, _now(self.clock))
            self._harvest(run_id)
            # The set names once the list has ended: the records are what a run is for, so
            # a run that fails or is stopped (a signal, its time cap) spends nothing on them.
            self.summary.sets = harvest_sets(
                self.store, self.source.name, self.client, self.settings, self.counts, self.stop
            )
        except Interrupted as exc:
            self.summary.status = "interrupted"
            if str(exc) != "interrupted":
                self.counts.warnings.append(f"{exc}; the next run resumes from its checkpoint")
            logger.info(
                "%s: interrupted; the next run resumes from the checkpoint", self.source.name
            )
        except HarvestError as exc:
            error = str(exc)
        except sqlite3.Error as exc:
            # Disk full, database locked past the busy timeout: the page's transaction was
            # rolled back whole, and the checkpoint still points at that page.
            error = f"the store refused the page: {exc}"
        except Exception as exc:  # a bug or an unforeseen input: still a failed run, not
            # one recorded as completed; the traceback goes to the log for a bug report
            logger.exception("%s: unexpected error", self.source.name)
            error = f"unexpected {type(exc).__name__}: {exc}"
        finally:
            if error is not None:
                self.summary.status = "failed"
                self.summary.error = error
                # The caller reports failures (`oai harvest`: one line per source on stderr).
                logger.info("%s: harvest failed: %s", self.source.name, error)
            # Retries the page process's own client made (an inline feed uses this one's).
            feed_retries = feed_peak = 0
            if self._made_feed is not None:
                self._made_feed.close()
                feed_retries = self._made_feed.retries
                feed_peak = self._made_feed.peak_rss_kib
            self.counts.retries = self.client.retries + feed_retries
            self.summary.peak_rss_kib = max(peak_rss_kib(), feed_peak)
            try:
                if run_id is not None:
                    persist.end_run(
                        self.store,
                        run_id,
                        self.source.name,
                        self.counts,
                        error,
                        _now(self.clock),
                        interrupted=self.summary.status == "interrupted",
                    )
            except sqlite3.Error as exc:  # the run row stays 'running': read as interrupted
                logger.warning("%s: could not record the run: %s", self.source.name, exc)
            finished = self.clock()
            self.summary.finished_at = format_utc(finished)
            self.summary.seconds = (finished - started).total_seconds()
        return self.summary

    def _source_info(self, repository_name: str | None = None) -> SourceInfo:
        prefix = self.source.metadata_prefix
        return SourceInfo(
            self.source.name,
            self.source.url,
            prefix,
            NS_OAI_DC if prefix == "oai_dc" else self.namespace,
            self.source.set_spec,
            repository_name,
        )

    def _harvest(self, run_id: int) -> None:
        info = identify(self.client, self.counts)
        if self.source.metadata_prefix != "oai_dc":
            self.namespace = format_namespace(self.client, self.source.metadata_prefix, self.counts)
        source = self._source_info(info.fields.get("repository_name"))
        persist.record_identify(self.store, source, info.fields, _now(self.clock))
        state = persist.load_state(self.store.conn, self.source.name)
        checkpoint = state.checkpoint
        if self.full or checkpoint is None:
            from_ = None if self.full else state.next_from or self.source.from_
            if from_:
                from_ = in_granularity(from_, info.granularity)
            until = until_in_granularity(self.until, info.granularity) if self.until else None
            full = from_ is None and until is None
            checkpoint = persist.start_list(
                self.store, self.source.name, from_, until, full, _now(self.clock)
            )
        elif checkpoint.pages and not checkpoint.token:
            # The last page was saved, then the run died before closing the list.
            self._note_request(run_id, checkpoint)
            self._finish(checkpoint, info, None)
            return
        else:
            restart = None
            if not _token_live(checkpoint, self.clock()):
                restart = "the saved token has expired"
            elif state.failures_in_row >= STUCK_TOKEN_RUNS:
                # A token that keeps failing (HTTP errors, unreadable answers) and never
                # expires would fail every run; ask the list again instead.
                restart = f"{state.failures_in_row} runs failed on the saved token"
            if restart:
                logger.warning("%s: %s; restarting the list", self.source.name, restart)
                checkpoint = persist.restart_list(
                    self.store, self.source.name, checkpoint, _now(self.clock)
                )
        self._note_request(run_id, checkpoint)
        self._walk(checkpoint, run_id, info)

    def _note_request(self, run_id: int, checkpoint: ListCheckpoint) -> None:
        """Keep the from/until the list is asked with (run history, --report-json)."""
        persist.note_request_from(self.store, run_id, checkpoint.from_)
        self.summary.request_from = checkpoint.from_
        self.summary.request_until = checkpoint.until

    def _params(self, checkpoint: ListCheckpoint) -> dict[str, str]:
        if checkpoint.token:
            return {"verb": "ListRecords", "resumptionToken": checkpoint.token}
        params = {"verb": "ListRecords", "metadataPrefix": self.source.metadata_prefix}
        if checkpoint.from_:
            params["from"] = checkpoint.from_
        if checkpoint.until:
            params["until"] = checkpoint.until
        if self.source.set_spec:
            params["set"] = self.source.set_spec
        return params

    def _walk(self, checkpoint: ListCheckpoint, run_id: int, info: IdentifyInfo) -> None:
        restarts = 0
        guards = ListGuards(self.settings)
        guard_warning: str | None = None
        source = self._source_info()
        feed = self._feed()
        try:
            feed.start(self._params(checkpoint), source)
            while True:
                self.stop.check()
                fed = feed.next()
                self.stop.check()  # a page fetched after the signal is not written
                page = fed.page
                self._note_page(fed)
                if not fed.final:
                    self._save(checkpoint, fed, run_id)
                    continue
                if page.error_code and checkpoint.token:
                    restarts += 1
                    checkpoint = self._restart(checkpoint, page.error_code, restarts)
                    guards.seen_tokens.clear()
                    feed.start(self._params(checkpoint), source)
                    continue
                if page.error_code and page.error_code != "noRecordsMatch":
                    raise RemoteOAIError(page.error_code, page.error_message)
                checkpoint = self._save(checkpoint, fed, run_id)
                written = len(fed.prepared) + fed.records_before
                if page.error_code:
                    logger.info("%s: noRecordsMatch: nothing new", self.source.name)
                    break
                self._log_page(checkpoint, fed, written)
                if not page.token:
                    break
                empty = not written and not page.quarantined
                guard_warning = guards.reason_to_stop(page.token, empty, checkpoint.pages)
                if guard_warning:
                    break
                self._between_pages(feed)
        finally:
            # The feed is closed when the run ends; a child that will not stop is ended
            # (and said) by finish_walk: that failure must not hide what ended the walk.
            with contextlib.suppress(HarvestError):
                feed.finish_walk()
        self._finish(checkpoint, info, guard_warning)

    def _feed(self) -> Feed:
        """The feed made as the run started, else one fetching pages in this process."""
        if self._made_feed is not None:
            return self._made_feed
        return InlineFeed(self.client, self.settings, self.repository_identifier, self.work)

    def _between_pages(self, feed: Feed) -> None:
        """The page work's share that waits for no page, done while the writer would only
        wait for the next one (a server taking its time), within the time the page process
        can run ahead: so it costs the harvest no wall time."""
        if self.work is not None and (slack := feed.slack()) > 0:
            self.work.idle(self.store, slack)

    def _restart(
        self, checkpoint: ListCheckpoint, error_code: str, restarts: int
    ) -> ListCheckpoint:
        """Any error to a token in mid-list (badResumptionToken, but also a noRecordsMatch or
        badArgument there) means: ask the whole list again (harvester guidelines §6.2);
        taking it as the end would let a --full list tombstone everything it had not
        reached. Lists have no order, so what is still missing is unknown: the whole list is
        requested again with its original from/until, and what is seen again is upserted."""
        if restarts > MAX_LIST_RESTARTS:
            raise RemoteOAIError(error_code, "the list was restarted too often")
        logger.warning("%s: %s mid-list; restarting the list", self.source.name, error_code)
        return persist.restart_list(self.store, self.source.name, checkpoint, _now(self.clock))

    def _log_page(self, checkpoint: ListCheckpoint, fed: FedPage, written: int) -> None:
        logger.info(
            "%s: page %d: %d records%s (%s)",
            self.source.name,
            checkpoint.pages,
            written,
            ", token" if fed.page.token else ", last page",
            describe(fed.params),
        )

    def _note_page(self, fed: FedPage) -> None:
        page = fed.page
        self.counts.bytes += fed.bytes
        if page.invalid_dc:
            self.counts.invalid_dc += len(page.invalid_dc)
            logger.warning(
                "%s: %d records with oai_dc that is not valid Simple DC, stored as they are"
                " (e.g. %s)",
                self.source.name,
                len(page.invalid_dc),
                page.invalid_dc[0],
            )
        if page.repaired:
            self.counts.warnings.append(f"page repaired: {page.repaired}")
            logger.warning("%s: page repaired: %s", self.source.name, page.repaired)

    def _save(self, checkpoint: ListCheckpoint, fed: FedPage, run_id: int) -> ListCheckpoint:
        """Write a page, or a part of a large page, and the checkpoint when it is the
        page's final part."""
        updated, counts = persist.save_page(
            self.store,
            source=self.source.name,
            page=fed.page,
            records=fed.prepared,
            checkpoint=checkpoint,
            run_id=run_id,
            url=fed.url,
            now=_now(self.clock),
            work=self.work,
            prepared=fed.work_prepared,
            final=fed.final,
            written_in_parts=fed.records_before,
        )
        self.counts.records.add(counts)
        self.counts.quarantined += len(fed.page.quarantined)
        for item in fed.page.quarantined:
            logger.warning("%s: record quarantined: %s", self.source.name, item.error)
        if not fed.final:
            return updated
        self.counts.pages += 1
        self.summary.records_seen = updated.records_seen
        self.summary.complete_list_size = updated.complete_list_size
        if self.progress is not None:
            self.progress(self.summary)
        return updated

    def _finish(
        self, checkpoint: ListCheckpoint, info: IdentifyInfo, guard_warning: str | None
    ) -> None:
        name = self.source.name
        warnings = self.counts.warnings
        if self.counts.invalid_dc:
            warnings.append(
                f"{self.counts.invalid_dc} records with oai_dc that is not valid Simple DC,"
                " stored as they are (published as valid oai_dc rebuilt from their fields)"
            )
        if guard_warning:
            warnings.append(f"list ended early: {guard_warning}; next run asks from the same date")
            logger.warning("%s: list ended early: %s", name, guard_warning)
        # A list resumed after a crash was partly walked by the killed run: what that run
        # quarantined is missing from the list just as much (else those records, absent from
        # this run's pages, would be tombstoned below).
        quarantined = max(self.counts.quarantined, persist.list_quarantined(self.store.conn, name))
        size = checkpoint.complete_list_size
        short = size is not None and checkpoint.records_seen + quarantined < size
        if short and size is not None:
            shortfall = size - checkpoint.records_seen
            warnings.append(f"completeListSize {size}, but {checkpoint.records_seen} delivered")
            logger.warning("%s: %d records fewer than completeListSize %d", name, shortfall, size)
        # Records a full list lacked are tombstoned only when it surely was complete: no
        # early end, nothing quarantined, no completeListSize shortfall (a server ending a
        # list early under load must not delete records).
        tombstone = checkpoint.full and not guard_warning and quarantined == 0 and not short
        if checkpoint.full and quarantined:
            warnings.append("records quarantined: records absent from this list kept as they are")
        next_from = None
        if not guard_warning and checkpoint.first_response_date:
            next_from = next_from_date(checkpoint.first_response_date, info.granularity)
            if checkpoint.until is not None and checkpoint.until < next_from:
                # A list bounded by `until` says nothing of what changed after it: starting
                # the next one at its responseDate would skip that for good. `from` is
                # inclusive, so what sits on the bound is merely seen twice.
                next_from = checkpoint.until
        self.counts.tombstoned = persist.finish_list(
            self.store,
            source=name,
            checkpoint=checkpoint,
            next_from=next_from,
            tombstone_unseen=tombstone,
            repository_identifier=self.repository_identifier,
            now=_now(self.clock),
        )
