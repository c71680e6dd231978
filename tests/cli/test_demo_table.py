"""The demo's printed table and the report's same-task notes for a sparse/dense pair of circuits."""

from __future__ import annotations

import json
from pathlib import Path

from sparsecircuits.core.circuit import circuit_from_json
from sparsecircuits.demo.pipeline import circuit_path, summary_table
from sparsecircuits.report.build import same_task_notes

V1 = Path(__file__).resolve().parents[1] / "core" / "data" / "circuit_v1.json"


def _pair(tmp_path: Path) -> list[Path]:
    base = json.loads(V1.read_text())
    paths = []
    for kind, edges in (("sparse", 3), ("dense", 12)):
        c = json.loads(json.dumps(base))
        c["model"]["run"] = f"demo/run-{kind}"
        c["edges"] = (c["edges"] * 4)[:edges]
        c["counts"]["edges"] = edges
        path = circuit_path(tmp_path, c["task"]["name"], kind, 2)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(c))
        paths.append(path)
    return paths


def test_table_puts_sparse_and_dense_side_by_side(tmp_path):
    paths = _pair(tmp_path)
    assert [p.name for p in paths] == [
        "single_double_quote.sparse.json",
        "single_double_quote.dense.json",
    ]
    table = summary_table(paths)
    assert "run-sparse" in table and "run-dense" in table
    assert "dense / sparse circuit edges: single_double_quote 4.0x; geometric mean 4.00x" in table


def test_report_notes_name_the_other_model():
    base = json.loads(V1.read_text())
    a, b = json.loads(json.dumps(base)), json.loads(json.dumps(base))
    a["model"]["run"], b["model"]["run"] = "x/run-sparse", "x/run-dense"
    b["counts"]["edges"] = 0
    b["edges"] = []
    notes = same_task_notes(
        [circuit_from_json(a, Path("a.json")), circuit_from_json(b, Path("b.json"))]
    )
    assert "run-dense: 4 nodes, 0 edges" in notes[0] and "run-sparse: 4 nodes, 3 edges" in notes[1]
    lone = same_task_notes([circuit_from_json(a, Path("a.json"))])
    assert lone == [""]
