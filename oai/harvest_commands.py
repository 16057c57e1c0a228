"""The harvesting commands: harvest, sources, status, reset, withdraw."""

from __future__ import annotations

import dataclasses
import logging
import signal
import sqlite3
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from harvester import jobs as harvesting
from harvester.memory import collect_rarely
from harvester.persist import reset_source, retire_source, source_status
from harvester.run import RunSummary
from harvester.settings import SourceSettings
from oai import config as config_module
from oai.config import ConfigError
from oai.context import Context, now
from oai.output import describe_works
from oaiformat.datestamps import parse_strict
from store.db import Store
from store.errors import StoreError
from store.records import find_record_id
from store.withdrawal import source_record_ids
from store.withdrawal import withdraw as withdraw_records
from works.ahead import DeriveAhead
from works.report import WorksReport

logger = logging.getLogger(__name__)


@click.command()
@click.argument("names", nargs=-1)
@click.option(
    "--url", default=None, help="Harvest this base URL as an ad hoc source (needs --name)."
)
@click.option("--name", "adhoc_name", default=None, help="Name of the ad hoc source.")
@click.option("--set", "set_spec", default=None, help="Ad hoc: harvest only this remote set.")
@click.option("--prefix", default="oai_dc", show_default=True, help="Ad hoc: metadata format.")
@click.option("--from", "from_", default=None, help="Ad hoc: first harvest from this date.")
@click.option("--until", default=None, help="Harvest records up to this date only.")
@click.option("--full", is_flag=True, help="Harvest everything again; tombstone what is gone.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 32),
    default=1,
    show_default=True,
    help="Sources harvested at once (one request at a time per host).",
)
@click.option(
    "--report-json",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the summary as JSON.",
)
@click.pass_obj
def harvest(
    obj: Context,
    names: tuple[str, ...],
    url: str | None,
    adhoc_name: str | None,
    set_spec: str | None,
    prefix: str,
    from_: str | None,
    until: str | None,
    full: bool,
    jobs: int,
    report_json: Path | None,
) -> None:
    """Harvest remote repositories into the store (incremental unless --full).

    Without NAMEs, every source of config.toml and every source remembered from an
    ad hoc harvest. Exit 1 when any source failed (the others are still harvested);
    SIGINT/SIGTERM stop it after the page being written (exit 130/143, resumable).

    \b
    Patience with slow repositories by default ([harvester] in config.toml):
      connect timeout 10 s, read timeout 120 s, 600 s for a whole response,
      6 attempts per request, 1800 s of retry waits per source,
      Retry-After honoured up to 3600 s; no run time cap (run_time_cap: a
      source's run stops there, resumable); bodies over 16 MiB go to a
      temporary file, over 256 MiB are refused.

    \b
    Example:
      oai harvest
      oai harvest --url https://export.arxiv.org/oai2 --name arxiv --set cs
    """
    _check_adhoc_options(url)
    collect_rarely()
    _check_until(until)
    config = obj.config
    db_path = config.store.path
    started_at = now()
    interrupt = threading.Event()
    signals: list[int] = []
    try:
        with (
            _stopped_by_signals(interrupt, signals),
            harvesting.store_lock(db_path),
            obj.store() as store,
        ):
            sources = _sources_asked(obj, store, names, url, adhoc_name, set_spec, prefix, from_)
            selected = [harvesting.HarvestJob(s, full, until) for s in sources]
            # Each page's records are derived with the page, and the works are brought up
            # to date while the harvest waits for its servers: the works update after the
            # last page has little left to do.
            work = DeriveAhead(refresh_between_pages=True)
            summaries = _harvest_sources(obj, selected, jobs, interrupt, work)
            if interrupt.is_set():
                # The next write command brings works up to date; stopping comes first.
                works_line, works_error = "works not updated: interrupted", None
                works_result: dict[str, Any] = {"updated": False, "reason": "interrupted"}
            else:
                # Works are brought up to date even when a source failed: its pages are stored.
                works_line, works_error, works_result = _update_works(obj, store, work.reports)
    except harvesting.LockHeld as exc:
        click.echo(f"{exc}; not harvesting", err=True)
        return
    rows = harvesting.summary_rows(summaries)
    if rows:
        obj.say(harvesting.format_summary(rows))
    obj.say(works_line)
    if report_json is not None:
        harvesting.write_report(
            report_json, rows, started_at=started_at, finished_at=now(), works=works_result
        )
    failed = [row for row in rows if row["status"] == "failed"]
    for row in failed:
        click.echo(f"error: {row['source']}: {row['error']}", err=True)
    if works_error is not None:
        click.echo(works_error, err=True)
    if signals:
        # 128 + the signal, as shells report it: 130 for SIGINT, 143 for SIGTERM (wins over 1).
        sys.exit(128 + signals[0])
    if failed or works_error is not None:
        sys.exit(1)


@contextmanager
def _stopped_by_signals(interrupt: threading.Event, signals: list[int]) -> Iterator[None]:
    """While harvesting, SIGINT and SIGTERM ask the harvest to stop (the page being written
    is committed, runs are recorded interrupted, the summary printed) instead of killing it
    mid-page with a traceback; the first signal received is kept in `signals`."""

    def stop(signum: int, frame: object) -> None:
        if not signals:
            signals.append(signum)
            logger.warning("%s received: stopping after the page being written", _name(signum))
        interrupt.set()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _name(signum: int) -> str:
    return signal.Signals(signum).name


# Options that describe an ad hoc source: given without --url they would be ignored.
_ADHOC_ONLY = {"adhoc_name": "--name", "set_spec": "--set", "prefix": "--prefix", "from_": "--from"}


def _check_adhoc_options(url: str | None) -> None:
    """--name, --set, --prefix and --from describe the --url source; without --url they
    would silently do nothing, so they are a usage error."""
    if url is not None:
        return
    ctx = click.get_current_context()
    given = [
        flag
        for name, flag in _ADHOC_ONLY.items()
        if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT
    ]
    if given:
        raise click.UsageError(
            f"{', '.join(given)}: only for an ad hoc source given with --url (configured"
            " sources take their settings from config.toml)"
        )


def _check_until(until: str | None) -> None:
    """--until checked now like --from (in config.parse): read later, after Identify, a bad
    value would end the run in a traceback instead of a usage error."""
    if until is None:
        return
    try:
        parse_strict(until)
    except ValueError as exc:
        raise click.UsageError(f"--until: {exc}") from exc


def _sources_asked(
    obj: Context,
    store: Store,
    names: tuple[str, ...],
    url: str | None,
    adhoc_name: str | None,
    set_spec: str | None,
    prefix: str,
    from_: str | None,
) -> list[SourceSettings]:
    """The sources a harvest command names: NAMEs (all known when none), or one ad hoc."""
    if url is None:
        return _named_sources(obj, store, names)
    if not adhoc_name or names:
        raise click.UsageError("--url needs --name, and no source NAMEs")
    table = {"url": url, "set": set_spec, "metadata_prefix": prefix, "from": from_}
    return [_adhoc_source(adhoc_name, table)]


def _harvest_sources(
    obj: Context,
    selected: list[harvesting.HarvestJob],
    jobs: int,
    interrupt: threading.Event,
    work: DeriveAhead,
) -> list[RunSummary]:
    """Harvest the jobs, with a progress bar on a terminal."""
    config = obj.config
    progress = _harvest_progress(obj.quiet)
    try:
        return harvesting.harvest_all(
            config.store.path,
            selected,
            config.harvester,
            config.provider.repository_identifier,
            jobs,
            progress,
            work=work,
            interrupt=interrupt,
        )
    finally:
        if progress is not None:
            progress.close()


def _update_works(
    obj: Context, store: Store, between_pages: Sequence[WorksReport]
) -> tuple[str, str | None, dict[str, Any]]:
    """The works update after a harvest: its line (with what the updates between pages
    did), an error line if it failed (the harvested pages stay stored; the next write
    command catches up), and its result as --report-json gives it."""
    try:
        report = obj.refresh_works(store)
        for earlier in between_pages:
            report = earlier.plus(report)
    except (StoreError, sqlite3.Error) as exc:
        return (
            "works not updated",
            f"error: works not updated: {exc}",
            {"updated": False, "reason": str(exc)},
        )
    return describe_works(report), None, {"updated": True, **dataclasses.asdict(report)}


def _harvest_progress(quiet: bool) -> harvesting.Progress | None:
    """A progress bar on a terminal (not under -q); elsewhere (cron) nothing per page: the
    per-page log lines come with -v."""
    if sys.stderr.isatty() and not quiet:
        return harvesting.Progress(sys.stderr)
    return None


def _adhoc_source(name: str, table: dict[str, str | None]) -> SourceSettings:
    """The source of `--url ... --name NAME`, checked as a [sources.NAME] table would be, so
    the same rules and messages apply."""
    given = {key: value for key, value in table.items() if value is not None}
    try:
        return config_module.parse({"sources": {name: given}}, "the command line").sources[0]
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


def _named_sources(obj: Context, store: Store, names: tuple[str, ...]) -> list[SourceSettings]:
    """The sources NAMEd (all known ones when none is): configured or remembered."""
    known = harvesting.known_sources(store.conn, obj.config.sources)
    if not names:
        if not known:
            raise click.ClickException("no sources: add [sources.NAME] to config.toml or use --url")
        return known
    by_name = {s.name: s for s in known}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise click.ClickException(f"unknown source {unknown[0]!r} (see `oai sources`)")
    return [by_name[n] for n in names]


@contextmanager
def _no_harvest_running(obj: Context) -> Iterator[None]:
    """Hold the harvest lock, so a command changing harvest state cannot race a harvest."""

    try:
        with harvesting.store_lock(obj.config.store.path):
            yield
    except harvesting.LockHeld as exc:
        raise click.ClickException(f"{exc}: a harvest is running; try again later") from exc


@click.group(invoke_without_command=True)
@click.pass_context
def sources(ctx: click.Context) -> None:
    """List the sources: configured, and remembered from ad hoc harvests (once their
    Identify answered). `oai sources remove NAME` retires one.

    \b
    Example:
      oai sources
      oai sources remove arxiv --withdraw
    """
    if ctx.invoked_subcommand is not None:
        return
    obj: Context = ctx.obj
    configured = {s.name for s in obj.config.sources}
    with obj.reader() as store:
        known = harvesting.known_sources(store.conn, obj.config.sources)
    for source in known:
        origin = "config" if source.name in configured else "remembered"
        restriction = f" set={source.set_spec}" if source.set_spec else ""
        click.echo(f"{source.name}\t{source.url}\t{source.metadata_prefix}{restriction}\t{origin}")


@sources.command(name="remove")
@click.argument("name")
@click.option(
    "--withdraw",
    is_flag=True,
    help="Also turn the source's records into tombstones (by default they stay published).",
)
@click.pass_obj
def remove_source(obj: Context, name: str, withdraw: bool) -> None:
    """Retire a remembered source: it is no longer harvested or listed; its checkpoint and
    quarantined records go; its records stay published unless --withdraw is given.

    A source of config.toml is retired by removing it there.

    \b
    Example:
      oai sources remove arxiv
      oai sources remove arxiv --withdraw
    """
    if name in {s.name for s in obj.config.sources}:
        raise click.ClickException(f"{name!r} is configured in config.toml: remove it there")
    with _no_harvest_running(obj), obj.store() as store:
        # Refused first: an unknown name (or the local records) must not be withdrawn.
        if not retire_source(store, name):
            raise click.ClickException(f"unknown source {name!r} (see `oai sources`)")
        count = _withdraw(obj, store, source_record_ids(store.conn, name)) if withdraw else 0
        obj.refresh_works(store)
    withdrawn = f"; {count} records withdrawn" if withdraw else "; its records stay published"
    obj.say(f"{name}: removed{withdrawn}")


@click.command()
@click.argument("name", required=False)
@click.pass_obj
def status(obj: Context, name: str | None) -> None:
    """Show per source: last success, next from, failures in a row, quarantined, records.

    \b
    Example:
      oai status arxiv
    """
    with obj.reader() as store:
        rows = source_status(store.conn, name)
    # A run still marked running while no harvest holds the lock was killed (kill -9, a
    # crash): it is reported as interrupted, and nothing is written.
    harvesting_now = harvesting.lock_held(obj.config.store.path)
    if name is not None and not rows:
        raise click.ClickException(f"unknown source {name!r}")
    for row in rows:
        click.echo(
            f"{row['source']}: last success {row['last_success'] or 'never'};"
            f" next from {row['next_from'] or '(full harvest)'};"
            f" {row['failures_in_row']} failures in a row; {row['quarantined']} quarantined;"
            f" {row['live']} records, {row['tombstones']} tombstones"
            + (f"; list in progress at page {row['pages']}" if row["in_progress"] else "")
            + _last_run(row["last_run"], harvesting_now)
        )


def _last_run(status: object, harvesting_now: bool) -> str:
    if status is None:
        return ""
    if status == "running" and not harvesting_now:
        status = "interrupted"
    return f"; last run {status}"


@click.command()
@click.argument("name")
@click.pass_obj
def reset(obj: Context, name: str) -> None:
    """Forget a source's checkpoint and incremental state: its next harvest is full.

    \b
    Example:
      oai reset arxiv
    """
    with _no_harvest_running(obj), obj.store() as store:
        if not reset_source(store, name):
            raise click.ClickException(f"unknown source {name!r}")
    obj.say(f"{name}: checkpoint and incremental state forgotten; next harvest is full")


@click.command()
@click.argument("target")
@click.pass_obj
def withdraw(obj: Context, target: str) -> None:
    """Turn a source's published records, or one record, into tombstones.

    TARGET is a source name, or a record identifier (at its origin or in this repository).
    A source still configured brings its records back at its next harvest.

    \b
    Example:
      oai withdraw arxiv
      oai withdraw oai:repository.example.org:8912z
    """
    with _no_harvest_running(obj), obj.store() as store:
        conn = store.conn
        is_source = conn.execute("SELECT 1 FROM sources WHERE name = ?", [target]).fetchone()
        try:
            ids = source_record_ids(conn, target) if is_source else [find_record_id(conn, target)]
        except StoreError as exc:
            raise click.ClickException(str(exc)) from exc
        # The source's next `from` is already past the withdrawn records, so an incremental
        # harvest would never send them again: forget it (first, so a crash in between costs
        # only a full harvest), or the promise above would not hold.
        refull = bool(is_source) and reset_source(store, target)
        count = _withdraw(obj, store, ids)
        obj.refresh_works(store)
    obj.say(f"{target}: {count} records withdrawn" + ("; next harvest is full" if refull else ""))


def _withdraw(obj: Context, store: Store, record_ids: list[int]) -> int:
    """Turn these records into tombstones, in one transaction; returns how many."""
    with store.write() as conn:
        return withdraw_records(
            conn,
            record_ids=record_ids,
            repository_identifier=obj.config.provider.repository_identifier,
            now=now(),
        )
