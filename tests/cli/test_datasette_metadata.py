"""`oai datasette-metadata`: the metadata the README's command line hands Datasette."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner
from datasette.app import Datasette

from oai.cli import main
from store.datasette_metadata import metadata
from store.schema_docs import shipped
from tests.conftest import SAMPLE


def test_the_metadata_names_the_store_as_datasette_does_and_finds_records(
    tmp_path: Path,
) -> None:
    db = tmp_path / "mirror.db"
    runner = CliRunner()
    assert runner.invoke(main, ["--db", str(db), "-q", "import", str(SAMPLE)]).exit_code == 0
    printed = runner.invoke(main, ["--db", str(db), "datasette-metadata"])
    assert printed.exit_code == 0, printed.output
    document = json.loads(printed.stdout)
    assert document == metadata("mirror", shipped())
    named = runner.invoke(main, ["--db", str(db), "datasette-metadata", "--name", "oai"])
    assert list(json.loads(named.stdout)["databases"]) == ["oai"]
    # As `datasette mirror.db --metadata metadata.json` serves it, search finds what
    # `oai search` finds.
    served = Datasette([str(db)], metadata=document)
    path = "/mirror/records.json?_search=peer+support&_shape=array&_col=local_identifier"
    answer = asyncio.run(served.client.get(path))
    assert answer.status_code == 200
    found = runner.invoke(main, ["--db", str(db), "search", "peer support", "--format", "json"])
    expected = {r["local_identifier"] for r in json.loads(found.stdout)}
    assert 0 < len(expected) < 8
    assert {r["local_identifier"] for r in answer.json()} == expected
