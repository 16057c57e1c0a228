"""Regenerate the README's screenshots: `python -m docs.screenshots`.

Serves the sample records (both sample files, with their works) on 127.0.0.1 with a fixed
clock, base URL and token secret, so the pictures change only when the pages do, and has
headless Chromium take one PNG per page into docs/: the provider's HTML view, and the same
mirror opened in Datasette with the project's metadata and plugin.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode
from wsgiref.simple_server import WSGIRequestHandler, make_server

from provider.app import make_app
from provider.settings import ProviderSettings
from store.datasette_metadata import metadata as datasette_metadata
from store.schema_docs import shipped
from tests.chromium import find_chromium, screenshot
from tests.conftest import REPOSITORY_IDENTIFIER
from tests.provider.stores import WORK_PAPER, build_works

logger = logging.getLogger("docs.screenshots")

DOCS = Path(__file__).resolve().parent
WIDTH = 1000
# (file, query, window height): the pages the README shows.
PAGES: tuple[tuple[str, str, int], ...] = (
    ("html-home.png", "", 720),
    ("html-list-records.png", "verb=ListRecords&metadataPrefix=oai_dc", 660),
    (
        "html-get-record.png",
        urlencode({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": WORK_PAPER}),
        1200,
    ),
    ("html-error.png", "verb=ListRecords&metadataPrefix=oai_dc&from=2024-13-01", 580),
)
SETTINGS = ProviderSettings(
    repository_name="oai-mirror sample repository",
    base_url="https://repository.example.org/oai",
    repository_identifier=REPOSITORY_IDENTIFIER,
    page_size=4,
    token_secret="screenshots",  # noqa: S106 - fixed, so the next-page link stays the same
)
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
# (file, path, window height): the Datasette pages the README shows.
DATASETTE_PAGES: tuple[tuple[str, str, int], ...] = (
    ("datasette-records.png", "/mirror/records?_search=peer+support&_nofacet=1", 1400),
    ("datasette-work.png", "/mirror/works/1", 380),
)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _datasette(db_path: str, folder: Path) -> Iterator[str]:
    """Datasette for `db_path` (with `oai datasette-metadata`'s metadata) on 127.0.0.1;
    yields its base URL."""
    metadata = folder / "metadata.json"
    metadata.write_text(json.dumps(datasette_metadata("mirror", shipped())), encoding="utf-8")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "datasette", "serve", db_path, "--metadata", str(metadata)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/versions.json", timeout=2):  # noqa: S310 - 127.0.0.1
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def _serving(db_path: str) -> Iterator[str]:
    """The provider for `db_path` on 127.0.0.1:0 in a thread; yields the endpoint URL."""
    server = make_server(
        "127.0.0.1", 0, make_app(db_path, SETTINGS, clock=lambda: NOW), handler_class=_Quiet
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/oai"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def main() -> int:
    """Write every screenshot; returns the exit status (1 without Chromium)."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logger.setLevel(logging.INFO)
    chromium = find_chromium()
    if chromium is None:
        logger.error("Chromium is not installed (Debian: apt-get install chromium)")
        return 1
    with tempfile.TemporaryDirectory(prefix="oai-screenshots-") as folder:
        db_path = build_works(Path(folder) / "mirror.db", hostile=False)
        with _serving(db_path) as url:
            for name, query, height in PAGES:
                target = DOCS / name
                page = f"{url}?{query}" if query else url
                screenshot(chromium, page, target, (WIDTH, height), Path(folder) / "profile")
                logger.info("wrote %s", target.relative_to(DOCS.parent))
        with _datasette(db_path, Path(folder)) as url:
            for name, path, height in DATASETTE_PAGES:
                target = DOCS / name
                screenshot(chromium, url + path, target, (WIDTH, height), Path(folder) / "profile")
                logger.info("wrote %s", target.relative_to(DOCS.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
