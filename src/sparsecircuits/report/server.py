"""A small local web server for the reports (*.html) of one folder, with an index page."""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import html
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from sparsecircuits.errors import UserError

# An idle connection is closed after this many seconds; at most this many are served at once.
IDLE_TIMEOUT_S = 15.0
MAX_CONNECTIONS = 16


def list_reports(folder: Path) -> list[Path]:
    """The report files served: `*.html` directly inside `folder` whose real location is inside
    it too (a symlink pointing out of the folder is never served), sorted by name."""
    root = folder.resolve()
    return sorted(
        p
        for p in folder.glob("*.html")
        if p.is_file() and not p.name.startswith(".") and p.resolve().parent == root
    )


def index_html(folder: Path) -> str:
    """The index page: one link per report, with size and modification time."""
    reports = list_reports(folder)
    rows = []
    for p in reports:
        st = p.stat()
        when = _dt.datetime.fromtimestamp(st.st_mtime).strftime("%Y-%m-%d %H:%M")
        rows.append(
            f'<li><a href="/{html.escape(quote(p.name))}">{html.escape(p.name)}</a>'
            f' <span class="m">{st.st_size / 1024:.0f} KiB, {when}</span></li>'
        )
    if rows:
        body = "<ul>" + "".join(rows) + "</ul>"
    else:
        hint = f"sparsecircuits report {folder} --out {folder / 'report.html'}"
        body = (
            f"<p>No reports (*.html) here yet. Make one with <code>{html.escape(hint)}</code>.</p>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        '<link rel="icon" href="data:,"><title>sparsecircuits reports</title>'
        "<style>body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif;"
        "margin:32px;color:#1d2330;line-height:1.5}h1{font-size:1.4rem}li{margin:4px 0}"
        "a{color:#2f5fd0;font-weight:600}.m{color:#5f6b7a;font-size:.85rem;margin-left:8px}"
        "code{font-family:ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace}</style></head><body>"
        f'<h1>sparsecircuits reports</h1><p class="m">{html.escape(str(folder))}</p>{body}</body></html>'
    )


def _handler_for(folder: Path, idle_timeout: float) -> type[BaseHTTPRequestHandler]:
    class ReportHandler(BaseHTTPRequestHandler):
        server_version = "sparsecircuits"
        timeout = idle_timeout  # socket timeout: a silent client is dropped, not waited on

        def _send(self, status: int, body: bytes, head_only: bool) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if not head_only:
                self.wfile.write(body)

        def _respond(self, head_only: bool) -> None:
            name = unquote(urlsplit(self.path).path).lstrip("/")
            if name in ("", "index.html") and not (folder / "index.html").is_file():
                self._send(HTTPStatus.OK, index_html(folder).encode("utf-8"), head_only)
                return
            # Only files listed in the index are served: no path ever leaves the folder.
            served = {p.name: p for p in list_reports(folder)}
            if name == "":
                name = "index.html"
            if name not in served:
                msg = f"<!doctype html><title>not found</title><p>No report named {html.escape(name)}. <a href='/'>All reports</a></p>"
                self._send(HTTPStatus.NOT_FOUND, msg.encode("utf-8"), head_only)
                return
            self._send(HTTPStatus.OK, served[name].read_bytes(), head_only)

        def do_GET(self) -> None:  # noqa: N802 (the base class's name)
            self._respond(head_only=False)

        def do_HEAD(self) -> None:  # noqa: N802
            self._respond(head_only=True)

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return ReportHandler


class _BoundedServer(ThreadingHTTPServer):
    """A threading server that serves at most `max_connections` at once; the next ones get a 503."""

    daemon_threads = True
    max_connections = MAX_CONNECTIONS

    def server_activate(self) -> None:
        super().server_activate()
        self._slots = threading.BoundedSemaphore(self.max_connections)

    def process_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        if not self._slots.acquire(blocking=False):
            with contextlib.suppress(OSError):  # the client may be gone already
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _IPv6Server(_BoundedServer):
    address_family = socket.AF_INET6


def make_server(
    folder: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    idle_timeout: float = IDLE_TIMEOUT_S,
    max_connections: int = MAX_CONNECTIONS,
) -> ThreadingHTTPServer:
    """A server (not yet running) for the reports in `folder`; UserError if the port is taken."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(
            f"{folder} is not a folder; pass the folder that holds your report .html files"
        )
    if not 0 <= port <= 65535:
        raise UserError(f"port {port} is out of range; pass --port between 1 and 65535")
    try:
        cls = type(
            "ReportServer",
            (_IPv6Server if ":" in host else _BoundedServer,),
            {"max_connections": max_connections},
        )
        server = cls((host, port), _handler_for(folder.resolve(), idle_timeout))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise UserError(
                f"port {port} on {host} is already in use; pass another --port or stop the program using it"
            ) from None
        if e.errno == errno.EACCES:
            raise UserError(
                f"not allowed to listen on port {port}; pass a --port above 1023"
            ) from None
        raise UserError(
            f"cannot listen on {host}:{port} ({e.strerror}); check --host and --port"
        ) from None
    return server


def serve(folder: str | Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the reports of `folder` until interrupted."""
    server = make_server(folder, host, port)
    h, p = server.server_address[:2]
    shown = f"[{h}]" if ":" in str(h) else h
    print(
        f"serving {len(list_reports(Path(folder)))} report(s) from {folder} at http://{shown}:{p}/ (Ctrl-C to stop)",
        file=sys.stderr,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
