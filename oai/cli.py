"""The `oai` command: a thin skin over the store, provider and harvester.

Data goes to stdout, logs to stderr. Exit 0 success, 1 failure (one line on stderr),
2 usage error.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from harvester.persist import reset_source, source_status
from harvester.settings import SourceSettings
from oai import config as config_module
from oai import logs
from oai.config import Config
from provider.app import make_app
from store.datestamps import format_utc, parse_strict
from store.db import Store, open_store
from store.errors import StoreError
from store.records import ensure_repository_identifier, find_record_id
from store.settings import ConfigError
from store.transfer import export_rows, import_file
from store.withdrawal import source_record_ids
from store.withdrawal import withdraw as withdraw_records

if TYPE_CHECKING:
    from oai import harvesting as harvesting_module

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Context:
    """What every command gets: the settings (with --db applied)."""

    config: Config

    @contextmanager
    def store(self) -> Iterator[Store]:
        """Open the configured store, turning store errors into one-line CLI errors."""
        try:
            store = open_store(self.config.store.path)
            with store.write() as conn:
                ensure_repository_identifier(conn, self.config.provider.repository_identifier)
        except (StoreError, sqlite3.Error) as exc:
            raise click.ClickException(f"{self.config.store.path}: {exc}") from exc
        try:
            yield store
        finally:
            store.close()


def _now() -> str:
    return format_utc(datetime.now(UTC))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Settings file (default ./config.toml; without it every setting has a default).",
)
@click.option("--db", "db_path", default=None, help="SQLite store; overrides [store] path.")
@click.option("-v", "--verbose", count=True, help="More log lines on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.version_option(package_name="oai-mirror")
@click.pass_context
def main(
    ctx: click.Context, config_path: str | None, db_path: str | None, verbose: int, quiet: bool
) -> None:
    """OAI-PMH provider and harvester over one SQLite mirror.

    \b
    Example:
      oai demo
      oai --db mirror.db serve --port 8080
    """
    logs.configure(-1 if quiet else verbose)
    try:
        settings = config_module.load(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if db_path is not None:
        settings = dataclasses.replace(
            settings, store=dataclasses.replace(settings.store, path=db_path)
        )
    ctx.obj = Context(settings)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port (0: any free port).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=None,
    help="Worker threads (default [provider] threads).",
)
@click.option(
    "--get",
    "get_path",
    default=None,
    metavar="PATH",
    help="Answer one request in-process, print it, exit.",
)
@click.pass_obj
def serve(obj: Context, host: str, port: int, threads: int | None, get_path: str | None) -> None:
    """Serve the store over OAI-PMH at http://HOST:PORT/oai (GET and POST).

    \b
    Example:
      oai --db mirror.db serve --port 8080
      oai serve --get '/oai?verb=Identify'
    """
    from oai import serving  # noqa: PLC0415 - waitress is only needed here

    settings = obj.config.provider
    if logging.getLogger().getEffectiveLevel() <= logging.WARNING:
        # One access line per request is part of serving (not shown under -q).
        logging.getLogger("provider.app").setLevel(logging.INFO)
    app = make_app(obj.config.store.path, settings)
    if get_path is not None:
        status, body = serving.request_once(app, get_path)
        click.echo(body.decode("utf-8", "replace"), nl=False)
        if not status.startswith("200"):
            raise click.ClickException(f"the request answered {status}")
        return
    serving.serve_forever(app, host, port, threads or settings.threads)


@main.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def import_command(obj: Context, files: tuple[Path, ...]) -> None:
    """Load oai_dc XML or JSONL (the export shape) files as source `local`.

    Each file loads whole or not at all; the others still load. Re-importing
    unchanged records changes nothing.

    \b
    Example:
      oai import records.jsonl more.xml
    """
    failed = []
    with obj.store() as store:
        for path in files:
            try:
                result = import_file(store, path, obj.config.provider.repository_identifier, _now)
            except StoreError as exc:
                click.echo(f"error: {exc}", err=True)
                failed.append(str(path))
                continue
            counts = result.counts
            click.echo(
                f"{path}: {result.records} records: {counts.added} added, {counts.updated} updated,"
                f" {counts.deleted} deleted, {counts.unchanged} unchanged"
            )
    if failed:
        raise click.ClickException(
            f"{len(failed)} of {len(files)} files not imported: {', '.join(failed)}"
        )


@main.command()
@click.option("--source", default=None, help="Only this source (default: all).")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.pass_obj
def export(obj: Context, source: str | None, fmt: str) -> None:
    """Write every record, tombstones included, as JSONL on stdout.

    \b
    Example:
      oai export --source local > local.jsonl
    """
    del fmt  # jsonl is the only format so far
    with obj.store() as store:
        out = sys.stdout
        for row in export_rows(store, source):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


@main.command()
@click.option(
    "--port", default=0, type=click.IntRange(0, 65535), help="Port to serve on (0: any free port)."
)
@click.pass_obj
def demo(obj: Context, port: int) -> None:
    """Serve the sample records, and harvest them with Sickle and with our harvester.

    Everything happens in a temporary folder on 127.0.0.1; --db is not used.

    \b
    Example:
      oai demo
    """
    from oai import demo as demo_module  # noqa: PLC0415 - pulls in the HTTP client

    demo_module.run(obj.config, port=port, echo=click.echo)


@main.command()
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
    ad hoc harvest. Exit 1 when any source failed (the others are still harvested).

    \b
    Example:
      oai harvest
      oai harvest --url https://export.arxiv.org/oai2 --name arxiv --set cs
    """
    from oai import harvesting  # noqa: PLC0415 - requests/sickle only for this command

    # A harvest allocates millions of short-lived objects and no cycles worth collecting:
    # freezing what start-up built and collecting rarely saved ~7% of a harvest's time.
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    config = obj.config
    db_path = config.store.path
    if until is not None:
        # Checked here like --from (in config.parse): read later, after Identify, a bad
        # value would end the run in a traceback instead of a usage error.
        try:
            parse_strict(until)
        except ValueError as exc:
            raise click.UsageError(f"--until: {exc}") from exc
    sources = _harvest_sources(obj, names, url, adhoc_name, set_spec, prefix, from_)
    try:
        with harvesting.store_lock(db_path):
            with obj.store():
                pass  # migrations and the repository identifier check, before any job
            selected = [harvesting.HarvestJob(s, full, until) for s in sources]
            progress = _harvest_progress()
            try:
                summaries = harvesting.harvest_all(
                    db_path,
                    selected,
                    config.harvester,
                    config.provider.repository_identifier,
                    jobs,
                    progress,
                )
            finally:
                if progress is not None:
                    progress.close()
    except harvesting.LockHeld as exc:
        click.echo(f"{exc}; not harvesting", err=True)
        return
    rows = harvesting.summary_rows(summaries)
    if rows:
        click.echo(harvesting.format_summary(rows))
    if report_json is not None:
        harvesting.write_report(report_json, rows)
    failed = [row for row in rows if row["status"] == "failed"]
    for row in failed:
        click.echo(f"error: {row['source']}: {row['error']}", err=True)
    if failed:
        sys.exit(1)


def _harvest_progress() -> harvesting_module.Progress | None:
    """A progress bar on a terminal; on anything else (cron) one log line per page."""
    from oai import harvesting  # noqa: PLC0415

    if sys.stderr.isatty():
        return harvesting.Progress(sys.stderr)
    if logging.getLogger().getEffectiveLevel() <= logging.WARNING:
        logging.getLogger("harvester.run").setLevel(logging.INFO)
    return None


def _harvest_sources(
    obj: Context,
    names: tuple[str, ...],
    url: str | None,
    adhoc_name: str | None,
    set_spec: str | None,
    prefix: str,
    from_: str | None,
) -> list[SourceSettings]:
    from oai import harvesting  # noqa: PLC0415

    if url is not None:
        if not adhoc_name or names:
            raise click.UsageError("--url needs --name, and no source NAMEs")
        try:
            adhoc = config_module.parse(
                {
                    "sources": {
                        adhoc_name: {
                            k: v
                            for k, v in {
                                "url": url,
                                "set": set_spec,
                                "metadata_prefix": prefix,
                                "from": from_,
                            }.items()
                            if v is not None
                        }
                    }
                },
                "the command line",
            ).sources[0]
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from exc
        return [adhoc]
    known = harvesting.known_sources(obj.config.store.path, obj.config.sources)
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
    from oai import harvesting  # noqa: PLC0415

    try:
        with harvesting.store_lock(obj.config.store.path):
            yield
    except harvesting.LockHeld as exc:
        raise click.ClickException(f"{exc}: a harvest is running; try again later") from exc


@main.command()
@click.pass_obj
def sources(obj: Context) -> None:
    """List the sources: configured, remembered from ad hoc harvests, and `local`.

    \b
    Example:
      oai sources
    """
    from oai import harvesting  # noqa: PLC0415

    configured = {s.name for s in obj.config.sources}
    for source in harvesting.known_sources(obj.config.store.path, obj.config.sources):
        origin = "config" if source.name in configured else "remembered"
        restriction = f" set={source.set_spec}" if source.set_spec else ""
        click.echo(f"{source.name}\t{source.url}\t{source.metadata_prefix}{restriction}\t{origin}")


@main.command()
@click.argument("name", required=False)
@click.pass_obj
def status(obj: Context, name: str | None) -> None:
    """Show per source: last success, next from, failures in a row, quarantined, records.

    \b
    Example:
      oai status arxiv
    """
    with obj.store() as store:
        rows = source_status(store.conn, name)
    if name is not None and not rows:
        raise click.ClickException(f"unknown source {name!r}")
    for row in rows:
        click.echo(
            f"{row['source']}: last success {row['last_success'] or 'never'};"
            f" next from {row['next_from'] or '(full harvest)'};"
            f" {row['failures_in_row']} failures in a row; {row['quarantined']} quarantined;"
            f" {row['live']} records, {row['tombstones']} tombstones"
            + (f"; list in progress at page {row['pages']}" if row["in_progress"] else "")
        )


@main.command()
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
    click.echo(f"{name}: checkpoint and incremental state forgotten; next harvest is full")


@main.command()
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
        with store.write() as conn:
            count = withdraw_records(
                conn,
                record_ids=ids,
                repository_identifier=obj.config.provider.repository_identifier,
                now=_now(),
            )
    click.echo(
        f"{target}: {count} records withdrawn" + ("; next harvest is full" if refull else "")
    )
