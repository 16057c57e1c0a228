"""Hostile XML from a server: external entities, external DTDs, entity expansion.

The store must hold neither a local file's text nor an expansion, and the parser must ask
the network for nothing (every request the fault server saw is for /oai).
"""

from __future__ import annotations

from pathlib import Path

from tests.harvester import bodies, faults
from tests.harvester.faults import FaultServer, Reply
from tests.harvester.harness import PAGE, harvest

# -- hostile XML ---------------------------------------------------------------------------

PRIVATE = "PRIVATE-FILE-TEXT-4711"


def _hostile(doctype: str, identifier: str, title: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE OAI-PMH {doctype}>\n'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        f"<responseDate>{bodies.RESPONSE_DATE}</responseDate>"
        '<request verb="ListRecords">http://127.0.0.1/oai</request><ListRecords><record>'
        f"<header><identifier>{identifier}</identifier>"
        "<datestamp>2024-01-01</datestamp></header><metadata>"
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{title}</dc:title></oai_dc:dc></metadata></record>"
        "</ListRecords></OAI-PMH>"
    ).encode()


def test_external_entities_are_neither_read_nor_fetched(tmp_path: Path) -> None:
    private = tmp_path / "private.txt"
    private.write_text(PRIVATE, encoding="utf-8")
    with faults.running(identify=bodies.identify()) as server:
        evil = f"{server.url.removesuffix('/oai')}/evil.dtd"
        doctype = (
            f'SYSTEM "{evil}" [<!ENTITY xxe SYSTEM "{private.as_uri()}">'
            f'<!ENTITY % remote SYSTEM "{evil}"> %remote;]'
        )
        server.play(Reply(_hostile(doctype, "oai:x:&xxe;", "Title &xxe;")))
        outcome = harvest(server, tmp_path / "m.db")
        paths = {r.path for r in server.requests}
    assert outcome.status == "completed"
    assert PRIVATE not in outcome.dump
    assert paths == {"/oai"}  # the DTD and the parameter entity were never requested
    assert len(outcome.identifiers) + outcome.summary.counts.quarantined == 1


def test_a_hostile_identify_is_not_expanded(tmp_path: Path) -> None:
    private = tmp_path / "private.txt"
    private.write_text(PRIVATE, encoding="utf-8")
    identify = bodies.identify().replace(
        b"<OAI-PMH ",
        f'<!DOCTYPE OAI-PMH [<!ENTITY xxe SYSTEM "{private.as_uri()}">]>\n<OAI-PMH '.encode(),
        1,
    )
    identify = identify.replace(b"Fault server", b"Fault &xxe;")
    with faults.running(identify=identify) as server:
        server.play(Reply(PAGE))
        outcome = harvest(server, tmp_path / "m.db")
    assert outcome.status == "completed"
    assert PRIVATE not in outcome.dump


def test_billion_laughs_does_not_blow_up(server: FaultServer, tmp_path: Path) -> None:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    server.play(Reply(_hostile(f"[{''.join(entities)}]", "oai:x:laughs", "&lol9;")))
    outcome = harvest(server, tmp_path / "m.db")
    # libxml2 refuses the amplification even unexpanded; the envelope is kept and the record,
    # unreadable without its DTD, is quarantined.
    assert outcome.status == "completed"
    assert outcome.identifiers == []
    assert outcome.summary.counts.quarantined == 1
    assert "lollollol" not in outcome.dump
    assert len(outcome.dump) < 1_000_000
