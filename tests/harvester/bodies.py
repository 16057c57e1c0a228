"""OAI-PMH response bodies the fault and replay servers send: Identify, list pages, errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

RESPONSE_DATE = "2024-05-01T12:00:00Z"
_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/'
    ' http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">'
    f"<responseDate>{RESPONSE_DATE}</responseDate>"
)


def identify(granularity: str = "YYYY-MM-DDThh:mm:ssZ") -> bytes:
    """A valid Identify answer."""
    return (
        f'{_OPEN}<request verb="Identify">http://127.0.0.1/oai</request><Identify>'
        "<repositoryName>Fault server</repositoryName><baseURL>http://127.0.0.1/oai</baseURL>"
        "<protocolVersion>2.0</protocolVersion><adminEmail>admin@example.org</adminEmail>"
        "<earliestDatestamp>2000-01-01T00:00:00Z</earliestDatestamp>"
        f"<deletedRecord>persistent</deletedRecord><granularity>{granularity}</granularity>"
        "</Identify></OAI-PMH>"
    ).encode()


def record(identifier: str, title: str | None = None, *, payload: str | None = None) -> str:
    """One oai_dc <record>: `payload` (an oai_dc:dc element) as its metadata, else a
    dc:title alone (defaulting to the identifier)."""
    dc = payload or (
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{escape(title or identifier)}</dc:title></oai_dc:dc>"
    )
    return (
        f"<record><header><identifier>{escape(identifier)}</identifier>"
        f"<datestamp>2024-01-01T00:00:00Z</datestamp></header><metadata>{dc}</metadata></record>"
    )


def page(
    identifiers: Sequence[str],
    token: str | None = None,
    *,
    size: int | None = None,
    titles: Mapping[str, str] | None = None,
) -> bytes:
    """A ListRecords page with these records, ending with `token` (None: the last page);
    `titles` gives some of them a title other than their identifier."""
    return records_page([record(i, (titles or {}).get(i)) for i in identifiers], token, size=size)


def records_page(
    records: Sequence[str], token: str | None = None, *, size: int | None = None
) -> bytes:
    """A ListRecords page of these <record> elements (see record()), ending with `token`
    (None: the last page); `size` is the completeListSize its token states."""
    attributes = f' completeListSize="{size}"' if size is not None else ""
    resumption = (
        f"<resumptionToken{attributes}>{escape(token)}</resumptionToken>"
        if token
        else (f"<resumptionToken{attributes}/>" if size is not None else "")
    )
    return (
        f'{_OPEN}<request verb="ListRecords">http://127.0.0.1/oai</request>'
        f"<ListRecords>{''.join(records)}{resumption}</ListRecords></OAI-PMH>"
    ).encode()


def error(code: str, message: str = "") -> bytes:
    """An OAI-PMH error answer."""
    return (
        f"{_OPEN}<request>http://127.0.0.1/oai</request>"
        f'<error code="{code}">{escape(message)}</error></OAI-PMH>'
    ).encode()


def list_sets(sets: Sequence[tuple[str, str, str]], token: str | None = None) -> bytes:
    """A ListSets page: (setSpec, setName, setDescription elements as XML) each, ending with
    `token` (None: the last page)."""
    items = "".join(
        f"<set><setSpec>{escape(spec)}</setSpec><setName>{escape(name)}</setName>"
        f"{descriptions}</set>"
        for spec, name, descriptions in sets
    )
    resumption = f"<resumptionToken>{escape(token)}</resumptionToken>" if token else ""
    return (
        f'{_OPEN}<request verb="ListSets">http://127.0.0.1/oai</request>'
        f"<ListSets>{items}{resumption}</ListSets></OAI-PMH>"
    ).encode()
