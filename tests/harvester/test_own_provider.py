"""The harvester against the project's own provider as the remote, through the `oai` command.

Full, incremental, set-restricted, --until, --full with vanished records, and crash-resume
harvests (kill -9 of a real `python -m oai harvest`: live token, expired token, records
quarantined before the crash), each compared record by record with what the provider's store
publishes. Then the harvest lock, the JSON report, a failing source beside a good one,
parallel jobs, reset, withdraw and the source list.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from harvester import jobs as harvesting
from oaiformat.datestamps import parse_strict
from oaiformat.dublin_core import DCValue
from oaiformat.identifiers import LOCAL_SOURCE
from oaiformat.namespaces import NS_OAI_DC
from oaiformat.record import Record
from provider.settings import ProviderSettings
from store.batches import placeholders
from store.db import open_store
from store.transfer import import_file
from store.writes import save_records
from tests.conftest import (
    REPOSITORY_IDENTIFIER,
    SAMPLE,
    RunningProvider,
    filled_store_file,
    save_local,
    serve,
)
from tests.harvester.remote import (
    Mirror,
    ProviderClock,
    harvest_runs,
    in_set,
    mirror_rows,
    mirrored,
    published,
    summary,
)
from tests.xsd import ResponseValidator
from works.update import refresh

# The provider's clock during the first harvest, a write after it, and the next harvest.
T1 = datetime(2024, 5, 2, tzinfo=UTC)
T2 = "2024-05-02T00:00:10Z"
T3 = datetime(2024, 5, 2, 0, 1, tzinfo=UTC)
T4 = datetime(2024, 5, 2, 0, 2, tzinfo=UTC)
SAMPLE_SIZE = 25  # fill_store(extra_local=12): 9 sample + 4 harvested + 12 generated
SAMPLE_DELETED = 2
PAGE_SIZE = 5


def _settings(page_size: int = PAGE_SIZE, token_lifetime: int = 86_400) -> ProviderSettings:
    return ProviderSettings(
        repository_identifier=REPOSITORY_IDENTIFIER,
        page_size=page_size,
        token_lifetime=token_lifetime,
    )


def _provider_store(path: Path, *, extra_local: int = 12) -> Path:
    return filled_store_file(path, extra_local=extra_local)


def _vanish(path: Path, identifiers: list[str]) -> None:
    """Delete records outright, as a repository with deletedRecord=no does."""
    store = open_store(path)
    try:
        with store.write() as conn:
            marks = placeholders(identifiers)
            ids = f"SELECT id FROM records WHERE local_identifier IN ({marks})"
            conn.execute(f"DELETE FROM record_sets WHERE record_id IN ({ids})", identifiers)
            deleted = conn.execute(f"DELETE FROM records WHERE id IN ({ids})", identifiers)
            assert deleted.rowcount == len(identifiers)
    finally:
        store.close()


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/oai"


@pytest.fixture
def provider_db(tmp_path: Path) -> Path:
    """The conftest sample plus 12 generated records: 25 records, 2 of them deleted."""
    return _provider_store(tmp_path / "provider.db")


@pytest.fixture
def clock() -> ProviderClock:
    """The provider's clock, at T1."""
    return ProviderClock(fixed=T1)


@pytest.fixture
def remote(
    provider_db: Path, clock: ProviderClock, response_validator: ResponseValidator
) -> Iterator[RunningProvider]:
    """The provider over `provider_db`, five records a page, on `clock`."""
    with serve(str(provider_db), response_validator, _settings(), clock) as running:
        yield running


@pytest.fixture
def mirror(tmp_path: Path) -> Mirror:
    """An empty mirror with an empty config.toml."""
    return Mirror.create(tmp_path / "mirror")


def _harvest_src(mirror: Mirror, remote: RunningProvider, *args: str) -> dict[str, Any]:
    result = mirror.run("harvest", "--url", remote.url, "--name", "src", *args)
    assert result.exit_code == 0, result.output
    return summary(result, "src")


def test_full_harvest_mirrors_the_provider_record_by_record(
    mirror: Mirror, remote: RunningProvider, provider_db: Path
) -> None:
    counts = _harvest_src(mirror, remote)
    assert counts == {
        "status": "completed",
        "added": SAMPLE_SIZE - SAMPLE_DELETED,
        "updated": 0,
        "deleted": SAMPLE_DELETED,
        "tombstoned": 0,
        "quarantined": 0,
        "unchanged": 0,
        "pages": SAMPLE_SIZE // PAGE_SIZE,
    }
    expected = published(provider_db)
    with contextlib.closing(sqlite3.connect(provider_db)) as conn:
        local_identifiers = {row[0] for row in conn.execute("SELECT local_identifier FROM records")}
    assert set(expected) == local_identifiers and len(expected) == SAMPLE_SIZE
    assert mirrored(mirror.db, "src") == expected
    [run] = harvest_runs(mirror.db, "src")
    assert run[0] == "completed" and run[1] is not None
    assert run[2:] == (SAMPLE_SIZE - SAMPLE_DELETED, 0, SAMPLE_DELETED, 0, SAMPLE_SIZE // PAGE_SIZE)
    status = mirror.run("status", "src")
    assert status.exit_code == 0
    assert "next from 2024-05-01T23:59:00Z" in status.stdout
    assert f"{SAMPLE_SIZE - SAMPLE_DELETED} records, {SAMPLE_DELETED} tombstones" in status.stdout


def _write_changes(provider_db: Path, tmp_path: Path) -> None:
    """At T2: two local records added, one changed, one deleted; one harvested one moved."""
    lines: list[dict[str, Any]] = [
        {
            "identifier": f"oai:{REPOSITORY_IDENTIFIER}:new-{i}",
            "datestamp": "2024-05-02T00:00:00Z",
            "sets": ["type:new"],
            "metadata": {"title": [f"New record {i}"], "creator": ["Kaur, J."]},
        }
        for i in (1, 2)
    ]
    sample = SAMPLE.read_text(encoding="utf-8").splitlines()
    changed = json.loads(next(line for line in sample if "8912z" in line))
    changed["metadata"]["title"] = [{"value": "A changed title", "lang": "en"}]
    lines.append(changed)
    lines.append(
        {
            "identifier": f"oai:{REPOSITORY_IDENTIFIER}:85w1q",
            "datestamp": "2024-05-02T00:00:00Z",
            "deleted": True,
            "sets": ["type:conference"],
        }
    )
    changes = tmp_path / "changes.jsonl"
    changes.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    store = open_store(provider_db)
    try:
        result = import_file(store, changes, REPOSITORY_IDENTIFIER, lambda: parse_strict(T2)[0])
        assert (result.counts.added, result.counts.updated, result.counts.deleted) == (2, 1, 1)
        with store.write() as conn:
            moved = Record(
                "arxiv",
                "oai:arXiv.org:2101.00000",
                "2021-01-01",
                sets=("cs", "math"),
                metadata={
                    "title": [DCValue("Harvested paper 0")],
                    "creator": [DCValue("Stirrup, V."), DCValue("Kaur, J.")],
                },
            )
            saved = save_records(conn, [moved], repository_identifier=REPOSITORY_IDENTIFIER, now=T2)
            assert saved.updated == 1
    finally:
        store.close()


def test_incremental_harvest_brings_only_the_changes(
    mirror: Mirror,
    remote: RunningProvider,
    provider_db: Path,
    clock: ProviderClock,
    tmp_path: Path,
) -> None:
    _harvest_src(mirror, remote)
    _write_changes(provider_db, tmp_path)
    clock.fixed = T3
    counts = _harvest_src(mirror, remote)
    assert counts == {
        "status": "completed",
        "added": 2,
        "updated": 2,
        "deleted": 1,
        "tombstoned": 0,
        "quarantined": 0,
        "unchanged": 0,
        "pages": 1,
    }
    assert mirrored(mirror.db, "src") == published(provider_db)
    assert len(mirrored(mirror.db, "src")) == SAMPLE_SIZE + 2
    assert "next from 2024-05-02T00:00:00Z" in mirror.run("status", "src").stdout
    # Nothing changed since: the minute of overlap sees the last changes again, as unchanged
    # upserts; nothing is written, and `from` still advances.
    clock.fixed = T4
    counts = summary(mirror.run("harvest", "src"), "src")
    assert (counts["status"], counts["added"], counts["updated"], counts["unchanged"]) == (
        "completed",
        0,
        0,
        5,
    )
    assert "next from 2024-05-02T00:01:00Z" in mirror.run("status", "src").stdout
    assert [run[0] for run in harvest_runs(mirror.db, "src")] == ["completed"] * 3


@pytest.mark.parametrize("set_spec", ["arxiv", "arxiv:physics", "type", "generated:batch"])
def test_set_restricted_harvest_gets_the_set_and_its_children(
    mirror: Mirror, remote: RunningProvider, provider_db: Path, set_spec: str
) -> None:
    counts = _harvest_src(mirror, remote, "--set", set_spec)
    expected = in_set(published(provider_db), set_spec)
    assert 0 < len(expected) < SAMPLE_SIZE
    assert mirrored(mirror.db, "src") == expected
    assert counts["added"] + counts["deleted"] == len(expected)
    sources = mirror.run("sources")
    assert f"src\t{remote.url}\toai_dc set={set_spec}\tremembered" in sources.stdout


def test_full_harvest_tombstones_records_the_provider_no_longer_has(
    mirror: Mirror, remote: RunningProvider, provider_db: Path, clock: ProviderClock
) -> None:
    _harvest_src(mirror, remote)
    before = published(provider_db)
    gone_live = [f"oai:{REPOSITORY_IDENTIFIER}:8912z", f"oai:{REPOSITORY_IDENTIFIER}:gen-00003"]
    gone_deleted = f"oai:{REPOSITORY_IDENTIFIER}:arxiv/oai:arXiv.org:gone"
    _vanish(provider_db, [*gone_live, gone_deleted])
    clock.fixed = T3
    # An incremental harvest cannot notice a record vanishing.
    assert _harvest_src(mirror, remote)["tombstoned"] == 0
    counts = _harvest_src(mirror, remote, "--full")
    assert counts["tombstoned"] == len(gone_live)
    assert (counts["added"], counts["updated"], counts["deleted"]) == (0, 0, 0)
    assert counts["unchanged"] == SAMPLE_SIZE - 3
    assert harvest_runs(mirror.db, "src")[-1][5] == len(gone_live)
    held = mirrored(mirror.db, "src")
    remaining = published(provider_db)
    assert {i: held[i] for i in remaining} == remaining
    for identifier in gone_live:
        assert held[identifier].deleted and held[identifier].metadata is None
        assert held[identifier].sets == before[identifier].sets
        assert held[identifier].datestamp == "2024-05-02T00:01:00Z"
    assert held[gone_deleted] == before[gone_deleted]


def _crash_store(path: Path) -> Path:
    """Batches by local datestamp: the sample at NOW (13 records), 20 records on 1 June, one
    at noon on 21 June, 3 on 1 July."""
    _provider_store(path, extra_local=0)
    for stamp, prefix, count in (
        ("2024-06-01T00:00:00Z", "june", 20),
        ("2024-06-21T12:00:00Z", "solstice", 1),
        ("2024-07-01T00:00:00Z", "july", 3),
    ):
        records = [
            Record(
                LOCAL_SOURCE,
                f"oai:{REPOSITORY_IDENTIFIER}:{prefix}-{i:02d}",
                stamp,
                sets=(f"batch:{prefix}",),
                metadata={"title": [DCValue(f"{prefix} record {i}")]},
            )
            for i in range(count)
        ]
        save_local(path, records, stamp)
    return path


@pytest.mark.parametrize(
    ("until", "bound"),
    [
        ("2024-06-21T00:00:00Z", "2024-06-21T00:00:00Z"),
        # A day means all of it, also to a repository that counts seconds.
        ("2024-06-21", "2024-06-21T23:59:59Z"),
    ],
)
def test_a_harvest_with_until_leaves_what_came_after_to_the_next_one(
    tmp_path: Path, response_validator: ResponseValidator, mirror: Mirror, until: str, bound: str
) -> None:
    provider_db = _crash_store(tmp_path / "provider.db")
    clock = ProviderClock(fixed=datetime(2024, 8, 1, tzinfo=UTC))
    with serve(str(provider_db), response_validator, _settings(), clock) as remote:
        _harvest_src(mirror, remote, "--until", until)
        everything = published(provider_db)
        expected = {i: s for i, s in everything.items() if s.datestamp <= bound}
        assert mirrored(mirror.db, "src") == expected
        assert f"next from {bound}" in mirror.run("status", "src").stdout
        # What changed after `until` is left to the next incremental harvest, not skipped.
        counts = _harvest_src(mirror, remote)
        assert (counts["added"], counts["unchanged"]) == (len(everything) - len(expected), 0)
    assert mirrored(mirror.db, "src") == everything


def test_an_unreadable_until_is_a_usage_error(mirror: Mirror, remote: RunningProvider) -> None:
    result = mirror.run("harvest", "--url", remote.url, "--name", "src", "--until", "2024-13-01")
    assert result.exit_code == 2
    assert "--until" in result.stderr
    assert not mirror.db.exists() or mirrored(mirror.db, "src") == {}


def test_crash_resume_continues_from_the_checkpoint(
    tmp_path: Path, response_validator: ResponseValidator, caplog: pytest.LogCaptureFixture
) -> None:
    provider_db = _crash_store(tmp_path / "provider.db")
    total = len(published(provider_db))
    pages = (total + 1) // 2
    clock = ProviderClock(delay=0.1)
    crashed = Mirror.create(tmp_path / "crashed")
    clean = Mirror.create(tmp_path / "clean")
    with serve(str(provider_db), response_validator, _settings(page_size=2), clock) as remote:
        committed = crashed.harvest_killed("src", ["--url", remote.url, "--name", "src"], 3)
        assert 3 <= committed < pages
        # None lost: every committed page is in the store with its checkpoint.
        assert len(mirrored(crashed.db, "src")) == 2 * committed
        status = crashed.run("status", "src").stdout
        assert f"list in progress at page {committed}" in status
        clock.delay = 0
        report = tmp_path / "report.json"
        resumed = crashed.run("harvest", "--report-json", str(report))
        assert resumed.exit_code == 0, resumed.output
        assert _harvest_src(clean, remote)["pages"] == pages
    [row] = json.loads(report.read_text(encoding="utf-8"))["sources"]
    assert row["pages"] == pages - committed
    # None twice: the resumed run saw only what the killed one had not committed.
    assert row["added"] + row["deleted"] == total - 2 * committed
    assert (row["updated"], row["unchanged"], row["tombstoned"]) == (0, 0, 0)
    assert mirror_rows(crashed.db, "src") == mirror_rows(clean.db, "src")
    assert mirrored(crashed.db, "src") == published(provider_db)
    # The killed run's row is marked interrupted, with no finished_at, by the next run.
    killed, finished = harvest_runs(crashed.db, "src")
    assert killed[:2] == ("interrupted", None) and finished[0] == "completed"
    assert not [r for r in caplog.records if "restarting" in r.getMessage()]


@pytest.mark.parametrize("expiry", ["expiration_date_passed", "server_refuses"])
def test_crash_resume_restarts_a_list_whose_token_expired(
    tmp_path: Path,
    response_validator: ResponseValidator,
    caplog: pytest.LogCaptureFixture,
    expiry: str,
) -> None:
    provider_db = _crash_store(tmp_path / "provider.db")
    window = ["--from", "2024-05-15T00:00:00Z", "--until", "2024-06-15T00:00:00Z"]
    expected = {
        i: s for i, s in published(provider_db).items() if "2024-05-15" < s.datestamp < "2024-06-15"
    }
    assert len(expected) == 20
    pages = len(expected) // 2
    # Behind by an hour, the provider hands out tokens whose expirationDate has already
    # passed for the harvester; otherwise it refuses them itself once it is an hour ahead.
    behind = expiry == "expiration_date_passed"
    clock = ProviderClock(offset=timedelta(hours=-1 if behind else 0), delay=0.1)
    crashed = Mirror.create(tmp_path / "crashed")
    clean = Mirror.create(tmp_path / "clean")
    settings = _settings(page_size=2, token_lifetime=60)
    with serve(str(provider_db), response_validator, settings, clock) as remote:
        args = ["--url", remote.url, "--name", "src", *window]
        committed = crashed.harvest_killed("src", args, 3)
        assert 3 <= committed < pages
        clock.delay = 0
        if not behind:
            clock.offset = timedelta(hours=1)
        report = tmp_path / "report.json"
        resumed = crashed.run("harvest", "src", "--report-json", str(report))
        assert resumed.exit_code == 0, resumed.output
        _harvest_src(clean, remote, *window)
    [row] = json.loads(report.read_text(encoding="utf-8"))["sources"]
    # The whole list again, with its original from/until: what came before is unchanged.
    assert row["pages"] == pages
    assert (row["added"], row["unchanged"]) == (len(expected) - 2 * committed, 2 * committed)
    assert mirrored(crashed.db, "src") == expected
    assert mirror_rows(crashed.db, "src") == mirror_rows(clean.db, "src")
    message = "saved token has expired" if behind else "badResumptionToken mid-list"
    assert [r for r in caplog.records if message in r.getMessage()]


def _break_first_live_record(path: Path) -> str:
    """Serve the first live record of a full list without a datestamp; returns its identifier."""
    store = open_store(path)
    try:
        with store.write() as conn:
            (identifier,) = conn.execute(
                "SELECT local_identifier FROM records WHERE deleted = 0"
                " ORDER BY local_datestamp, local_identifier LIMIT 1"
            ).fetchone()
            broken = (
                '<record xmlns="http://www.openarchives.org/OAI/2.0/"><header>'
                f"<identifier>{identifier}</identifier></header></record>"
            )
            conn.execute(
                "UPDATE records SET record_xml = ? WHERE local_identifier = ?",
                [broken.encode(), identifier],
            )
    finally:
        store.close()
    return str(identifier)


def test_resumed_full_list_keeps_records_quarantined_before_the_crash(
    tmp_path: Path, response_validator: ResponseValidator
) -> None:
    provider_db = _provider_store(tmp_path / "provider.db", extra_local=21)
    clock = ProviderClock()
    mirror = Mirror.create(tmp_path / "mirror")
    with serve(str(provider_db), response_validator, _settings(page_size=2), clock) as remote:
        _harvest_src(mirror, remote)
        broken = _break_first_live_record(provider_db)
        clock.delay = 0.1
        assert mirror.harvest_killed("src", ["src", "--full"], 3) >= 3
        clock.delay = 0
        report = tmp_path / "report.json"
        resumed = mirror.run("harvest", "src", "--report-json", str(report))
        assert resumed.exit_code == 0, resumed.output
    # The page that quarantined the record was committed by the killed run: the list as a
    # whole did not deliver every record, so nothing it lacked may become a tombstone.
    [row] = json.loads(report.read_text(encoding="utf-8"))["sources"]
    assert (row["quarantined"], row["tombstoned"]) == (0, 0)
    assert any("quarantined" in warning for warning in row["warnings"])
    assert not mirrored(mirror.db, "src")[broken].deleted
    assert mirrored(mirror.db, "src") == published(provider_db)


def test_harvest_held_by_another_says_so_and_does_nothing(mirror: Mirror) -> None:
    with harvesting.store_lock(str(mirror.db)):
        result = mirror.run("harvest", "--url", _closed_port_url(), "--name", "src")
    assert result.exit_code == 0, result.output
    assert "another harvest holds" in result.stderr and "not harvesting" in result.stderr
    assert result.stdout == ""
    assert not mirror.db.exists() or mirrored(mirror.db, "src") == {}


def test_failing_source_exits_1_while_the_others_are_harvested(
    tmp_path: Path, remote: RunningProvider, provider_db: Path
) -> None:
    bad_url = _closed_port_url()
    config = (
        "[harvester]\nmax_attempts = 1\n\n"
        f'[sources.bad]\nurl = "{bad_url}"\n\n'
        f'[sources.good]\nurl = "{remote.url}"\n'
    )
    mirror = Mirror.create(tmp_path / "mirror", config)
    report = tmp_path / "report.json"
    result = mirror.run("harvest", "--report-json", str(report))
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: bad: ")
    assert "after 1 attempts" in errors[0] and len(errors[0]) < 160  # one short line
    assert mirrored(mirror.db, "good") == published(provider_db)
    rows = {row["source"]: row for row in json.loads(report.read_text(encoding="utf-8"))["sources"]}
    assert rows["bad"]["status"] == "failed" and rows["bad"]["error"]
    assert rows["good"]["status"] == "completed" and rows["good"]["error"] is None
    assert rows["good"]["added"] == SAMPLE_SIZE - SAMPLE_DELETED
    assert rows["good"]["records_seen"] == SAMPLE_SIZE
    assert harvest_runs(mirror.db, "bad")[0][0] == "failed"
    status = mirror.run("status", "bad")
    assert "1 failures in a row" in status.stdout and "last success never" in status.stdout
    sources = mirror.run("sources").stdout.splitlines()
    assert sources == [
        f"bad\t{bad_url}\toai_dc\tconfig",
        f"good\t{remote.url}\toai_dc\tconfig",
    ]


def test_parallel_jobs_harvest_each_source(
    tmp_path: Path, remote: RunningProvider, provider_db: Path
) -> None:
    restricted = {"conf": "type:conference", "arx": "arxiv", "gen": "generated"}
    config = "".join(
        f'[sources.{name}]\nurl = "{remote.url}"\nset = "{spec}"\n\n'
        for name, spec in restricted.items()
    )
    mirror = Mirror.create(tmp_path / "mirror", config)
    result = mirror.run("harvest", "--jobs", "3")
    assert result.exit_code == 0, result.output
    everything = published(provider_db)
    for name, spec in restricted.items():
        assert summary(result, name)["status"] == "completed"
        assert mirrored(mirror.db, name) == in_set(everything, spec)


def test_reset_makes_the_next_harvest_full(
    mirror: Mirror, remote: RunningProvider, provider_db: Path, clock: ProviderClock
) -> None:
    _harvest_src(mirror, remote)
    gone = f"oai:{REPOSITORY_IDENTIFIER}:gen-00007"
    _vanish(provider_db, [gone])
    result = mirror.run("reset", "src")
    assert result.exit_code == 0 and "next harvest is full" in result.stdout
    assert "next from (full harvest)" in mirror.run("status", "src").stdout
    clock.fixed = T3
    counts = _harvest_src(mirror, remote)
    assert (counts["unchanged"], counts["tombstoned"]) == (SAMPLE_SIZE - 1, 1)
    assert mirrored(mirror.db, "src")[gone].deleted
    assert mirror.run("reset", "nosuch").exit_code == 1


def test_withdraw_tombstones_the_source_and_its_next_harvest_brings_it_back(
    mirror: Mirror, remote: RunningProvider, provider_db: Path, clock: ProviderClock
) -> None:
    _harvest_src(mirror, remote)
    result = mirror.run("withdraw", "src")
    assert result.exit_code == 0, result.output
    assert f"src: {SAMPLE_SIZE - SAMPLE_DELETED} records withdrawn" in result.stdout
    assert all(seen.deleted for seen in mirrored(mirror.db, "src").values())
    clock.fixed = T3
    counts = _harvest_src(mirror, remote)
    assert counts["updated"] == SAMPLE_SIZE - SAMPLE_DELETED
    assert mirrored(mirror.db, "src") == published(provider_db)


def _payloads(db_path: Path, sql: str) -> dict[str, bytes]:
    """identifier -> the canonical XML of the oai_dc:dc each (identifier, XML) row holds."""
    found = {}
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        for identifier, xml in conn.execute(sql):
            raw = xml.encode() if isinstance(xml, str) else bytes(xml)
            root = etree.fromstring(raw)
            dc = root if root.tag == f"{{{NS_OAI_DC}}}dc" else root.find(f".//{{{NS_OAI_DC}}}dc")
            assert dc is not None, identifier
            found[str(identifier)] = etree.tostring(dc, method="c14n")
    return found


def test_the_mirror_publishes_what_it_received_as_it_came(
    mirror: Mirror,
    remote: RunningProvider,
    provider_db: Path,
    response_validator: ResponseValidator,
    tmp_path: Path,
) -> None:
    # A second deposit of a sample paper: the remote publishes both with same-work links.
    sample = json.loads(SAMPLE.read_text(encoding="utf-8").splitlines()[0])
    sample["identifier"] = f"oai:{REPOSITORY_IDENTIFIER}:again"
    again = tmp_path / "again.jsonl"
    again.write_text(json.dumps(sample) + "\n", encoding="utf-8")
    provider_store = open_store(provider_db)
    try:
        import_file(provider_store, again, REPOSITORY_IDENTIFIER, lambda: T1)
        assert refresh(provider_store).relinked == 2
    finally:
        provider_store.close()
    _harvest_src(mirror, remote)
    sent = _payloads(
        provider_db, "SELECT local_identifier, record_xml FROM records WHERE deleted = 0"
    )
    kept = _payloads(
        mirror.db, "SELECT identifier, metadata_xml FROM record_received WHERE source = 'src'"
    )
    assert kept == sent
    with contextlib.closing(sqlite3.connect(mirror.db)) as conn:
        rows = conn.execute(
            "SELECT identifier, publishes_received, metadata_xml IS NULL, metadata_xml"
            " FROM records WHERE source = 'src' AND deleted = 0"
        ).fetchall()
    # The remote's own same-work links name its records, not the mirror's: those records
    # are rendered from their fields; every other record is published as it came.
    linked = {row[0] for row in rows if "same-work:" in (row[3] or "")}
    assert linked and len(linked) < len(rows)
    for identifier, flag, stored_once, _ in rows:
        assert (flag, stored_once) == ((0, 0) if identifier in linked else (1, 1)), identifier
    published = _payloads(
        mirror.db, "SELECT identifier, record_xml FROM records WHERE source = 'src' AND deleted = 0"
    )
    assert {i: published[i] for i in sent if i not in linked} == {
        i: sent[i] for i in sent if i not in linked
    }
    with serve(str(mirror.db), response_validator) as mirror_provider:
        reply = mirror_provider.get(verb="ListRecords", metadataPrefix="oai_dc")
        assert reply.status == 200 and b"<oai_dc:dc" in reply.body
