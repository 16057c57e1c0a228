"""`oai search` as a subprocess: part of a CJK title finds it (bigrams, one character as a
prefix), `field:word` searches one field, and a store indexed before the bigrams is brought
up to date by the next write command."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from oai.cli import main
from tests.cli.records import write_records
from works.search import fts_query

RECORDS = {
    "ips": ("iPS細胞の研究について", "中村 由紀", "再生医療"),
    "tokyo": ("東京大学における教育の歴史", "佐藤 健", "教育史"),
    "korean": ("한국어 형태소 분석", "김민준", "언어학"),
    "graphene": ("Graphene transistors", "Zhang, Wei", "graphene; electronics"),
    "by-graphene": ("Carbon electronics", "Graphene, Anna", "materials"),
}


def _write(path: Path, names: list[str]) -> None:
    write_records(
        path,
        {
            name: {"title": [title], "creator": [creator], "subject": [subject]}
            for name, (title, creator, subject) in ((n, RECORDS[n]) for n in names)
        },
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("search")
    _write(folder / "r.jsonl", list(RECORDS))
    path = str(folder / "m.db")
    _import(path, folder / "r.jsonl")
    return path


def _import(db: str, records: Path) -> None:
    result = CliRunner().invoke(main, ["--db", db, "import", str(records)])
    assert result.exit_code == 0, result.output


def _found(db: str, query: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-m", "oai", "--db", db, "search", query, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {row["identifier"].rsplit(":", 1)[1] for row in json.loads(done.stdout)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("細胞", {"ips"}),  # inside a longer run
        ("研究", {"ips"}),
        ("胞", {"ips"}),  # one character
        ("iPS細胞", {"ips"}),  # Latin and CJK in one word
        ("iPS", {"ips"}),
        ("東京大学", {"tokyo"}),
        ("教育の歴史", {"tokyo"}),
        ("史", {"tokyo"}),  # the last character of a run
        ("형태소", {"korean"}),
        ("由紀", {"ips"}),  # a creator
        ("東大", set()),  # not a substring: no match
        ("graphene", {"graphene", "by-graphene"}),
        ("title:graphene", {"graphene"}),
        ("creator:graphene", {"by-graphene"}),
        ("author:graphene", {"by-graphene"}),
        ("subject:教育史", {"tokyo"}),
        ('title:"graphene transistors"', {"graphene"}),
        ("title:歴史", {"tokyo"}),
        ("creator:歴史", set()),
        ("細胞*", {"ips"}),  # a prefix star after a run
        ('x"細胞', set()),  # a quote typed into the word is searched for, not parsed
    ],
)
def test_search_finds(db: str, query: str, expected: set[str]) -> None:
    assert _found(db, query) == expected


def test_titles_are_shown_as_written(db: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "oai", "--db", db, "search", "細胞", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (row,) = json.loads(done.stdout)
    assert (row["title"], row["creators"]) == ("iPS細胞の研究について", ["中村 由紀"])


def test_a_store_indexed_before_the_bigrams_is_upgraded_by_a_write(tmp_path: Path) -> None:
    _write(tmp_path / "r.jsonl", ["ips"])
    db = str(tmp_path / "m.db")
    assert (
        CliRunner().invoke(main, ["--db", db, "import", str(tmp_path / "r.jsonl")]).exit_code == 0
    )
    conn = sqlite3.connect(db)
    with conn:  # as an older program indexed it: the run as one word, no version kept
        conn.execute("UPDATE records_fts SET title = 'iPS細胞の研究について'")
        conn.execute("DELETE FROM store_meta WHERE key = 'search_version'")
    conn.close()
    assert _found(db, "細胞") == set()
    _write(tmp_path / "more.jsonl", ["graphene"])
    assert (
        CliRunner().invoke(main, ["--db", db, "import", str(tmp_path / "more.jsonl")]).exit_code
        == 0
    )
    assert _found(db, "細胞") == {"ips"}


def test_the_query_syntax() -> None:
    assert fts_query("peer support") == "peer support"
    assert fts_query("co-produced") == '"co-produced"'
    assert fts_query("title:graphene OR creator:smith") == "title : graphene OR creators : smith"
    assert fts_query("東京大学") == '"東京 京大 大学"'
    assert fts_query("京") == "京*"
    assert fts_query("nosuchfield:x") == '"nosuchfield:x"'
