"""The commands over authors and works: authors, related, works, search, override.

Listing and searching only read the store; `works recompute` and the overrides write it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import click

from oai.context import Context, now
from oai.output import Column, describe_works, echo_rows, fields, format_option
from works.browse import authors as list_authors
from works.browse import related as related_works
from works.browse import works as list_works
from works.overrides import join, listing, remove, split
from works.pair_overrides import mark, pair_listing, unmark
from works.review import explain, possible_duplicates
from works.search import search as search_records


def _work_columns() -> list[Column]:
    return [
        *fields("work", "year", "title", "authors"),
        Column("members", lambda w: [m["local_identifier"] for m in w["members"]], True),
    ]


@click.command()
@format_option
@click.option("--min-works", default=1, show_default=True, type=click.IntRange(min=0))
@click.pass_obj
def authors(obj: Context, fmt: str, min_works: int) -> None:
    """List the creators, most works first, each with its fullest name.

    JSON: [{"key", "name", "works", "records", "forms", "corporate"}, ...].

    \b
    Example:
      oai authors --min-works 2 --format json
    """
    with obj.reader() as store:
        rows = list_authors(store.conn, min_works=min_works)
    echo_rows(rows, fmt, fields("key", "name", "works", "records"), empty="no authors")


@click.command()
@click.argument("identifier")
@format_option
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
    with obj.reader() as store:
        rows = related_works(store.conn, identifier)
    echo_rows(rows, fmt, _work_columns(), empty="no related works")


@click.group(invoke_without_command=True)
@click.option("--author", default=None, help="Only the works of this author key.")
@click.option(
    "--min-members",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Only works of at least this many records (2: the merged ones).",
)
@click.option("--limit", default=None, type=click.IntRange(min=1), help="Only the N newest works.")
@click.option("--recompute", is_flag=True, hidden=True)
@format_option
@click.pass_context
def works(
    ctx: click.Context,
    author: str | None,
    min_members: int,
    limit: int | None,
    recompute: bool,
    fmt: str,
) -> None:
    """List works with their member records and the evidence that joined them.

    JSON: [{"work", "title", "year", "authors", "members": [{"source", "identifier",
    "local_identifier", "representative", "matched_to", "evidence"}]}, ...].
    `oai works recompute` recomputes every work (a write).

    \b
    Example:
      oai works --author "stirrup v" --format json
      oai works --min-members 2 --limit 50
    """
    if recompute:
        raise click.UsageError("--recompute is now a command of its own: oai works recompute")
    if ctx.invoked_subcommand is not None:
        return
    obj: Context = ctx.obj
    with obj.reader() as store:
        rows = list_works(store.conn, author=author, min_members=min_members, limit=limit)
    echo_rows(rows, fmt, _work_columns(), empty="no works")


@works.command(name="recompute")
@click.pass_obj
def recompute_command(obj: Context) -> None:
    """Recompute every author and work from the records (a full run; a write).

    Every write command already brings works up to date incrementally; a full run is for
    after an upgrade of the matching rules, or to check that incremental runs agree.

    \b
    Example:
      oai works recompute
    """
    with obj.store() as store:
        report = obj.refresh_works(store, full=True)
    obj.say(describe_works(report))


@works.command(name="review")
@click.option("--limit", default=None, type=click.IntRange(min=1), help="Only the first N.")
@format_option
@click.pass_obj
def review_command(obj: Context, limit: int | None, fmt: str) -> None:
    """List possible duplicates: records kept in two works though evidence links them.

    A pair is listed when its evidence is strong but not enough (a near-identical title
    without a shared creator, container names that differ) or when joining it would put two
    conflicting records in one work. Settle one with `oai override same|different`.
    JSON: [{"records": [a, b], "works": [w1, w2], "evidence", "not_merged": [why]}, ...].

    \b
    Example:
      oai works review --format json
      oai override same oai:a.example.org:1 oai:b.example.org:9
    """
    with obj.reader() as store:
        rows = possible_duplicates(store.conn, limit=limit)
    columns = [
        *fields("records", "works", identifiers=("records",)),
        Column("not merged", _why),
    ]
    echo_rows(rows, fmt, columns, empty="no possible duplicates")


def _why(row: dict[str, Any]) -> str:
    return "; ".join(row["not_merged"])


@works.command(name="explain")
@click.argument("target")
@format_option
@click.pass_obj
def explain_command(obj: Context, target: str, fmt: str) -> None:
    """Explain one work: the match that joined each member, with its evidence, and the
    possible duplicates of its records with why they were not merged.

    TARGET is a work id, or the identifier of any of its records.
    JSON: {"work", "title", "year", "authors", "representative", "members": [{...,
    "matched_to", "evidence"}], "possible_duplicates": [...]} (see `oai works review`).

    \b
    Example:
      oai works explain oai:repository.example.org:8912z
    """
    with obj.reader() as store:
        found = explain(store.conn, target)
    if fmt == "json":
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    click.echo(f"work {found['work']} ({found['year']}): {found['title']}")
    for member in found["members"]:
        how = (
            "representative"
            if member["representative"]
            else (f"matched to {member['matched_to']}: {json.dumps(member['evidence'])}")
        )
        click.echo(f"  {member['local_identifier']}  {how}")
    for pair in found["possible_duplicates"]:
        click.echo(f"  possible duplicate {' / '.join(pair['records'])}: {_why(pair)}")


@click.command()
@click.argument("query")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@format_option
@click.pass_obj
def search(obj: Context, query: str, limit: int, fmt: str) -> None:
    """Full-text search over titles, creators, subjects and descriptions, best first.

    Words are ANDed; "quoted phrases", OR, NOT and prefix* work as in SQLite FTS5;
    title:word (also creator:, author:, subject:, description:) searches one field; part
    of a Japanese, Chinese or Korean title finds it. Deleted records are never listed.
    JSON: [{"source", "identifier", "local_identifier", "title", "creators", "work",
    "score"}, ...].

    \b
    Example:
      oai search "peer support" --limit 5
      oai search 'title:graphene creator:zhang'
      oai search 細胞
    """
    with obj.reader() as store:
        rows = search_records(store.conn, query, limit=limit)
    columns = fields("local_identifier", "title", "creators", identifiers=("local_identifier",))
    echo_rows(rows, fmt, columns, empty="no records found")


@click.group()
def override() -> None:
    """Settle by hand what the rules cannot: author keys (join two keys, split one record's
    author off) and works (two records are the same work, or not).

    Overrides are kept in the store and survive every re-harvest and a full recompute.

    \b
    Example:
      oai override join "stirup v" "stirrup v"
      oai override same oai:a.example.org:1 oai:b.example.org:9
      oai override list
    """


def _apply(obj: Context, change: Callable[[sqlite3.Connection], Sequence[int]]) -> None:
    """Save an override and bring works up to date with it, in one transaction."""
    with obj.store() as store:
        report = obj.refresh_works(store, change=change)
    obj.say(describe_works(report))


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


@override.command(name="same")
@click.argument("first")
@click.argument("second")
@click.option("--note", default=None, help="Why (kept with the decision).")
@click.pass_obj
def same_command(obj: Context, first: str, second: str, note: str | None) -> None:
    """Make the records FIRST and SECOND one work, whatever the rules say.

    Settles a possible duplicate of `oai works review`. FIRST and SECOND are record
    identifiers, at their origin or in this repository.

    \b
    Example:
      oai override same oai:a.example.org:1 oai:b.example.org:9 --note "same DOI, typo"
    """
    _apply(obj, lambda conn: mark(conn, first, second, "same", note=note, now=now()))


@override.command(name="different")
@click.argument("first")
@click.argument("second")
@click.option("--note", default=None, help="Why (kept with the decision).")
@click.pass_obj
def different_command(obj: Context, first: str, second: str, note: str | None) -> None:
    """Keep the records FIRST and SECOND in two works, whatever the rules say.

    \b
    Example:
      oai override different oai:a.example.org:1 oai:a.example.org:2 --note "letter and reply"
    """
    _apply(obj, lambda conn: mark(conn, first, second, "different", note=note, now=now()))


@override.command(name="remove")
@click.argument("override_id")
@click.pass_obj
def remove_command(obj: Context, override_id: str) -> None:
    """Drop the override with this id (see `oai override list`): a number for an author
    override, p and a number for a same/different decision.

    \b
    Example:
      oai override remove 3
      oai override remove p2
    """
    if override_id.startswith("p") and override_id[1:].isdigit():
        number = int(override_id[1:])
        _apply(obj, lambda conn: unmark(conn, number))
    elif override_id.isdigit():
        _apply(obj, lambda conn: remove(conn, int(override_id)))
    else:
        raise click.UsageError(f"{override_id!r} is not an override id (3, or p2)")


@override.command(name="list")
@format_option
@click.pass_obj
def list_command(obj: Context, fmt: str) -> None:
    """List the overrides, oldest first: author keys, then same/different decisions.

    JSON: [{"id", "kind": "join"|"split", "key", "source", "identifier", "new_key", "note",
    "created_at"}, ..., {"id": "p1", "kind": "same"|"different", "records": [...], "note",
    "created_at"}, ...].

    \b
    Example:
      oai override list --format json
    """
    with obj.reader() as store:
        rows = [
            {**row, "kind": "split" if row["identifier"] else "join"} for row in listing(store.conn)
        ]
        rows += [
            {
                "id": f"p{row['id']}",
                "kind": row["decision"],
                "records": [
                    f"{row['source_a']}:{row['identifier_a']}",
                    f"{row['source_b']}:{row['identifier_b']}",
                ],
                "note": row["note"],
                "created_at": row["created_at"],
            }
            for row in pair_listing(store.conn)
        ]
    columns = [*fields("id", "kind"), Column("what", _what)]
    echo_rows(rows, fmt, columns, empty="no overrides")


def _what(row: dict[str, Any]) -> str:
    if "records" in row:
        return " | ".join(row["records"])
    where = f" in {row['identifier']}" if row["identifier"] else ""
    return f"{row['key']}{where} -> {row['new_key']}"


COMMANDS = (authors, related, works, search, override)
