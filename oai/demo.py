"""`oai demo`: two repositories served on 127.0.0.1, harvested into one mirror, deduplicated."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from sickle import Sickle

from harvester.jobs import HarvestJob, format_summary, harvest_all, summary_rows
from harvester.settings import SourceSettings
from oai import serving
from oai.config import Config
from oai.output import describe_works
from oaiformat.datestamps import utc_now
from provider.app import make_app
from provider.settings import ProviderSettings
from provider.token_keys import ensure_secret_file
from store.db import open_store
from store.transfer import import_file
from works.browse import related
from works.update import refresh as refresh_works

# A small page size, so the demo shows resumption tokens at work on nine records.
DEMO_PAGE_SIZE = 4
# Marks a folder the demo made, so a later run may replace it.
MARKER = ".oai-demo"
# The seed's conference paper: the demo ends with its related outputs.
CONFERENCE_PAPER = "oai:repository.example.org:8912z"


def sample_path(name: str = "sample.jsonl") -> Path:
    """A sample file shipped with the package (written from the seed record)."""
    return Path(str(resources.files("oai") / "data" / name))


@contextmanager
def _repository(
    folder: str, name: str, sample: Path, port: int, repository_identifier: str
) -> Iterator[str]:
    """Load a sample into a store of its own and serve it; yields its base URL."""
    db_path = str(Path(folder) / f"{name}.db")
    store = open_store(db_path)
    try:
        import_file(store, sample, repository_identifier, utc_now)
    finally:
        store.close()
    settings = ProviderSettings(
        repository_name=f"oai-mirror demo: {name}",
        repository_identifier=repository_identifier,
        page_size=DEMO_PAGE_SIZE,
    )
    server = serving.create_server(make_app(db_path, settings), "127.0.0.1", port, 2)
    thread = threading.Thread(target=server.run, daemon=True)  # type: ignore[attr-defined]
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}/oai"  # type: ignore[attr-defined]
    finally:
        server.close()  # type: ignore[attr-defined]
        thread.join(timeout=5)


class DemoError(Exception):
    """The demo cannot use the folder it was given."""


def fresh_folder(path: Path) -> None:
    """Make `path` an empty demo folder, replacing the one a previous demo left; a folder
    the demo did not make is never deleted."""
    if path.exists():
        if not (path / MARKER).exists() and (not path.is_dir() or any(path.iterdir())):
            raise DemoError(f"{path} exists and was not made by `oai demo`: choose --dir")
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / MARKER).write_text("made by `oai demo`; replaced by its next run\n", encoding="utf-8")


def run(config: Config, *, port: int, folder: Path, echo: Callable[[str], None]) -> None:
    """Serve the sample records and a second repository's copies of some of them; harvest
    the first with Sickle, then both with our harvester into a mirror kept in `folder`
    (replaced if a previous demo made it); print the conference paper's related outputs,
    each work once, and what to try next."""
    fresh_folder(folder)
    with (
        tempfile.TemporaryDirectory(prefix="oai-demo-") as served,
        _repository(served, "demo", sample_path(), port, "repository.example.org") as url,
        _repository(
            served, "elsewhere", sample_path("sample_elsewhere.jsonl"), 0, "eprints.example.ac.uk"
        ) as other_url,
    ):
        echo(f"serving the sample records on {url}, a second repository on {other_url}")
        echo(f"harvesting {url} with Sickle (page size {DEMO_PAGE_SIZE})")
        harvested = deleted = 0
        client = Sickle(url, max_retries=2, timeout=10)
        for record in client.ListRecords(metadataPrefix="oai_dc", ignore_deleted=False):
            harvested += 1
            if record.deleted:
                deleted += 1
                echo(f"  {record.header.identifier}  [deleted]")
            else:
                title = record.metadata.get("title", ["(no title)"])[0]
                echo(f"  {record.header.identifier}  {title[:70]}")
        echo(f"Sickle harvested {harvested} records ({deleted} deleted) from {url}")
        mirror = str(folder / "mirror.db")
        echo(f"harvesting both with oai-mirror's harvester into {mirror}")
        jobs = [
            HarvestJob(SourceSettings("demo", url)),
            HarvestJob(SourceSettings("elsewhere", other_url)),
        ]
        repository_identifier = config.provider.repository_identifier
        summaries = harvest_all(mirror, jobs, config.harvester, repository_identifier, 1)
        echo(format_summary(summary_rows(summaries)))
        store = open_store(mirror)
        try:
            echo(describe_works(refresh_works(store)))
            works = related(store.conn, CONFERENCE_PAPER)
        finally:
            store.close()
        echo(f"related outputs of {CONFERENCE_PAPER} ({len(works)} works, each once):")
        for work in works:
            members = ", ".join(f"{m['source']}:{m['identifier']}" for m in work["members"])
            echo(f"  {work['year']}  {work['title'][:70]}  [{members}]")
    ensure_secret_file(mirror, config.provider)
    for line in next_steps(mirror):
        echo(line)


def next_steps(mirror: str) -> list[str]:
    """What a newcomer can do with the mirror the demo kept."""
    return [
        "",
        f"The mirror is kept in {mirror} (the next `oai demo` replaces it). Try:",
        f"  oai --db {mirror} related {CONFERENCE_PAPER}",
        f"  oai --db {mirror} works --min-members 2",
        f"  oai --db {mirror} search 'peer support'",
        f"  oai --db {mirror} serve --port 8080    then open http://127.0.0.1:8080/oai",
        f"  oai --db {mirror} datasette-metadata > metadata.json",
        f"  datasette {mirror} --metadata metadata.json    (pip install -e '.[datasette]')",
    ]
