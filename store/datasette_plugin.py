"""The project's Datasette plugin: XML stored as bytes shown as text, and the links between
records, works, members and authors drawn from the metadata (store.datasette_metadata).

Installed with the package (entry point `datasette: oai_mirror`), so `datasette` finds it in
the same environment. It acts only on tables whose metadata carries its settings
("plugins": {"oai-mirror": {"links": ..., "text": ...}}), so other databases are untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

import datasette
from datasette.utils import tilde_encode
from markupsafe import Markup

from store.datasette_metadata import PLUGIN

_Hook = TypeVar("_Hook", bound=Callable[..., object])


def _hookimpl(function: _Hook) -> _Hook:
    """datasette.hookimpl, typed (Datasette ships no type information)."""
    return cast(_Hook, datasette.hookimpl(function))


def _link_target(
    link: Mapping[str, Any], value: object, row: Mapping[str, Any], database: str, ds: Any
) -> str | None:
    """The URL a cell links to, or None when the link does not apply to this row."""
    if any(row[column] != wanted for column, wanted in link.get("only", {}).items()):
        return None
    table = str(link["to"])
    where = link.get("where")
    if where is None:
        return str(ds.urls.row(database, table, tilde_encode(str(value))))
    query = {
        theirs: ours[1:] if ours.startswith("=") else row[ours] for theirs, ours in where.items()
    }
    return f"{ds.urls.table(database, table)}?{urlencode(query)}"


@_hookimpl
def render_cell(
    row: Any, value: object, column: str, table: str | None, database: str, datasette: Any
) -> str | Markup | None:
    """An XML column's bytes as text; a linked column's value as a link; else None (the
    cell is Datasette's to draw)."""
    if table is None or value is None:
        return None
    settings = datasette.plugin_config(PLUGIN, database=database, table=table) or {}
    if isinstance(value, bytes) and column in settings.get("text", ()):
        return value.decode("utf-8", "replace")
    link = settings.get("links", {}).get(column)
    if link is None:
        return None
    try:
        target = _link_target(link, value, row, database, datasette)
    except (IndexError, KeyError):  # a column the link needs is not shown (?_nocol=)
        return None
    if target is None:
        return None
    return Markup('<a href="{}">{}</a>').format(target, value)
