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
