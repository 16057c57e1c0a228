"""The list the harvesting benchmark serves: its records, its pages and the page server.

A corpus is a dedupe profile (dedupe_records.PROFILES: the records the dedupe benchmark
measures, served by one endpoint as an aggregator's mirror would be; `aggregator` is the
default) or `uniform` (records of their own, every one a work of its own: no duplicates, no
tombstones). render_pages() renders a list of N records into ListRecords pages of 100 once;
serve() serves them from memory on 127.0.0.1 (the first page for metadataPrefix=oai_dc,
the next ones by resumptionToken: the token is the page number, with completeListSize and
cursor; the last page has an empty token), with a valid Identify (seconds granularity).
The server says on stderr what it serves (records, tombstones, bytes, the truth's works),
which page_server() reads back as a Served.
"""

from __future__ import annotations

import contextlib
import http.server
import itertools
import json
import random
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import bench_common
from bench_common import HOST, PAGE_SIZE, REPOSITORY_IDENTIFIER
from dedupe_quality import Shape
from dedupe_records import DEFAULT_PROFILE, PROFILES, generate

from oaiformat.namespaces import NS_DC, NS_OAI, NS_OAI_DC, NS_XSI
from oaiformat.record import Record
from oaiformat.render import dublin_core_xml

# The script whose --serve runs the page server.
SCRIPT = str(Path(__file__).resolve().with_name("harvesting.py"))
RESPONSE_DATE = "2024-06-01T12:00:00Z"
UNIFORM = "uniform"
CORPORA = (*PROFILES, UNIFORM)
DEFAULT_CORPUS = DEFAULT_PROFILE

# --------------------------------------------------------------------------------------
# The uniform corpus: 1-2 setSpecs, title, 2-5 creators, 3 subjects, a 400-700-character
# description, date, type, identifier, language, publisher (~1.45 KB a record)

_DC_OPEN = f'<oai_dc:dc xmlns:oai_dc="{NS_OAI_DC}" xmlns:dc="{NS_DC}">'
DESCRIPTION_CHARS = (400, 700)


def _description(rng: random.Random) -> str:
    length = rng.randint(*DESCRIPTION_CHARS)
    text = ""
    while len(text) < length:
        text += bench_common.sentence(rng, 8, 14) + ". "
    return text[:length].rstrip() + "."


def record_xml(index: int) -> str:
    """Return uniform record number `index` as a ListRecords <record>: the same for the same
    index."""
    rng = random.Random(index)
    year, date = bench_common.random_date(rng)
    stamp = f"{date}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z"
    kind = rng.choice(bench_common.TYPES)
    sets = [f"type:{kind.split()[0].lower()}"]
    if rng.random() < 0.5:
        sets.append(f"year:{year}")
    parts = [
        f"<record><header><identifier>oai:{REPOSITORY_IDENTIFIER}:rec/{index:07d}</identifier>"
        f"<datestamp>{stamp}</datestamp>",
        *(f"<setSpec>{spec}</setSpec>" for spec in sets),
        "</header><metadata>",
        _DC_OPEN,
        f'<dc:title xml:lang="en">{escape(bench_common.sentence(rng, 5, 10))}</dc:title>',
    ]
    for _ in range(rng.randint(2, 5)):
        parts.append(f"<dc:creator>{escape(bench_common.random_creator(rng))}</dc:creator>")
    parts.extend(f"<dc:subject>{bench_common.random_subject(rng)}</dc:subject>" for _ in "abc")
    parts += [
        f"<dc:description>{escape(_description(rng))}</dc:description>",
        f"<dc:date>{date}</dc:date>",
        f"<dc:type>{kind}</dc:type>",
        f"<dc:identifier>https://doi.org/10.5555/bench.{index}</dc:identifier>",
        f"<dc:language>{rng.choice(bench_common.LANGUAGES)}</dc:language>",
        f"<dc:publisher>{rng.choice(bench_common.PUBLISHERS)}</dc:publisher>",
        "</oai_dc:dc></metadata></record>\n",
    ]
    return "".join(parts)


# --------------------------------------------------------------------------------------
# A dedupe profile's records


def generated_record_xml(record: Record) -> str:
    """A generated record (dedupe_records) as a ListRecords <record>; a tombstone is a
    header with status="deleted" and no metadata."""
    status = ' status="deleted"' if record.deleted else ""
    specs = "".join(f"<setSpec>{escape(spec)}</setSpec>" for spec in record.sets)
    header = (
        f"<record><header{status}><identifier>{escape(record.identifier)}</identifier>"
        f"<datestamp>{record.datestamp}</datestamp>{specs}</header>"
    )
    if record.deleted:
        return f"{header}</record>\n"
    return f"{header}<metadata>{dublin_core_xml(record.metadata)}</metadata></record>\n"


@dataclass(frozen=True)
class Served:
    """What the page server serves."""

    corpus: str
    records: int
    tombstones: int
    bytes: int
    pages: int
    # The works the generator meant the live records to form (None for uniform: one each).
    truth: Shape | None

    @property
    def live(self) -> int:
        """Records that are not tombstones."""
        return self.records - self.tombstones


def _records(size: int, corpus: str, truths: Counter[int]) -> Iterator[tuple[str, bool]]:
    """The records of the list, rendered, and whether each is a tombstone; the truth's work
    of each live record is counted in `truths`."""
    if corpus == UNIFORM:
        yield from ((record_xml(i), False) for i in range(size))
        return
    for item in generate(size, PROFILES[corpus]):
        if not item.record.deleted:
            truths[item.truth] += 1
        yield generated_record_xml(item.record), item.record.deleted


# --------------------------------------------------------------------------------------
# Responses and pages


def _envelope(base_url: str, request_attributes: str, body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<OAI-PMH xmlns="{NS_OAI}" xmlns:xsi="{NS_XSI}" xsi:schemaLocation="{NS_OAI}'
        ' http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n'
        f"<responseDate>{RESPONSE_DATE}</responseDate>\n"
        f"<request{request_attributes}>{base_url}</request>\n{body}</OAI-PMH>\n"
    ).encode()


def _http_response(body: bytes) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def identify_response(base_url: str, deleted_record: str) -> bytes:
    """The Identify response, as a whole HTTP response."""
    body = (
        "<Identify><repositoryName>Harvester benchmark pages</repositoryName>"
        f"<baseURL>{base_url}</baseURL><protocolVersion>2.0</protocolVersion>"
        f"<adminEmail>oai-admin@{REPOSITORY_IDENTIFIER}</adminEmail>"
        "<earliestDatestamp>1995-01-01T00:00:00Z</earliestDatestamp>"
        f"<deletedRecord>{deleted_record}</deletedRecord>"
        "<granularity>YYYY-MM-DDThh:mm:ssZ</granularity></Identify>\n"
    )
    return _http_response(_envelope(base_url, ' verb="Identify"', body))


def error_response(base_url: str, code: str, message: str) -> bytes:
    """An OAI-PMH error response (HTTP 200), as a whole HTTP response."""
    body = f'<error code="{code}">{escape(message)}</error>\n'
    return _http_response(_envelope(base_url, "", body))


def render_pages(size: int, base_url: str, corpus: str) -> tuple[list[bytes], Served]:
    """Every ListRecords page of a list of `size` records of `corpus`, as whole HTTP
    responses, and what they hold."""
    pages = []
    count = (size + PAGE_SIZE - 1) // PAGE_SIZE
    truths: Counter[int] = Counter()
    records = _records(size, corpus, truths)
    tombstones = 0
    for number in range(count):
        start = number * PAGE_SIZE
        texts = []
        for text, deleted in itertools.islice(records, PAGE_SIZE):
            texts.append(text)
            tombstones += deleted
        token = str(number + 1) if number + 1 < count else ""
        attributes = (
            ' verb="ListRecords" metadataPrefix="oai_dc"'
            if number == 0
            else f' verb="ListRecords" resumptionToken="{number}"'
        )
        body = (
            f"<ListRecords>\n{''.join(texts)}"
            f'<resumptionToken completeListSize="{size}" cursor="{start}">{token}'
            "</resumptionToken>\n</ListRecords>\n"
        )
        pages.append(_http_response(_envelope(base_url, attributes, body)))
    truth = None
    if corpus != UNIFORM:
        shared = sum(n for n in truths.values() if n > 1)
        truth = Shape(sum(truths.values()), len(truths), shared)
    served = Served(corpus, size, tombstones, sum(len(p) for p in pages), len(pages), truth)
    return pages, served


# --------------------------------------------------------------------------------------
# The page server (the subprocess side of harvesting.py --serve)

_SERVED = "served: "


def serve(size: int, corpus: str, delay: float = 0.0) -> None:
    """Render `size` records of `corpus` into pages, then serve them on a free port of
    127.0.0.1, waiting `delay` seconds before each list page (a real repository's time to
    make one)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, query: str) -> None:
            arguments = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
            verb = arguments.get("verb")
            if verb == "Identify":
                response = identify
            elif verb == "ListSets":
                response = error_response(base_url, "noSetHierarchy", "no sets here")
            elif verb != "ListRecords":
                response = error_response(base_url, "badVerb", f"not served here: {verb}")
            elif "resumptionToken" in arguments:
                number = arguments["resumptionToken"]
                if number.isdigit() and 0 < int(number) < len(pages):
                    response = pages[int(number)]
                else:
                    response = error_response(base_url, "badResumptionToken", number)
            elif arguments.get("metadataPrefix") == "oai_dc":
                response = pages[0]
            else:
                response = error_response(base_url, "cannotDisseminateFormat", "only oai_dc")
            if verb == "ListRecords" and delay:
                time.sleep(delay)
            self.wfile.write(response)

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            if path != "/oai":
                self.send_error(404)
                return
            self._answer(query)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._answer(self.rfile.read(length).decode("utf-8"))

    server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    base_url = f"http://{HOST}:{server.server_address[1]}/oai"
    started = time.perf_counter()
    pages, served = render_pages(size, base_url, corpus)
    identify = identify_response(base_url, "persistent" if served.tombstones else "no")
    print(
        f"rendered {size:,} {corpus} records ({served.tombstones:,} tombstones) in"
        f" {len(pages):,} pages, {served.bytes / 1e6:.1f} MB ({served.bytes / size:,.0f} bytes"
        f" a record) in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    if served.truth is not None:
        print(f"truth: {served.truth.describe()}", file=sys.stderr)
    print(_SERVED + json.dumps(asdict(served)), file=sys.stderr)
    print(f"serving {base_url}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


@contextlib.contextmanager
def page_server(
    size: int, corpus: str, delay: float = 0.0
) -> Iterator[tuple[bench_common.Server, Served]]:
    """Start the page server for `size` records of `corpus` (waiting `delay` seconds before
    each list page); kill it afterwards."""
    command = [sys.executable, SCRIPT, "--serve", str(size), "--corpus", corpus]
    command += ["--page-delay", str(delay)]
    with bench_common.running("the page", command, poll_s=0.05) as server:
        served = None
        for line in server.log:
            if line.startswith(_SERVED):
                fields = json.loads(line.removeprefix(_SERVED))
                truth = fields.pop("truth")
                served = Served(**fields, truth=None if truth is None else Shape(**truth))
            elif line.startswith(("rendered", "truth")):
                print(f"  {line}", file=sys.stderr, flush=True)
        if served is None:
            raise RuntimeError("the page server did not say what it serves")
        yield server, served
