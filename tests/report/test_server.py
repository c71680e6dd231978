"""`serve`: binds 127.0.0.1 by default, lists and serves reports, refuses a taken port."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from sparsecircuits.cli import main
from sparsecircuits.errors import UserError
from sparsecircuits.report.server import make_server


@pytest.fixture
def served(tmp_path: Path):
    (tmp_path / "alpha.html").write_text("<!doctype html><p>alpha report</p>")
    (tmp_path / "b <x>.html").write_text("<p>odd name</p>")
    (tmp_path / "secret.txt").write_text("not a report")
    server = make_server(tmp_path, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_serves_index_and_reports_on_localhost(served) -> None:
    server, base = served
    assert server.server_address[0] == "127.0.0.1"
    status, body = _get(base + "/")
    assert status == 200
    assert 'href="/alpha.html"' in body
    assert "b &lt;x&gt;.html" in body and "<x>" not in body  # names are escaped
    assert "secret.txt" not in body
    assert _get(base + "/alpha.html") == (200, "<!doctype html><p>alpha report</p>")
    assert _get(base + "/b%20%3Cx%3E.html")[0] == 200
    assert _get(base + "/secret.txt")[0] == 404
    assert _get(base + "/../" + Path(__file__).name)[0] == 404
    assert _get(base + "/%2e%2e/etc/passwd")[0] == 404


def test_port_taken_is_a_user_error(tmp_path: Path, capsys) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(UserError, match=f"port {port} .* already in use"):
            make_server(tmp_path, port=port)
        with pytest.raises(SystemExit) as e:
            main(["serve", str(tmp_path), "--port", str(port)])
        assert e.value.code == 2
    assert "already in use" in capsys.readouterr().err


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a folder"):
        make_server(tmp_path / "nope", port=0)


def _start(folder: Path, **kw):
    server = make_server(folder, port=0, **kw)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_symlink_out_of_the_folder_is_not_served(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.html").write_text("<p>outside the served folder</p>")
    served = tmp_path / "reports"
    served.mkdir()
    (served / "ok.html").write_text("<p>ok</p>")
    (served / "passwd.html").symlink_to("/etc/passwd")
    (served / "leak.html").symlink_to(outside / "secret.html")
    (served / "alias.html").symlink_to(served / "ok.html")  # inside: fine
    server, base = _start(served)
    try:
        status, index = _get(base + "/")
        assert "passwd.html" not in index and "leak.html" not in index and "alias.html" in index
        assert _get(base + "/passwd.html")[0] == 404
        assert _get(base + "/leak.html")[0] == 404
        assert _get(base + "/alias.html") == (200, "<p>ok</p>")
    finally:
        server.shutdown()
        server.server_close()


def test_idle_connections_time_out_and_workers_are_bounded(tmp_path: Path) -> None:
    import time

    (tmp_path / "a.html").write_text("<p>a</p>")
    server, base = _start(tmp_path, idle_timeout=2.0, max_connections=4)
    port = server.server_address[1]
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(12)]
    try:
        time.sleep(0.3)
        workers = [t for t in threading.enumerate() if t.name.startswith("Thread") and t.daemon]
        assert len(workers) <= 4 + 2  # the slots, plus the serve_forever threads of tests
        refused = 0
        for s in idle[4:]:
            s.settimeout(1)
            refused += s.recv(64).startswith(b"HTTP/1.1 503")
        assert refused == 8
        time.sleep(2.5)  # past the idle timeout: the four slots are free again
        assert _get(base + "/a.html") == (200, "<p>a</p>")
        for s in idle[:4]:
            s.settimeout(2)
            assert s.recv(64) == b""  # closed by the server
    finally:
        for s in idle:
            s.close()
        server.shutdown()
        server.server_close()
