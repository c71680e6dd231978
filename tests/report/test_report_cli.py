"""`report` from the command line: one self-contained file, clear errors, nothing half-written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import example_circuit

from sparsecircuits.cli import main


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as e:
        main(argv)
    return e.value.code


def _data(page: str) -> dict:
    text = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S
    ).group(1)
    return json.loads(text)


def test_report_with_model_run(run_circuit: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    argv = [
        "report",
        str(run_circuit.parent),
        "--out",
        str(out),
        "--snippet-windows",
        "32",
        "--snippet-len",
        "16",
    ]
    assert _run(argv) == 0
    data = _data(out.read_text())
    (c,) = data["circuits"]
    assert c["file"] == "single_double_quote.json"
    nodes = {n["id"]: n for n in c["nodes"]}
    snips = nodes["0.mlp.post_act:7"]["snippets"]
    assert snips["top"] or snips["bottom"]
    assert len(c["edges"]) == json.loads(run_circuit.read_text())["counts"]["edges"]
    # Same inputs, same data (the generation time aside).
    out2 = tmp_path / "r2.html"
    assert _run([*argv[:3], str(out2), *argv[4:]]) == 0
    a, b = _data(out.read_text()), _data(out2.read_text())
    a.pop("generated"), b.pop("generated")
    assert a == b


def test_missing_run_is_exit_2_without_output(tmp_path: Path, capsys) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(example_circuit(run=str(tmp_path / "gone"))))
    out = tmp_path / "r.html"
    assert _run(["report", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "was not found" in err and "--run" in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".r.html*"))
    assert _run(["report", str(path), "--out", str(out), "--no-model"]) == 0
    assert out.is_file()


def test_wrong_weights_hash_is_exit_2(run_circuit: Path, tmp_path: Path, capsys) -> None:
    circuit = json.loads(run_circuit.read_text())
    circuit["model"]["weights_sha256"] = "f" * 64
    path = tmp_path / "c.json"
    path.write_text(json.dumps(circuit))
    assert _run(["report", str(path), "--out", str(tmp_path / "r.html"), "--no-snippets"]) == 2
    assert "pruned from weights ffffffffffff" in capsys.readouterr().err
