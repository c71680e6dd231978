"""The page is self-contained and data can never close the script element or run."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from helpers import XSS, example_circuit, typed

from sparsecircuits.core.circuit import read_circuit
from sparsecircuits.errors import UserError
from sparsecircuits.report.circuits import find_circuits
from sparsecircuits.report.payload import build_payload, circuit_view, round_sig
from sparsecircuits.report.render import embed_json, render_html


def test_embed_json_cannot_close_script_and_round_trips() -> None:
    obj = {"s": XSS + "<!-- & \u2028\u2029 >", "nan": float("nan"), "inf": float("inf")}
    text = embed_json(obj)
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in text
    back = json.loads(text)
    assert back == {"s": obj["s"], "nan": None, "inf": None}


def _page(circuit: dict) -> str:
    return render_html(
        build_payload([circuit_view(Path("c.json"), typed(circuit))]), title="t </title><b>x"
    )


def test_page_has_no_raw_injection_and_no_external_references() -> None:
    page = _page(example_circuit())
    assert XSS not in page  # the description and class names hold it, escaped
    assert "<b>x" not in page  # the title is escaped too
    assert page.count("<script") == 2  # the JSON block and our own code
    # Nothing fetched: no src/href to anything but inline data.
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", page)
    assert "@import" not in page and "url(" not in page


def test_csp_allows_exactly_our_script() -> None:
    page = _page(example_circuit())
    script = re.search(r"<script>(.*)</script>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1)
    assert f"sha256-{digest}" in csp
    assert "default-src &#x27;none&#x27;" in csp


def test_view_adds_heads_and_keeps_fields() -> None:
    view = circuit_view(Path("x.json"), typed(example_circuit()))
    by_id = {n["id"]: n for n in view["nodes"]}
    assert by_id["0.attn.v:20"]["head"] == 1  # d_head 16
    assert by_id["0.attn.q:5"]["head"] == 0
    assert "head" not in by_id["0.mlp.post_act:12"]
    assert view["losses"]["circuit"] == 0.14 and view["validation"] is None
    assert len(view["edges"]) == 9


def test_round_sig() -> None:
    assert round_sig(0.123456) == 0.1235
    assert round_sig(12345.6) == 12350
    assert round_sig(float("nan")) is None and round_sig(None) is None and round_sig(0.0) == 0.0


def test_circuit_files_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        find_circuits(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        read_circuit(tmp_path / "bad.json")
    old = example_circuit()
    old["schema_version"] = 99
    (tmp_path / "old.json").write_text(json.dumps(old))
    with pytest.raises(UserError, match="schema_version 99"):
        read_circuit(tmp_path / "old.json")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "metrics.json").write_text("{}")
    with pytest.raises(UserError, match="no circuit JSON files"):
        find_circuits(empty)
    (empty / "a.json").write_text(json.dumps(example_circuit()))
    assert [p.name for p, _ in find_circuits(empty)] == ["a.json"]
