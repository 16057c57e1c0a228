"""What each table, view and column of the store means: read from the README's schema
sections (the single source), shipped beside this module as schema_docs.json.

The README describes each table and view as a bold name, a sentence, and a markdown table of
`column | meaning` rows (a row may name several columns that share a meaning). The JSON copy
is what an installed package reads (it has no README); tests/store/test_schema_docs.py fails
when it and the README differ, and when either and the schema differ. Regenerate it with

    python -m store.schema_docs README.md
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

SHIPPED = "schema_docs.json"
# The README's sections: the mirror's (its introduction), one for tables, one for views.
MIRROR_SECTION = "## The SQLite mirror"
TABLES_SECTION = "### Tables"
VIEWS_SECTION = "### Views for analysts"

_ENTRY = re.compile(r"^\*\*`(?P<name>\w+)`\*\*: (?P<text>.+)$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_NAMES = re.compile(r"`(\w+)`")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(r"\*{1,2}([^*]+)\*{1,2}")


class SchemaDocsError(ValueError):
    """The README's schema sections are not in the shape this module reads."""


@dataclass
class Described:
    """One table or view: what a row is, and what each column holds (plain text)."""

    description: str
    columns: dict[str, str] = field(default_factory=dict)
    view: bool = False


@dataclass
class SchemaDocs:
    """The store's descriptions: the database's, and each table's and view's by name."""

    database: str
    tables: dict[str, Described] = field(default_factory=dict)

    def to_json(self) -> str:
        """The JSON form shipped as schema_docs.json."""
        tables = {
            name: {"description": d.description, "view": d.view, "columns": d.columns}
            for name, d in self.tables.items()
        }
        text = json.dumps({"database": self.database, "tables": tables}, indent=2)
        return text + "\n"

    @classmethod
    def from_json(cls, text: str) -> SchemaDocs:
        """The inverse of to_json()."""
        data = json.loads(text)
        tables = {
            name: Described(t["description"], dict(t["columns"]), bool(t["view"]))
            for name, t in data["tables"].items()
        }
        return cls(str(data["database"]), tables)


def plain(markdown: str) -> str:
    """Markdown as the plain text Datasette shows: no code marks, emphasis or link targets."""
    text = _LINK.sub(r"\1", markdown.replace("\\|", "|"))
    return _EMPHASIS.sub(r"\1", text.replace("`", "")).strip()


def _section(lines: list[str], heading: str) -> list[str]:
    """The lines under `heading`, up to the next heading of level 2 or 3."""
    try:
        start = lines.index(heading) + 1
    except ValueError as exc:
        raise SchemaDocsError(f"the README has no {heading!r} section") from exc
    end = next(
        (i for i in range(start, len(lines)) if lines[i].startswith(("## ", "### "))),
        len(lines),
    )
    return lines[start:end]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in _CELL_SPLIT.split(line.strip())[1:-1]]


def _entries(lines: list[str], view: bool) -> dict[str, Described]:
    """Each `**`name`**: sentence` paragraph with the column table that follows it."""
    found: dict[str, Described] = {}
    name = ""
    paragraph: list[str] = []
    for line in lines:
        entry = _ENTRY.match(line)
        if entry:
            name = entry["name"]
            found[name] = Described("", view=view)
            paragraph = [entry["text"]]
        elif paragraph and line.strip():
            paragraph.append(line.strip())
        elif paragraph:
            found[name].description = plain(" ".join(paragraph))
            paragraph = []
        elif name and line.startswith("| `"):
            cells = _cells(line)
            if len(cells) != 2:
                raise SchemaDocsError(f"`{name}`: a column row has {len(cells)} cells: {line}")
            for column in _NAMES.findall(cells[0]):
                found[name].columns[column] = plain(cells[1])
    for table, described in found.items():
        if not described.columns:
            raise SchemaDocsError(f"the README gives `{table}` no column table")
    return found


def parse_readme(text: str) -> SchemaDocs:
    """The descriptions in the README's schema sections. Raises SchemaDocsError when a
    section is missing or a table or view has no column table."""
    lines = text.splitlines()
    intro = _section(lines, MIRROR_SECTION)
    database = plain(" ".join(line.strip() for line in intro if line.strip()))
    docs = SchemaDocs(database)
    docs.tables.update(_entries(_section(lines, TABLES_SECTION), view=False))
    docs.tables.update(_entries(_section(lines, VIEWS_SECTION), view=True))
    return docs


def shipped() -> SchemaDocs:
    """The descriptions shipped with the package (schema_docs.json)."""
    return SchemaDocs.from_json((resources.files("store") / SHIPPED).read_text("utf-8"))


def main(argv: list[str]) -> None:
    """Rewrite schema_docs.json from the README named by argv[0] (default ./README.md)."""
    readme = Path(argv[0] if argv else "README.md")
    target = Path(__file__).with_name(SHIPPED)
    target.write_text(parse_readme(readme.read_text("utf-8")).to_json(), "utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
