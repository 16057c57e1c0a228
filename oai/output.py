"""What commands print: `--format json|table` declared once, rows printed either way."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from works.report import WorksReport

F = TypeVar("F", bound=Callable[..., Any])
# Table cells are cut to this many terminal columns (JSON is never cut); a cut is marked.
MAX_CELL = 60
MARK = "…"


@dataclass(frozen=True)
class Column:
    """A table column: its heading, how to read its cell from a row, and whether it holds
    identifiers (cut from the left, keeping the tail that tells rows apart: in a mirror
    every local identifier starts with the same `oai:repository:source/`)."""

    name: str
    pick: Callable[[Any], Any]
    identifiers: bool = False


def format_option(command: F) -> F:
    """Add `--format json|table` (default table) to a command, as its `fmt` argument."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["json", "table"]),
        default="table",
        show_default=True,
        help="json: every field, for programs; table: the main columns, for people.",
    )(command)


def fields(*names: str, identifiers: tuple[str, ...] = ()) -> list[Column]:
    """Columns that show these keys of each row, headed by the key."""
    return [Column(name, _picker(name), name in identifiers) for name in names]


def _picker(name: str) -> Callable[[Any], Any]:
    return lambda row: row[name]


def width(text: str) -> int:
    """Terminal columns `text` takes: East Asian wide and full-width characters take two,
    combining marks none."""
    if text.isascii():
        return len(text)
    return sum(_char_width(c) for c in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _fitting(chars: Iterable[str], limit: int) -> str:
    """The leading `chars` that fit in `limit` - 1 columns (one is left for MARK)."""
    kept, used = [], 0
    for char in chars:
        used += _char_width(char)
        if used > limit - 1:
            break
        kept.append(char)
    return "".join(kept)


def cut_end(text: str, limit: int) -> str:
    """`text` in at most `limit` columns, its end replaced by MARK when cut."""
    if width(text) <= limit:
        return text
    return _fitting(text, limit) + MARK


def cut_start(text: str, limit: int) -> str:
    """`text` in at most `limit` columns, its start replaced by MARK when cut."""
    if width(text) <= limit:
        return text
    return MARK + _fitting(reversed(text), limit)[::-1]


def _cell(value: Any, identifiers: bool) -> str:
    if isinstance(value, list):
        if identifiers and len(value) > 1:
            # Each identifier by its tail, so a list of them still tells members apart.
            share = max(12, MAX_CELL // len(value) - 2)
            return "; ".join(cut_start(_cell(v, False), share) for v in value)
        return "; ".join(_cell(v, identifiers) for v in value)
    return "" if value is None else " ".join(str(value).split())


def echo_rows(
    rows: list[dict[str, Any]], fmt: str, columns: Sequence[Column], *, empty: str
) -> None:
    """Print rows on stdout: all of each row as JSON, or the columns as a table aligned in
    terminal columns, every cut marked; `empty` (e.g. "no related works") instead of a
    table without rows."""
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(empty)
        return
    cells = [
        [
            (cut_start if c.identifiers else cut_end)(_cell(c.pick(row), c.identifiers), MAX_CELL)
            for c in columns
        ]
        for row in rows
    ]
    # Each cell measured once (a cell's width counts wide and combining characters).
    table = [[(cell, width(cell)) for cell in line] for line in [[c.name for c in columns], *cells]]
    widths = [max(line[i][1] for line in table) for i in range(len(columns))]
    for line in table:
        padded = [cell + " " * (w - used) for (cell, used), w in zip(line, widths, strict=True)]
        click.echo("  ".join(padded).rstrip())


def describe_works(report: WorksReport) -> str:
    """One line saying what a works refresh did."""
    how = "recomputed" if report.full else "updated"
    steps = f" (in {report.refreshes} steps)" if report.refreshes > 1 else ""
    return (
        f"works {how}: {report.records} records read, {report.matches} matches,"
        f" {report.works} works written, {report.relinked} records relinked{steps}"
    )
