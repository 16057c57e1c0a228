"""The commands over authors and works: authors, related, works, search, override."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from oai.context import Context, now
from store.browse import authors as list_authors
from store.browse import related as related_works
from store.browse import works as list_works
from store.db import Store
from store.errors import StoreError
from store.overrides import join, listing, remove, split
from store.search import search as search_records
from store.works import WorksReport, refresh

FORMATS = click.Choice(["json", "table"])


def refresh_works(
    store: Store,
    repository_identifier: str,
    *,
    full: bool = False,
    change: Callable[[sqlite3.Connection], list[int]] | None = None,
) -> WorksReport:
    """Bring the store's authors, works and search rows up to date, in one transaction;
    `change` (an author override) runs first in it and names the records to re-derive: an
    override saved without its refresh would never reach its records."""
    with store.write() as conn:
        return refresh(
            conn,
            repository_identifier=repository_identifier,
            now=now(),
            full=full,
            records=change(conn) if change is not None else (),
            clock=now,
        )


def describe(report: WorksReport) -> str:
    """One line saying what a refresh did."""
    how = "recomputed" if report.full else "updated"
    return (
        f"works {how}: {report.records} records read, {report.matches} matches,"
        f" {report.works} works written, {report.relinked} records relinked"
    )


@contextmanager
def _fresh_store(obj: Context) -> Iterator[Store]:
    """The store, its works brought up to date first (a harvest killed before its end
    leaves them behind), with store errors as one-line CLI errors."""
    with obj.store() as store:
        try:
            refresh_works(store, obj.config.provider.repository_identifier)
            yield store
        except StoreError as exc:
            raise click.ClickException(str(exc)) from exc


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_cell(v) for v in value)
    return "" if value is None else str(value)


def _echo(
    rows: list[dict[str, Any]], fmt: str, columns: Sequence[tuple[str, Callable[[Any], Any]]]
) -> None:
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = [[name for name, _ in columns]]
    table += [[_cell(pick(row)) for _, pick in columns] for row in rows]
    widths = [min(60, max(len(line[i]) for line in table)) for i in range(len(columns))]
    for line in table:
        cells = [cell[:60].ljust(width) for cell, width in zip(line, widths, strict=True)]
        click.echo("  ".join(cells).rstrip())


def _fields(*names: str) -> list[tuple[str, Callable[[Any], Any]]]:
    return [(name, _picker(name)) for name in names]


def _picker(name: str) -> Callable[[Any], Any]:
    return lambda row: row[name]


def _work_columns() -> list[tuple[str, Callable[[Any], Any]]]:
    return [
        ("work", lambda w: w["work"]),
        ("year", lambda w: w["year"]),
        ("title", lambda w: w["title"]),
        ("authors", lambda w: w["authors"]),
        ("members", lambda w: [m["local_identifier"] for m in w["members"]]),
    ]


@click.command()
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--min-works", default=1, show_default=True, type=click.IntRange(min=0))
@click.pass_obj
def authors(obj: Context, fmt: str, min_works: int) -> None:
    """List the creators, most works first, each with its fullest name.

    JSON: [{"key", "name", "works", "records", "forms", "corporate"}, ...].

    \b
    Example:
      oai authors --min-works 2 --format json
    """
    with _fresh_store(obj) as store:
        rows = list_authors(store.conn, min_works=min_works)
    _echo(rows, fmt, _fields("key", "name", "works", "records"))


@click.command()
@click.argument("identifier")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_obj
def related(obj: Context, identifier: str, fmt: str) -> None:
    """List the other works of the authors of a record's work, each once, newest first.

    IDENTIFIER is the record's identifier at its origin or in this repository.
    JSON: [{"work", "title", "year", "authors", "members": [{"source", "identifier",
    "local_identifier", ...}]}, ...].

    \b
    Example:
      oai related oai:repository.example.org:8912z --format json
    """
    with _fresh_store(obj) as store:
        rows = related_works(store.conn, identifier)
    _echo(rows, fmt, _work_columns())


@click.command()
@click.option("--author", default=None, help="Only the works of this author key.")
@click.option(
    "--min-members",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Only works of at least this many records (2: the merged ones).",
)
@click.option("--recompute", is_flag=True, help="Recompute every work first (a full run).")
@click.option("--limit", default=None, type=click.IntRange(min=1), help="Only the N newest works.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_obj
def works(
    obj: Context,
    author: str | None,
    min_members: int,
    recompute: bool,
    limit: int | None,
    fmt: str,
) -> None:
    """List works with their member records and the evidence that joined them.

    JSON: [{"work", "title", "year", "authors", "members": [{"source", "identifier",
    "local_identifier", "representative", "matched_to", "evidence"}]}, ...].

    \b
    Example:
      oai works --author "stirrup v" --format json
      oai works --recompute --min-members 2 --limit 50
    """
    with _fresh_store(obj) as store:
        if recompute:
            report = refresh_works(store, obj.config.provider.repository_identifier, full=True)
            click.echo(describe(report), err=True)
        rows = list_works(store.conn, author=author, min_members=min_members, limit=limit)
    _echo(rows, fmt, _work_columns())


@click.command()
@click.argument("query")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_obj
def search(obj: Context, query: str, limit: int, fmt: str) -> None:
    """Full-text search over titles, creators, subjects and descriptions, best first.

    Words are ANDed; "quoted phrases", OR, NOT and prefix* work as in SQLite FTS5.
    Deleted records are never listed. JSON: [{"source", "identifier", "local_identifier",
    "title", "creators", "work", "score"}, ...].

    \b
    Example:
      oai search "peer support" --limit 5
    """
    with _fresh_store(obj) as store:
        rows = search_records(store.conn, query, limit=limit)
    _echo(rows, fmt, _fields("local_identifier", "title", "creators"))


@click.group()
def override() -> None:
    """Correct author keys by hand: join two keys, or split one record's author off.

    Overrides are kept in the store and survive every re-harvest.

    \b
    Example:
      oai override join "stirup v" "stirrup v"
      oai override list
    """


def _apply(obj: Context, change: Callable[[sqlite3.Connection], list[int]]) -> None:
    with obj.store() as store:
        try:
            report = refresh_works(store, obj.config.provider.repository_identifier, change=change)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(describe(report))


@override.command(name="join")
@click.argument("key")
@click.argument("into")
@click.option("--note", default=None, help="Why (kept with the override).")
@click.pass_obj
def join_command(obj: Context, key: str, into: str, note: str | None) -> None:
    """Treat author KEY as the same person as author INTO, everywhere.

    \b
    Example:
      oai override join "stirup v" "stirrup v"
    """
    _apply(obj, lambda conn: join(conn, key, into, note=note, now=now()))


@override.command(name="split")
@click.argument("key")
@click.argument("identifier")
@click.argument("new_key")
@click.option("--note", default=None, help="Why (kept with the override).")
@click.pass_obj
def split_command(obj: Context, key: str, identifier: str, new_key: str, note: str | None) -> None:
    """In the record IDENTIFIER, key the author KEY as NEW_KEY (another person).

    \b
    Example:
      oai override split "smith j" oai:chem.example.org:42 "smith j (chemist)"
    """
    _apply(obj, lambda conn: split(conn, key, identifier, new_key, note=note, now=now()))


@override.command(name="remove")
@click.argument("override_id", type=int)
@click.pass_obj
def remove_command(obj: Context, override_id: int) -> None:
    """Drop the override with this id (see `oai override list`).

    \b
    Example:
      oai override remove 3
    """
    _apply(obj, lambda conn: remove(conn, override_id))


@override.command(name="list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_obj
def list_command(obj: Context, fmt: str) -> None:
    """List the overrides, oldest first.

    \b
    Example:
      oai override list --format json
    """
    with obj.store() as store:
        rows = listing(store.conn)
    _echo(rows, fmt, _fields("id", "key", "identifier", "new_key"))


COMMANDS = (authors, related, works, search, override)
