"""Tables people read: aligned in terminal columns (wide CJK characters take two), every
cut marked, identifiers shown by the tail that tells rows apart, and a sentence instead of
a bare header when nothing matched."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from oai.cli import main
from oai.output import MARK, MAX_CELL, Column, cut_end, cut_start, echo_rows, fields, width
from tests.cli.records import write_records

PREFIX = "oai:aggregator.example.org:some-source/oai:repository.example.org:"


def _table(rows: Sequence[Mapping[str, object]], columns: list[Column]) -> list[str]:
    runner = CliRunner()

    @click.command()
    def show() -> None:
        echo_rows([dict(r) for r in rows], "table", columns, empty="nothing")

    return runner.invoke(show).stdout.splitlines()


def test_width_counts_wide_characters_twice() -> None:
    assert width("abc") == 3
    assert width("中村由紀") == 8
    assert width("\uff26\uff55\uff4c\uff4c") == 8  # full-width Latin
    assert width("e\u0301") == 1  # a combining accent takes no column


@pytest.mark.parametrize("text", ["a" * 80, "中" * 50, "ab中" * 30])
def test_cuts_are_marked_and_fit(text: str) -> None:
    for cut in (cut_end, cut_start):
        shown = cut(text, 20)
        assert width(shown) <= 20 and MARK in shown
    assert cut_end(text, 20).endswith(MARK) and cut_start(text, 20).startswith(MARK)
    assert cut_end("short", 20) == "short"


def test_identifiers_keep_the_tail_that_tells_rows_apart() -> None:
    rows = [{"id": f"{PREFIX}{n:06d}", "title": "T" * 90} for n in (1, 2)]
    lines = _table(rows, fields("id", "title", identifiers=("id",)))
    assert lines[1].split()[0].endswith("000001") and lines[2].split()[0].endswith("000002")
    assert lines[1].split()[0].startswith(MARK)
    assert all(f"{'T' * (MAX_CELL - 1)}{MARK}" in line for line in lines[1:])


def test_wide_characters_are_aligned() -> None:
    rows = [
        {"name": "中村由紀", "works": 3},
        {"name": "Stirrup, Vicki", "works": 12},
        {"name": "김민준 (金敏俊)", "works": 1},
    ]
    lines = _table(rows, fields("name", "works"))
    # The second column starts at the same terminal column on every line.
    starts = {width(line[: line.rindex(" ") + 1]) for line in lines}
    assert len(starts) == 1, lines


def test_a_list_of_identifiers_shows_each_tail() -> None:
    members = [f"{PREFIX}{n:06d}" for n in range(4)]
    lines = _table([{"members": members}], [Column("members", lambda r: r["members"], True)])
    assert all(f"{n:06d}" in lines[1] for n in range(4))


def test_nothing_matched_is_said_in_words(tmp_path: Path) -> None:
    records = write_records(
        tmp_path / "r.jsonl", {"1": {"title": ["Alone"], "creator": ["Nobody, N."]}}
    )
    db = str(tmp_path / "m.db")
    assert CliRunner().invoke(main, ["--db", db, "import", str(records)]).exit_code == 0
    for args, said in (
        (["related", "oai:repository.example.org:1"], "no related works"),
        (["search", "nothing-like-this"], "no records found"),
        (["works", "review"], "no possible duplicates"),
        (["override", "list"], "no overrides"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "oai", "--db", db, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (done.returncode, done.stdout) == (0, said + "\n"), (args, done.stderr)
