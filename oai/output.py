"""What commands print: `--format json|table` declared once, rows printed either way."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from works import WorksReport

F = TypeVar("F", bound=Callable[..., Any])
# A table column: its heading, and how to read its cell from a row.
Column = tuple[str, Callable[[Any], Any]]
# Table cells are cut to this many characters (JSON is never cut).
MAX_CELL = 60


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


def fields(*names: str) -> list[Column]:
    """Columns that show these keys of each row, headed by the key."""
    return [(name, _picker(name)) for name in names]


def _picker(name: str) -> Callable[[Any], Any]:
    return lambda row: row[name]


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_cell(v) for v in value)
    return "" if value is None else str(value)


def echo_rows(rows: list[dict[str, Any]], fmt: str, columns: Sequence[Column]) -> None:
    """Print rows on stdout: all of each row as JSON, or the columns as an aligned table."""
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = [[name for name, _ in columns]]
    table += [[_cell(pick(row)) for _, pick in columns] for row in rows]
    widths = [min(MAX_CELL, max(len(line[i]) for line in table)) for i in range(len(columns))]
    for line in table:
        cells = [cell[:MAX_CELL].ljust(width) for cell, width in zip(line, widths, strict=True)]
        click.echo("  ".join(cells).rstrip())


def describe_works(report: WorksReport) -> str:
    """One line saying what a works refresh did."""
    how = "recomputed" if report.full else "updated"
    return (
        f"works {how}: {report.records} records read, {report.matches} matches,"
        f" {report.works} works written, {report.relinked} records relinked"
    )
