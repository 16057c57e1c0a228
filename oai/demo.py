"""`oai demo`: the sample records served on 127.0.0.1 and harvested by a real client."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from sickle import Sickle

from harvester.settings import SourceSettings
from oai import serving
from oai.config import Config
from oai.harvesting import HarvestJob, format_summary, harvest_all, summary_rows
from provider.app import make_app
from provider.settings import ProviderSettings
from store.datestamps import format_utc
from store.db import open_store
from store.transfer import import_file

# A small page size, so the demo shows resumption tokens at work on nine records.
DEMO_PAGE_SIZE = 4


def sample_path() -> Path:
    """The sample records shipped with the package (written from the seed record)."""
    return Path(str(resources.files("oai") / "data" / "sample.jsonl"))


def run(config: Config, *, port: int, echo: Callable[[str], None]) -> None:
    """Load the sample into a temporary store and serve it; harvest it with Sickle, then
    with our own harvester into a second store, and print what each received."""
    with tempfile.TemporaryDirectory(prefix="oai-demo-") as folder:
        db_path = str(Path(folder) / "demo.db")
        store = open_store(db_path)
        try:
            result = import_file(
                store,
                sample_path(),
                config.provider.repository_identifier,
                lambda: format_utc(datetime.now(UTC)),
            )
        finally:
            store.close()
        echo(f"loaded {result.records} sample records into {db_path}")
        settings = ProviderSettings(
            repository_name="oai-mirror demo",
            repository_identifier=config.provider.repository_identifier,
            page_size=DEMO_PAGE_SIZE,
        )
        server = serving.create_server(make_app(db_path, settings), "127.0.0.1", port, 2)
        url = f"http://127.0.0.1:{server.effective_port}/oai"  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.run, daemon=True)  # type: ignore[attr-defined]
        thread.start()
        try:
            echo(f"serving on {url}; harvesting it with Sickle (page size {DEMO_PAGE_SIZE})")
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
            mirror = str(Path(folder) / "mirror.db")
            echo(f"harvesting {url} with oai-mirror's harvester into {mirror}")
            job = HarvestJob(SourceSettings("demo", url))
            summaries = harvest_all(
                mirror, [job], config.harvester, config.provider.repository_identifier, 1
            )
            echo(format_summary(summary_rows(summaries)))
        finally:
            server.close()  # type: ignore[attr-defined]
            thread.join(timeout=5)
