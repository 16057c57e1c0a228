"""Third-party harvesters (Sickle, oaipmh-scythe) harvest the real `oai serve` process."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import wsgiref.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from oaipmh_scythe import Scythe
from sickle import Sickle
from sickle.iterator import OAIResponseIterator
from waitress.buffers import ReadOnlyFileBasedBuffer

from oai.serving import request_once
from oaiformat.namespaces import NS_OAI
from provider.app import FILE_WRAPPER_FROM, make_app
from provider.settings import ProviderSettings
from store.db import open_store
from store.transfer import export_rows
from tests.conftest import REPOSITORY_IDENTIFIER, filled_store_file
from tests.xsd import ResponseValidator

REPO = Path(__file__).resolve().parents[2]
PAGE_SIZE = 7
EXTRA_LOCAL = 50
STARTUP_SECONDS = 30.0
SERVING = re.compile(r"serving OAI-PMH on (http://127\.0\.0\.1:\d+/oai)")
CONFIG = f"""\
[provider]
page_size = {PAGE_SIZE}
repository_identifier = "{REPOSITORY_IDENTIFIER}"
"""


@dataclass(frozen=True)
class Served:
    """A running `oai serve` process: its URL and the store it serves."""

    url: str
    db_path: Path
    config_path: Path


def make_store(directory: Path) -> tuple[Path, Path]:
    """A store with the sample, a harvested source and 50 generated records; its config."""
    db_path = filled_store_file(directory / "mirror.db", extra_local=EXTRA_LOCAL)
    config_path = directory / "config.toml"
    config_path.write_text(CONFIG, "utf-8")
    return db_path, config_path


def oai_command(config_path: Path, db_path: Path, *args: str) -> list[str]:
    """The command line of the installed CLI, run by this interpreter."""
    return [sys.executable, "-m", "oai", "--config", str(config_path), "--db", str(db_path), *args]


def _wait_for_url(process: subprocess.Popen[bytes], log_path: Path) -> str:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        found = SERVING.search(log_path.read_text("utf-8", "replace"))
        if found:
            return found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail(f"oai serve did not start:\n{log_path.read_text('utf-8', 'replace')}")


def _wait_until_answering(url: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}?verb=Identify", timeout=5) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.05)
    pytest.fail(f"oai serve at {url} did not answer within {STARTUP_SECONDS} s")


@contextmanager
def oai_serve(db_path: Path, config_path: Path) -> Iterator[Served]:
    """Run `oai serve --port 0` as a subprocess; yield once it answers; always end it."""
    log_path = db_path.with_suffix(".serve.log")
    command = oai_command(config_path, db_path, "serve", "--host", "127.0.0.1", "--port", "0")
    with log_path.open("wb") as log:
        # stderr goes to a file, not a pipe: nobody has to drain it while the tests run.
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, cwd=REPO)
        try:
            url = _wait_for_url(process, log_path)
            _wait_until_answering(url)
            yield Served(url, db_path, config_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`oai serve` over a store of about 60 records, 7 a page, for the whole module."""
    db_path, config_path = make_store(tmp_path_factory.mktemp("clients"))
    with oai_serve(db_path, config_path) as running:
        yield running


def store_states(db_path: Path) -> dict[str, bool]:
    """Every record's local identifier and whether it is deleted, read from the store."""
    store = open_store(db_path)
    try:
        rows = store.conn.execute("SELECT local_identifier, deleted FROM records").fetchall()
    finally:
        store.close()
    return {str(identifier): bool(deleted) for identifier, deleted in rows}


def store_titles(db_path: Path) -> dict[str, list[str]]:
    """The title values of every live record."""
    store = open_store(db_path)
    try:
        rows = store.conn.execute(
            "SELECT local_identifier, metadata FROM records WHERE deleted = 0"
        ).fetchall()
    finally:
        store.close()
    titles = {}
    for identifier, metadata in rows:
        values = json.loads(metadata).get("title", [])
        titles[str(identifier)] = [v if isinstance(v, str) else v["value"] for v in values]
    return titles


def assert_each_once(harvested: list[tuple[str, bool]], expected: dict[str, bool]) -> None:
    """Every record exactly once, with its deleted flag."""
    identifiers = [identifier for identifier, _ in harvested]
    duplicates = sorted({i for i in identifiers if identifiers.count(i) > 1})
    assert not duplicates, f"served more than once: {duplicates}"
    assert dict(harvested) == expected


# --- (a) Sickle ---------------------------------------------------------------------------


def test_sickle_list_records_gets_every_record_once(served: Served) -> None:
    sickle = Sickle(served.url, timeout=30)
    records = list(sickle.ListRecords(metadataPrefix="oai_dc", ignore_deleted=False))
    expected = store_states(served.db_path)
    assert len(expected) > 6 * PAGE_SIZE  # several pages
    assert_each_once([(r.header.identifier, r.header.deleted) for r in records], expected)
    titles = store_titles(served.db_path)
    for record in records:
        if not record.header.deleted:
            assert record.metadata.get("title", []) == titles[record.header.identifier]


def test_sickle_list_identifiers_gets_every_header_once(served: Served) -> None:
    sickle = Sickle(served.url, timeout=30)
    headers = list(sickle.ListIdentifiers(metadataPrefix="oai_dc", ignore_deleted=False))
    assert_each_once([(h.identifier, h.deleted) for h in headers], store_states(served.db_path))


def test_sickle_pages_by_seven(served: Served, response_validator: ResponseValidator) -> None:
    sickle = Sickle(served.url, iterator=OAIResponseIterator, timeout=30)
    sizes = []
    for page in sickle.ListIdentifiers(metadataPrefix="oai_dc"):
        assert not response_validator.problems(page.http_response.content)
        sizes.append(len(page.xml.findall(f".//{{{NS_OAI}}}header")))
    total = len(store_states(served.db_path))
    assert sizes == [PAGE_SIZE] * (total // PAGE_SIZE) + (
        [total % PAGE_SIZE] if total % PAGE_SIZE else []
    )


def test_sickle_ignore_deleted_skips_tombstones(served: Served) -> None:
    sickle = Sickle(served.url, timeout=30)
    headers = sickle.ListIdentifiers(metadataPrefix="oai_dc", ignore_deleted=True)
    live = {h.identifier for h in headers}
    sickle_records = sickle.ListRecords(metadataPrefix="oai_dc", ignore_deleted=True)
    assert {r.header.identifier for r in sickle_records} == live
    expected = store_states(served.db_path)
    assert live == {identifier for identifier, deleted in expected.items() if not deleted}


# --- (b) oaipmh-scythe --------------------------------------------------------------------


def test_scythe_list_records_gets_every_record_once(served: Served) -> None:
    with Scythe(served.url) as scythe:
        # Items, not OAIResponses, with the default iterator (the union type says either).
        records: list[Any] = list(
            scythe.list_records(metadata_prefix="oai_dc", ignore_deleted=False)
        )
    harvested = [(r.header.identifier, r.header.deleted) for r in records]
    assert_each_once(harvested, store_states(served.db_path))
    titles = store_titles(served.db_path)
    for record in records:
        if not record.header.deleted:
            assert record.metadata.get("title", []) == titles[record.header.identifier]


def test_scythe_list_identifiers_gets_every_header_once(served: Served) -> None:
    with Scythe(served.url) as scythe:
        headers: list[Any] = list(
            scythe.list_identifiers(metadata_prefix="oai_dc", ignore_deleted=False)
        )
    assert_each_once([(h.identifier, h.deleted) for h in headers], store_states(served.db_path))


def test_scythe_identify_and_sets(served: Served) -> None:
    with Scythe(served.url) as scythe:
        identify: Any = scythe.identify()
        sets: list[Any] = list(scythe.list_sets())
    specs = [s.setSpec for s in sets]
    assert identify.baseURL == served.url
    assert identify.deletedRecord == "persistent"  # set from the XML, unknown to mypy
    assert len(specs) == len(set(specs))
    assert {"generated", "generated:batch", "arxiv"} <= set(specs)


# --- (c) a harvest while another process imports ------------------------------------------


def _headers(page: Any) -> list[tuple[str, bool]]:
    return [
        (h.findtext(f"{{{NS_OAI}}}identifier") or "", h.get("status") == "deleted")
        for h in page.xml.iter(f"{{{NS_OAI}}}header")
    ]


def _import_round(
    served: Served, current: dict[str, dict[str, Any]], round_number: int
) -> set[str]:
    """Change, delete and add local records in a separate `oai import` process.

    The file holds every local record (most unchanged), so it also re-imports unchanged ones.
    Returns the local identifiers it changed or added.
    """
    prefix = f"oai:{REPOSITORY_IDENTIFIER}:"
    sample = sorted(i for i in current if not i.startswith(f"{prefix}gen-"))
    # One record most likely served already (the sample sorts first), one not yet (the last
    # generated ones sort last), one turned into a tombstone, two new.
    touched = {
        sample[round_number % len(sample)],
        f"{prefix}gen-{EXTRA_LOCAL - round_number:05d}",
    }
    for identifier in touched:
        row = current[identifier]
        row["deleted"] = False
        row["metadata"] = {**row["metadata"], "title": [f"Changed in round {round_number}"]}
    gone = f"{prefix}gen-{EXTRA_LOCAL - 20 - round_number:05d}"
    current[gone] = {**current[gone], "deleted": True, "metadata": {}}
    new = {f"{prefix}new-{round_number}-{i}" for i in range(2)}
    for identifier in new:
        current[identifier] = {
            "identifier": identifier,
            "datestamp": "2024-06-01T00:00:00Z",
            "sets": ["generated:late"],
            "metadata": {"title": [f"Added in round {round_number}"]},
        }
    path = served.db_path.with_name(f"round-{round_number}.jsonl")
    path.write_text("".join(json.dumps(row) + "\n" for row in current.values()), "utf-8")
    done = subprocess.run(
        oai_command(served.config_path, served.db_path, "import", str(path)),
        capture_output=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    return touched | {gone} | new


@pytest.mark.parametrize("verb", ["ListRecords", "ListIdentifiers"])
def test_harvest_while_another_process_imports(
    verb: str, tmp_path: Path, response_validator: ResponseValidator
) -> None:
    db_path, config_path = make_store(tmp_path)
    before = store_states(db_path)
    store = open_store(db_path)
    try:
        current = {row["identifier"]: row for row in export_rows(store, "local")}
    finally:
        store.close()
    with oai_serve(db_path, config_path) as served:
        sickle = Sickle(served.url, iterator=OAIResponseIterator, timeout=30)
        pages = getattr(sickle, verb)(metadataPrefix="oai_dc")
        first = next(pages)
        response_date = first.xml.findtext(f"{{{NS_OAI}}}responseDate")
        harvested = _headers(first)
        changed: set[str] = set()
        for round_number in range(1, 3 * len(before) // PAGE_SIZE):  # bounded
            changed |= _import_round(served, current, round_number)
            try:
                page = next(pages)
            except StopIteration:
                break
            assert not response_validator.problems(page.http_response.content)
            harvested += _headers(page)
        else:
            pytest.fail("the list did not end")
        incremental = {
            header.identifier: header.deleted
            for header in Sickle(served.url, timeout=30).ListIdentifiers(
                metadataPrefix="oai_dc", ignore_deleted=False, **{"from": response_date}
            )
        }
    after = store_states(db_path)
    identifiers = [identifier for identifier, _ in harvested]
    served_ids = set(identifiers)
    # No record twice, and nothing written after the list began (it is frozen at its start).
    assert len(identifiers) == len(served_ids)
    assert served_ids <= set(before)
    # Every record not changed during the list is in it exactly once, as it was (§3.5.1).
    unchanged = set(before) - changed
    assert unchanged <= served_ids
    assert {i: d for i, d in harvested if i in unchanged} == {i: before[i] for i in unchanged}
    # Both cases happened: changed after being served, and changed before being served.
    assert changed & served_ids
    assert changed & (set(before) - served_ids)
    # A record changed before its page may be left out (protocol §3.5.1 promises only the
    # unchanged ones); the next incremental harvest, from the list's responseDate, brings
    # it in its new state, with the records added meanwhile (README, resumption tokens).
    assert changed <= set(incremental)
    assert {i: incremental[i] for i in changed} == {i: after[i] for i in changed}
    assert served_ids | set(incremental) == set(after)


def test_a_large_page_arrives_whole_through_waitress(
    tmp_path: Path, response_validator: ResponseValidator
) -> None:
    """A page above FILE_WRAPPER_FROM goes to waitress as a wrapped file: plain, gzipped and
    HEAD, it arrives as the app answers it in process, with its Content-Length."""
    db_path, _ = make_store(tmp_path)
    config_path = tmp_path / "large-pages.toml"
    config_path.write_text(CONFIG.replace(f"page_size = {PAGE_SIZE}", "page_size = 100"), "utf-8")
    settings = ProviderSettings(repository_identifier=REPOSITORY_IDENTIFIER, page_size=100)
    query = "verb=ListRecords&metadataPrefix=oai_dc"
    _, in_process = request_once(make_app(str(db_path), settings), f"/oai?{query}")
    assert len(in_process) >= FILE_WRAPPER_FROM
    with oai_serve(db_path, config_path) as running:
        lengths = {}
        for method, coding in (("GET", "identity"), ("GET", "gzip"), ("HEAD", "identity")):
            request = urllib.request.Request(
                f"{running.url}?{query}", method=method, headers={"Accept-Encoding": coding}
            )
            with urllib.request.urlopen(request, timeout=30) as reply:
                raw = reply.read()
                lengths[method, coding] = int(reply.headers["Content-Length"])
            if method == "HEAD":
                assert raw == b""
                continue
            assert len(raw) == lengths[method, coding]
            body = gzip.decompress(raw) if coding == "gzip" else raw
            assert not response_validator.problems(body)
            # The same records and token; only the date and the endpoint's URL differ.
            assert body.partition(b"</request>")[2] == in_process.partition(b"</request>")[2]
        assert lengths["HEAD", "identity"] == lengths["GET", "identity"]


def _start_response(
    status: str, headers: list[tuple[str, str]], exc_info: Any = None
) -> Callable[[bytes], object]:
    return lambda data: None


@pytest.mark.parametrize("server", ["waitress", "another"])
def test_only_large_bodies_are_handed_to_waitress_as_a_file(tmp_path: Path, server: str) -> None:
    """waitress gets large bodies as its file wrapper; small ones, and every body for a
    server whose wrapper was not measured, as a list."""
    db_path, _ = make_store(tmp_path)
    app = make_app(str(db_path), ProviderSettings(repository_identifier=REPOSITORY_IDENTIFIER))
    lists = "verb=ListRecords&metadataPrefix=oai_dc"
    for query, large in ((lists, True), ("verb=Identify", False)):
        environ: dict[str, Any] = {}
        setup_testing_defaults(environ)
        environ.update(QUERY_STRING=query, PATH_INFO="/oai", REQUEST_METHOD="GET")
        environ["wsgi.file_wrapper"] = (
            ReadOnlyFileBasedBuffer if server == "waitress" else wsgiref.util.FileWrapper
        )
        answer = app(environ, _start_response)
        body = b"".join(answer)
        assert (len(body) >= FILE_WRAPPER_FROM) == large
        assert isinstance(answer, ReadOnlyFileBasedBuffer) == (large and server == "waitress")
        assert isinstance(answer, list) == (not large or server != "waitress")
