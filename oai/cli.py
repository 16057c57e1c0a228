"""The `oai` command: a thin skin over the store, provider and harvester.

Data goes to stdout, logs to stderr. Exit 0 success, 1 failure (one line on stderr),
2 usage error, 130/143 for a harvest stopped by SIGINT/SIGTERM (these win over 1).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from oai import config as config_module
from oai import harvest_commands, logs, works_commands
from oai.config import ConfigError
from oai.context import Context
from oai.output import describe_works
from oaiformat.datestamps import utc_now
from provider.app import make_app
from provider.token_keys import configured_elsewhere
from store.datasette_metadata import metadata as datasette_metadata
from store.errors import StoreError
from store.schema_docs import shipped as shipped_docs
from store.token_secret import rotate_keys, secret_path
from store.transfer import export_rows, import_file

# The options every command takes, before its name or after it (`oai --db m.db search x` or
# `oai search x --db m.db`): (parameter name, declarations, what click needs to know).
_GLOBAL_OPTIONS: tuple[tuple[str, tuple[str, ...], dict[str, Any]], ...] = (
    (
        "config_path",
        ("--config", "config_path"),
        {
            "type": click.Path(dir_okay=False),
            "help": "Settings file (default ./config.toml; without it every setting has a"
            " default).",
        },
    ),
    ("db_path", ("--db", "db_path"), {"help": "SQLite store; overrides [store] path."}),
    ("verbose", ("-v", "--verbose"), {"count": True, "help": "More log lines (-vv: debug)."}),
    ("quiet", ("-q", "--quiet"), {"is_flag": True, "help": "Only errors on stderr."}),
)
_GIVEN = "oai.global_options"


def _given(value: Any) -> bool:
    """True for an option given on the command line (not left at its default)."""
    return value is not None and value is not False and value != 0


def _context(given: dict[str, Any]) -> Context:
    """The context of the global options given so far, logging configured by -v/-q; the
    settings file is read when the command first asks for the settings (with every global
    option known by then: `given` is the dict later ones are added to)."""
    logs.configure(-1 if given.get("quiet") else int(given.get("verbose") or 0))

    def load() -> config_module.Config:
        try:
            settings = config_module.load(given.get("config_path"))
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
        if given.get("db_path") is not None:
            store = dataclasses.replace(settings.store, path=given["db_path"])
            settings = dataclasses.replace(settings, store=store)
        return settings

    return Context(load, quiet=bool(given.get("quiet")))


def _given_after_the_name(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A global option given after a command's name: it overrides the one before."""
    if not _given(value):
        return
    given = ctx.find_root().meta.setdefault(_GIVEN, {})
    given[str(param.name)] = value
    ctx.obj = _context(given)


def _with_global_options(command: click.Command) -> None:
    """Let `command` (and a group's subcommands) take the global options too."""
    names = {p.name for p in command.params}
    for name, declarations, settings in _GLOBAL_OPTIONS:
        if name not in names:
            command.params.append(
                click.Option(
                    declarations,
                    expose_value=False,
                    callback=_given_after_the_name,
                    **settings,
                )
            )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _with_global_options(sub)


class _Commands(click.Group):
    """The `oai` group: every command added takes the global options after its name."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        super().add_command(cmd, name)
        _with_global_options(cmd)


def _global_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The global options on the `oai` group itself, from the one table of them."""
    for _, declarations, settings in reversed(_GLOBAL_OPTIONS):
        command = click.option(*declarations, **settings)(command)
    return command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@_global_options
@click.version_option(package_name="oai-mirror")
@click.pass_context
def main(
    ctx: click.Context, config_path: str | None, db_path: str | None, verbose: int, quiet: bool
) -> None:
    """OAI-PMH provider and harvester over one SQLite mirror.

    --config, --db, -v and -q may come before the command's name or after it.

    \b
    Example:
      oai demo
      oai --db mirror.db serve --port 8080
      oai search "peer support" --db mirror.db -q
    """
    given = {"config_path": config_path, "db_path": db_path, "verbose": verbose, "quiet": quiet}
    ctx.meta[_GIVEN] = {k: v for k, v in given.items() if _given(v)}
    ctx.obj = _context(ctx.meta[_GIVEN])


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
    try:
        app = make_app(obj.config.store.path, settings)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    if get_path is not None:
        status, body = serving.request_once(app, get_path)
        click.echo(body.decode("utf-8", "replace"), nl=False)
        if not status.startswith("200"):
            raise click.ClickException(f"the request answered {status}")
        return
    serving.serve_forever(app, host, port, threads or settings.threads)


@main.command(name="rotate-secret")
@click.pass_obj
def rotate_secret(obj: Context) -> None:
    """Sign resumption tokens with a new secret; the old one stays accepted for
    provider.token_lifetime, so harvests in progress go on (a running `oai serve` picks
    the change up within a second).

    The secret is kept in STORE.token-secret, beside the store and readable by its owner
    only; OAI_TOKEN_SECRET (and OAI_TOKEN_SECRET_PREVIOUS) or provider.token_secret, when
    set, are rotated where they are set.

    \b
    Example:
      oai --db mirror.db rotate-secret
    """
    settings = obj.config.provider
    elsewhere = configured_elsewhere(settings, os.environ)
    if elsewhere is not None:
        raise click.ClickException(f"the secret comes from {elsewhere}: rotate it there")
    path = secret_path(obj.config.store.path)
    try:
        rotate_keys(path, settings.token_lifetime, utc_now())
    except (StoreError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    obj.say(
        f"{path}: new secret; the previous one is accepted for {settings.token_lifetime} s more"
    )


@main.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def import_command(obj: Context, files: tuple[Path, ...]) -> None:
    """Load oai_dc XML or JSONL (the export shape, set lines too) files as source `local`.

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
                result = import_file(
                    store, path, obj.config.provider.repository_identifier, utc_now
                )
            except StoreError as exc:
                click.echo(f"error: {exc}", err=True)
                failed.append(str(path))
                continue
            counts = result.counts
            named = f"; {result.sets} sets named" if result.sets else ""
            obj.say(
                f"{path}: {result.records} records: {counts.added} added, {counts.updated} updated,"
                f" {counts.deleted} deleted, {counts.unchanged} unchanged{named}"
            )
        obj.say(describe_works(obj.refresh_works(store)))
    if failed:
        raise click.ClickException(
            f"{len(failed)} of {len(files)} files not imported: {', '.join(failed)}"
        )


@main.command()
@click.option("--source", default=None, help="Only this source (default: all).")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.pass_obj
def export(obj: Context, source: str | None, fmt: str) -> None:
    """Write every record, tombstones included, as JSONL on stdout (each source's set
    names first, as set lines).

    \b
    Example:
      oai export --source local > local.jsonl
    """
    del fmt  # jsonl is the only format so far
    with obj.reader() as store:
        out = sys.stdout
        for row in export_rows(store, source):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


@main.command(name="datasette-metadata")
@click.option(
    "--name",
    default=None,
    help="The store's name in Datasette (default: its file name without the extension).",
)
@click.pass_obj
def datasette_metadata_command(obj: Context, name: str | None) -> None:
    """Print Datasette metadata for the store (JSON): the README's table and column
    descriptions, search and facets on the records, internal tables hidden, and the links
    between records, works, members and authors that the plugin installed with this
    package draws.

    \b
    Example:
      oai --db mirror.db datasette-metadata > metadata.json
      datasette mirror.db --metadata metadata.json
    """
    path = obj.config.store.path
    with obj.reader():  # a store of this version, or exit 1
        pass
    document = datasette_metadata(name or Path(path).stem, shipped_docs())
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@main.command()
@click.option(
    "--port", default=0, type=click.IntRange(0, 65535), help="Port to serve on (0: any free port)."
)
@click.option(
    "--dir",
    "folder",
    default="oai-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder the demo's mirror is kept in (replaced by the next run).",
)
@click.pass_obj
def demo(obj: Context, port: int, folder: Path) -> None:
    """Serve the sample records, and harvest them with Sickle and with our harvester.

    The served repositories live in a temporary folder on 127.0.0.1; the mirror the
    harvest builds is kept in --dir (./oai-demo), replaced by the next run, so you can
    open it afterwards; --db is not used.

    \b
    Example:
      oai demo
      oai --db oai-demo/mirror.db related oai:repository.example.org:8912z
    """
    from oai import demo as demo_module  # noqa: PLC0415 - pulls in the HTTP client

    try:
        demo_module.run(obj.config, port=port, folder=folder, echo=click.echo)
    except demo_module.DemoError as exc:
        raise click.ClickException(str(exc)) from exc


for _command in (
    harvest_commands.harvest,
    harvest_commands.sources,
    harvest_commands.status,
    harvest_commands.reset,
    harvest_commands.withdraw,
    *works_commands.COMMANDS,
):
    main.add_command(_command)
