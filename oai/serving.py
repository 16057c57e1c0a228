"""Running the WSGI app: waitress for `oai serve`, one in-process request for `--get`."""

from __future__ import annotations

import io
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from wsgiref.util import setup_testing_defaults

import click

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


def request_once(app: WSGIApplication, path: str) -> tuple[str, bytes]:
    """Push one GET request through the app; return (status line, body)."""
    parts = urlsplit(path)
    environ: dict[str, object] = {}
    setup_testing_defaults(environ)
    environ.update(
        REQUEST_METHOD="GET",
        PATH_INFO=parts.path,
        QUERY_STRING=parts.query,
        SERVER_NAME="localhost",
        HTTP_HOST="localhost",
        SERVER_PORT="80",
    )
    environ["wsgi.input"] = io.BytesIO()
    status: list[str] = []

    def start_response(line: str, headers: object, exc_info: object = None) -> object:
        status.append(line)
        return None

    body = b"".join(app(environ, start_response))  # type: ignore[arg-type]
    return status[0], body


def create_server(app: WSGIApplication, host: str, port: int, threads: int) -> object:
    """Return a waitress server bound to host:port (0 picks a free port); not yet running.

    Raises click.ClickException (one line, exit 1) when the address cannot be bound: a busy
    port, a host that is not this machine's.
    """
    import waitress  # noqa: PLC0415 - only `oai serve`/`oai demo` need it

    _check_bindable(host, port)
    return waitress.create_server(app, host=host, port=port, threads=threads, ident="oai-mirror")


def _check_bindable(host: str, port: int) -> None:
    """Bind the address once ourselves: waitress, failing to, leaves its sockets open."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from exc


def serve_forever(app: WSGIApplication, host: str, port: int, threads: int) -> None:
    """Serve until interrupted."""
    server = create_server(app, host, port, threads)
    bound = server.effective_port  # type: ignore[attr-defined]
    click.echo(f"serving OAI-PMH on http://{host}:{bound}/oai ({threads} threads)", err=True)
    try:
        server.run()  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        pass
    finally:
        server.close()  # type: ignore[attr-defined]
