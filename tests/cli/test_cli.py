"""The `oai` command: exit codes, stdout/stderr discipline, import/export, serve --get, help."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from oai.cli import main
from tests.conftest import SAMPLE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_import_then_export_round_trips_the_sample(runner: CliRunner, tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    first = runner.invoke(main, ["--db", db, "import", str(SAMPLE)])
    assert first.exit_code == 0, first.output
    assert "8 added" in first.stdout and "1 deleted" in first.stdout
    again = runner.invoke(main, ["--db", db, "import", str(SAMPLE)])
    assert "9 unchanged" in again.stdout
    exported = runner.invoke(main, ["--db", db, "export"])
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    original = {
        json.loads(line)["identifier"]: json.loads(line)
        for line in SAMPLE.read_text(encoding="utf-8").splitlines()
    }
    assert len(rows) == 9
    for row in rows:
        expected = original[row["identifier"]]
        assert {k: row[k] for k in expected} == expected
        assert row["local_identifier"] == row["identifier"]


def test_malformed_import_names_file_and_line_and_keeps_the_store(
    runner: CliRunner, tmp_path: Path
) -> None:
    db = str(tmp_path / "m.db")
    runner.invoke(main, ["--db", db, "import", str(SAMPLE)])
    before = runner.invoke(main, ["--db", db, "export"]).stdout
    bad = tmp_path / "bad.jsonl"
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    changed = json.loads(lines[1])
    changed["metadata"]["title"] = ["Changed title"]
    bad.write_text("\n".join([json.dumps(changed), "{not json"]) + "\n", encoding="utf-8")
    result = runner.invoke(main, ["--db", db, "import", str(bad), str(SAMPLE)])
    assert result.exit_code == 1
    assert f"{bad}:2" in result.stderr
    assert "not imported" in result.stderr
    assert runner.invoke(main, ["--db", db, "export"]).stdout == before


def test_import_reads_an_oai_pmh_response(runner: CliRunner, tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    runner.invoke(main, ["--db", db, "import", str(SAMPLE)])
    served = runner.invoke(
        main, ["--db", db, "serve", "--get", "/oai?verb=ListRecords&metadataPrefix=oai_dc"]
    )
    assert served.exit_code == 0
    xml = tmp_path / "page.xml"
    xml.write_text(served.stdout, encoding="utf-8")
    other = str(tmp_path / "other.db")
    result = runner.invoke(main, ["--db", other, "import", str(xml)])
    assert result.exit_code == 0, result.output
    assert "8 added" in result.stdout and "1 deleted" in result.stdout


def test_serve_get_answers_in_process(runner: CliRunner, tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    assert runner.invoke(main, ["--db", db, "import", str(SAMPLE)]).exit_code == 0
    result = runner.invoke(main, ["--db", db, "serve", "--get", "/oai?verb=Identify"])
    assert result.exit_code == 0
    assert "<repositoryName>OAI-PMH mirror</repositoryName>" in result.stdout
    missing = runner.invoke(main, ["--db", str(tmp_path / "m.db"), "serve", "--get", "/nope"])
    assert missing.exit_code == 1


def test_bad_config_exits_1_with_one_line(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[provider]\npage_size = -1\n", encoding="utf-8")
    result = runner.invoke(main, ["--config", str(config), "export"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "provider.page_size" in result.stderr


def test_usage_error_exits_2(runner: CliRunner) -> None:
    assert runner.invoke(main, ["export", "--format", "xml"]).exit_code == 2
    assert runner.invoke(main, ["no-such-command"]).exit_code == 2


def test_not_a_store_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    result = runner.invoke(main, ["--db", str(junk), "export"])
    assert result.exit_code == 1
    assert str(junk) in result.stderr


def test_demo_harvests_the_sample_over_http(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "Sickle harvested 9 records (1 deleted)" in result.stdout
    assert "demo: completed: 8 added, 0 updated, 1 deleted" in result.stdout
    assert "elsewhere: completed: 4 added" in result.stdout
    # The conference paper's related outputs: its seven other works, each once, the two
    # deposited in both repositories listed with both records.
    listed = result.stdout.split("related outputs of oai:repository.example.org:8912z")[1]
    listed = listed.split("\n\n")[0]  # the next steps follow a blank line
    lines = [line for line in listed.splitlines()[1:] if line.strip()]
    assert len(lines) == 7
    assert "(7 works, each once)" in listed
    knowledge = [line for line in lines if "transfer partnerships" in line]
    assert len(knowledge) == 1
    assert "elsewhere:oai:eprints.example.ac.uk:4410" in knowledge[0]
    assert not [line for line in lines if "collective investment" in line or "Bellamy" in line]
    # The mirror is kept for the newcomer, with the next steps named.
    kept = tmp_path / "oai-demo" / "mirror.db"
    assert f"The mirror is kept in {Path('oai-demo') / 'mirror.db'}" in result.stdout
    assert f"oai --db {Path('oai-demo') / 'mirror.db'} related" in result.stdout
    related = runner.invoke(
        main, ["--db", str(kept), "related", "oai:repository.example.org:8912z", "--format", "json"]
    )
    assert related.exit_code == 0, related.output
    assert len(json.loads(related.stdout)) == 7
    # The next run replaces it.
    (tmp_path / "oai-demo" / "scratch.txt").write_text("left by the user", encoding="utf-8")
    again = runner.invoke(main, ["demo"])
    assert again.exit_code == 0, again.output
    assert kept.exists() and not (tmp_path / "oai-demo" / "scratch.txt").exists()


def test_demo_never_deletes_a_folder_it_did_not_make(runner: CliRunner, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious", encoding="utf-8")
    result = runner.invoke(main, ["demo", "--dir", str(mine)])
    assert result.exit_code == 1
    assert "not made by `oai demo`" in result.stderr
    assert (mine / "thesis.tex").read_text(encoding="utf-8") == "precious"


def _commands(group: click.Group = main, prefix: str = "") -> dict[str, click.Command]:
    """Every visible command by its full name, subcommands of groups included."""
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        if command.hidden:
            continue
        found[prefix + name] = command
        if isinstance(command, click.Group):
            found.update(_commands(command, f"{prefix}{name} "))
    return found


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_has_help_with_an_example_and_a_readme_entry(name: str) -> None:
    command = _commands()[name]
    assert command.help and "Example" in command.help
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    *parents, last = name.split(" ")
    # A subcommand is named in full (`oai works recompute`) or after its group's entry
    # (`oai override join KEY INTO` / `split ...`).
    written = rf"`oai {name}\b" if not parents else rf"`oai {' '.join(parents)}\b[^\n]*\b{last}\b"
    assert re.search(written, readme), f"README lacks `oai {name}`"


def test_installed_console_script_runs() -> None:
    script = shutil.which("oai")
    command = [script] if script else [sys.executable, "-m", "oai"]
    done = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    assert "serve" in done.stdout


def test_global_options_after_the_command_name(runner: CliRunner, tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    imported = runner.invoke(main, ["import", str(SAMPLE), "--db", db, "-q"])
    assert imported.exit_code == 0, imported.output
    found = runner.invoke(main, ["search", "peer support", "--db", db, "--format", "json"])
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)
    for args in (["status", "-q"], ["works", "review"], ["override", "list"], ["export"]):
        result = runner.invoke(main, [*args, "--db", db])
        assert result.exit_code == 0, (args, result.output)
    # After the name wins over before it: the store named first does not exist.
    later = runner.invoke(main, ["--db", str(tmp_path / "none.db"), "sources", "--db", db])
    assert later.exit_code == 0, later.output
    missing = runner.invoke(main, ["sources", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 1
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_shows_the_global_options(runner: CliRunner, name: str) -> None:
    shown = runner.invoke(main, [*name.split(), "--help"])
    assert shown.exit_code == 0
    for flag in ("--config", "--db", "--verbose", "--quiet"):
        assert flag in shown.stdout, (name, flag)


@pytest.mark.parametrize(
    "args",
    [["--name", "x"], ["--set", "cs"], ["--prefix", "marc21"], ["--from", "2020-01-01"]],
)
def test_adhoc_options_without_url_are_usage_errors(
    runner: CliRunner, tmp_path: Path, args: list[str]
) -> None:
    result = runner.invoke(main, ["--db", str(tmp_path / "m.db"), "harvest", *args])
    assert result.exit_code == 2
    assert "--url" in result.stderr
    assert not (tmp_path / "m.db").exists()


def test_a_config_named_after_the_command_is_the_one_read(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings are read when the command runs: a broken ./config.toml does not fail a
    command whose --config, after its name, names a good one; without it, it is the error."""
    db = str(tmp_path / "m.db")
    good = tmp_path / "good.toml"
    good.write_text(f'[store]\npath = "{db}"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text("[store\nbroken", encoding="utf-8")
    imported = runner.invoke(main, ["import", str(SAMPLE), "--config", str(good), "-q"])
    assert imported.exit_code == 0, imported.output
    found = runner.invoke(main, ["search", "peer support", "--config", str(good)])
    assert found.exit_code == 0 and found.stdout, found.output
    nested = runner.invoke(main, ["works", "review", "--config", str(good)])
    assert nested.exit_code == 0, nested.output
    broken = runner.invoke(main, ["search", "peer support"])
    assert broken.exit_code == 1 and "config.toml" in broken.stderr
