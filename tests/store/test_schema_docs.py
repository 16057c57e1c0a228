"""The README's schema sections are the single source of the descriptions: they describe
exactly the schema of a fresh store, and the JSON copy shipped with the package is theirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from store.db import Store, open_store
from store.schema_docs import SchemaDocs, SchemaDocsError, parse_readme, plain, shipped

README = Path(__file__).resolve().parents[2] / "README.md"
# SQLite's and FTS5's own tables: not part of the interface.
_FTS_SHADOWS = ("_config", "_content", "_data", "_docsize", "_idx")


@pytest.fixture(scope="module")
def readme_docs() -> SchemaDocs:
    return parse_readme(README.read_text(encoding="utf-8"))


@pytest.fixture
def fresh(tmp_path: Path) -> Store:
    return open_store(tmp_path / "fresh.db")


def _schema(store: Store) -> dict[str, tuple[bool, list[str]]]:
    """Every table and view of the store: (is a view, its columns)."""
    rows = store.conn.execute(
        "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')"
        " AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    virtual = {
        name for (name,) in store.conn.execute("SELECT name FROM sqlite_master WHERE rootpage = 0")
    }
    found = {}
    for name, kind in rows:
        if any(name == f"{v}{suffix}" for v in virtual for suffix in _FTS_SHADOWS):
            continue
        columns = [row[1] for row in store.conn.execute(f"PRAGMA table_info([{name}])")]
        found[name] = (kind == "view", columns)
    return found


def test_the_readme_describes_every_table_view_and_column_and_nothing_else(
    readme_docs: SchemaDocs, fresh: Store
) -> None:
    schema = _schema(fresh)
    assert sorted(readme_docs.tables) == sorted(schema)
    for name, (view, columns) in schema.items():
        described = readme_docs.tables[name]
        assert described.view == view, f"{name}: under the wrong README section"
        assert sorted(described.columns) == sorted(columns), name
        assert described.description, name
        assert all(described.columns.values()), name


def test_the_shipped_copy_is_the_readmes(readme_docs: SchemaDocs) -> None:
    # On failure: python -m store.schema_docs README.md
    assert shipped() == readme_docs


def test_descriptions_are_plain_text(readme_docs: SchemaDocs) -> None:
    records = readme_docs.tables["records"]
    assert records.columns["source"] == "the source (sources.name)"
    # A row naming several columns gives each the same meaning.
    assert records.columns["header_xml"] == records.columns["record_xml"]
    assert readme_docs.tables["match_features"].columns["creators"].endswith("|-separated")
    assert plain("see [Where](#where) and *this*: `a`") == "see Where and this: a"


def _readme(tables: str) -> str:
    return f"## The SQLite mirror\n\nOne file.\n\n### Tables\n\n{tables}\n### Views for analysts\n"


def test_the_readme_shape_is_checked() -> None:
    table = "**`sets`**: set names.\n\n| column | meaning |\n|---|---|\n| `source` | the source |\n"
    docs = parse_readme(_readme(table))
    assert docs.database == "One file."
    assert docs.tables["sets"].columns == {"source": "the source"}
    with pytest.raises(SchemaDocsError, match="`sets` no column table"):
        parse_readme(_readme("**`sets`**: set names.\n"))
    with pytest.raises(SchemaDocsError, match="3 cells"):
        parse_readme(_readme(table.replace("the source |", "the source | more |")))
    with pytest.raises(SchemaDocsError, match="Views for analysts"):
        parse_readme(_readme(table).replace("### Views for analysts", "### Views"))
