"""Circuit files: typed round trip, a file of the previous release loads, every schema violation is one sentence."""

import copy
import json
from pathlib import Path

import pytest

from sparsecircuits.core.circuit import (
    Circuit,
    Counts,
    EdgeRecord,
    Losses,
    ModelRef,
    NodeRecord,
    TaskRef,
    read_circuit,
    save_circuit,
)
from sparsecircuits.errors import UserError

V1 = Path(__file__).with_name("data") / "circuit_v1.json"


def _circuit() -> Circuit:
    return Circuit(
        model=ModelRef("r", "x", {}),
        task=TaskRef("t", "d", "A", "B", 8, 4, 0),
        ablation="mean",
        seed=0,
        target_loss=0.15,
        losses=Losses(full_model=0.1, circuit=0.14),
        nodes=[
            NodeRecord("0.attn.act_in:1", 0, "attn.act_in", 1, 0.5, 0.2),
            NodeRecord("0.attn.q:2", 0, "attn.q", 2, 0.1, None),
        ],
        edges=[EdgeRecord("0.attn.act_in:1", "0.attn.q:2", -0.25)],
        counts=Counts(2, 1, 10),
    )


def test_round_trip(tmp_path):
    c = _circuit()
    save_circuit(c, tmp_path / "t.json")
    d = json.loads((tmp_path / "t.json").read_text())
    assert d["schema_version"] == 1 and d["validation"] is None and "source" not in d["task"]
    assert read_circuit(tmp_path / "t.json") == c


def test_a_file_of_the_previous_release_loads_and_survives_a_round_trip(tmp_path):
    """tests/core/data/circuit_v1.json was written by `prune` + `validate` before the core existed."""
    c = read_circuit(V1)
    assert c.task.name == "single_double_quote" and c.counts.nodes == len(c.nodes) == 4
    assert c.validation is not None and not c.validation.checks["stochastic"].passed
    assert c.validation.checks["stochastic"].values["n"] == 32
    save_circuit(c, tmp_path / "again.json")
    before, after = json.loads(V1.read_text()), json.loads((tmp_path / "again.json").read_text())
    for key in before:
        if key != "validation":
            assert after[key] == before[key], key
    assert (
        after["validation"]["checks"]["necessity"]["loss"]
        == before["validation"]["checks"]["necessity"]["loss"]
    )


def _broken(change):
    d = json.loads(V1.read_text())
    change(d)
    return d


def _set(path, value):
    def change(d):
        *head, last = path
        for k in head:
            d = d[k]
        d[last] = value

    return change


def _delete(path):
    def change(d):
        *head, last = path
        for k in head:
            d = d[k]
        del d[last]

    return change


SCHEMA_CASES = {
    "top level a list": (lambda d: d.clear(), "the top level"),
    "no nodes": (_delete(["nodes"]), "nodes is missing"),
    "nodes not a list": (_set(["nodes"], {"a": 1}), "nodes must be a list"),
    "node id malformed": (_set(["nodes", 0, "id"], "zero.attn:q"), "not a node id"),
    "node id a number": (_set(["nodes", 0, "id"], 7), "must be a string"),
    "tau a string": (_set(["nodes", 0, "tau"], "high"), "must be a number"),
    "edge to nowhere": (_set(["edges", 0, "dst"], "3.mlp.post_act:1"), "not a node of the circuit"),
    "edge weight null": (_set(["edges", 0, "weight"], None), "must be a number"),
    "loss absurd": (_set(["losses", "circuit"], 1e30), "outside"),
    "loss negative": (_set(["losses", "full_model"], -1), "outside"),
    "target zero": (_set(["target_loss"], 0), "outside"),
    "ablation unknown": (_set(["ablation"], "median"), "not one of"),
    "counts disagree": (_set(["counts", "nodes"], 99), "the file lists 4 nodes"),
    "count negative": (_set(["counts", "edges"], -3), "outside"),
    "n_heldout zero": (_set(["task", "n_heldout"], 0), "outside"),
    "task name missing": (_delete(["task", "name"]), "task.name is missing"),
    "model not an object": (_set(["model"], "runs/tiny"), "model must be a JSON object"),
    "schema from the future": (_set(["schema_version"], 99), "schema_version 99"),
    "check passed a string": (
        _set(["validation", "checks", "necessity", "passed"], "yes"),
        "true or false",
    ),
    "curve nodes float": (_set(["curve", 0, "nodes"], 1.5), "must be an integer"),
}


@pytest.mark.parametrize("case", sorted(SCHEMA_CASES))
def test_schema_violations_name_the_field(tmp_path, case):
    change, words = SCHEMA_CASES[case]
    d = _broken(change) if case != "top level a list" else [1, 2]
    p = tmp_path / "c.json"
    p.write_text(json.dumps(d))
    with pytest.raises(UserError) as e:
        read_circuit(p)
    msg = str(e.value)
    assert words in msg and str(p) in msg and "\n" not in msg


@pytest.mark.parametrize(
    "content, words",
    [(b"{", "not valid JSON"), (b"\xff\xfe{}", "not UTF-8"), (b"", "not valid JSON")],
)
def test_unreadable_files(tmp_path, content, words):
    p = tmp_path / "c.json"
    p.write_bytes(content)
    with pytest.raises(UserError, match=words):
        read_circuit(p)
    with pytest.raises(UserError, match="does not exist"):
        read_circuit(tmp_path / "none.json")


def test_unknown_fields_survive(tmp_path):
    d = json.loads(V1.read_text())
    d["from_the_future"] = {"x": 1}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(d))
    c = read_circuit(p)
    save_circuit(copy.deepcopy(c), p)
    assert json.loads(p.read_text())["from_the_future"] == {"x": 1}
