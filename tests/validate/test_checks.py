"""Each check on a tiny task-trained model: real circuit, a deliberately wrong circuit, controls, resume."""

from __future__ import annotations

import json
import math

import pytest

from sparsecircuits.validate import ValidationConfig, validate_circuit

CORE = ["sufficiency", "necessity", "stochastic", "binarisation"]
SMALL = ValidationConfig(stochastic_draws=4, binarise_fit_pairs=16)


def _read(path):
    return json.loads(path.read_text())


def test_core_checks_on_real_circuit(circuit_file):
    before = _read(circuit_file)
    v = validate_circuit(circuit_file, checks=CORE, cfg=SMALL, progress=False).to_json()
    after = _read(circuit_file)
    assert after["validation"] == json.loads(json.dumps(v))
    assert {k: after[k] for k in before if k != "validation"} == {
        k: before[k] for k in before if k != "validation"
    }
    checks = v["checks"]
    assert list(checks) == CORE and v["verdict"] in ("pass", "fail")
    assert v["verdict"] == ("pass" if all(c["passed"] for c in checks.values()) else "fail")

    suff = checks["sufficiency"]
    # recomputed on the same held-out pairs pruning used: same number as pruning reported
    assert suff["loss_mean"] == pytest.approx(before["losses"]["circuit"], abs=1e-4)
    assert suff["passed"] == (
        suff["loss_mean"] <= before["target_loss"]
        and suff["loss_resample"] <= 2 * before["target_loss"]
    )
    assert suff["loss_mean"] <= before["target_loss"]  # pruning bisected to the target
    assert suff["loss_random_same_size"] > suff["loss_mean"]

    nec = checks["necessity"]
    assert nec["full_model"] == pytest.approx(before["losses"]["full_model"], abs=1e-4)
    assert nec["loss"] > nec["full_model"]  # knocking out the circuit hurts

    sto = checks["stochastic"]
    assert sto["n"] == 4 and sto["std"] >= 0 and sto["best"] <= sto["mean"] <= sto["worst"]

    binr = checks["binarisation"]
    assert binr["circuit_loss"] == pytest.approx(suff["loss_mean"], abs=1e-5)
    assert math.isfinite(binr["loss"]) and binr["nodes"] == before["counts"]["nodes"]
    assert set(binr["per_node"]) == {n["id"] for n in before["nodes"]}
    for frac, thr, low, high in binr["per_node"].values():
        assert frac in (0.25, 0.5, 0.75)
        assert low <= thr <= high


def test_wrong_circuit_fails_sufficiency(circuit_file, workspace):
    """Random nodes of the same count as the real circuit: the circuit alone cannot do the task."""
    from sparsecircuits.core.nodes import keep_from_ids, random_like
    from sparsecircuits.train import load_run

    raw = _read(circuit_file)
    model = load_run(workspace["run"]).model
    widths = {s: model.site_width(s) for s in model.site_names()}
    real = keep_from_ids(widths, [n["id"] for n in raw["nodes"]])
    fake = random_like(real, seed=123)
    ids = [f"{s}:{i}" for s, m in fake.items() for i in m.nonzero().flatten().tolist()]
    assert len(ids) == len(raw["nodes"]) and set(ids) != {n["id"] for n in raw["nodes"]}
    raw["nodes"] = [
        {
            "id": i,
            "layer": int(i.split(".")[0]),
            "site": i.split(".", 1)[1].split(":")[0],
            "index": int(i.split(":")[1]),
            "tau": 0.0,
            "ablation_delta": None,
        }
        for i in ids
    ]
    raw["edges"], raw["counts"]["edges"] = [], 0  # edges must join nodes of the circuit
    circuit_file.write_text(json.dumps(raw))
    v = validate_circuit(circuit_file, checks=["sufficiency"], cfg=SMALL, progress=False).to_json()
    assert not v["checks"]["sufficiency"]["passed"]
    assert v["checks"]["sufficiency"]["loss_mean"] > raw["target_loss"]
    assert v["verdict"] == "fail"


def test_same_seed_same_result_and_resume(circuit_file):
    msgs: list[str] = []
    a = validate_circuit(
        circuit_file, checks=["stochastic"], cfg=SMALL, seed=5, progress=False
    ).to_json()
    b = validate_circuit(
        circuit_file,
        checks=["stochastic", "sufficiency"],
        cfg=SMALL,
        seed=5,
        progress=False,
        log=msgs.append,
    ).to_json()
    assert any("stochastic: reused" in m for m in msgs)  # finished work is not redone
    c = validate_circuit(
        circuit_file, checks=["stochastic"], cfg=SMALL, seed=5, progress=False, fresh=True
    ).to_json()

    def numbers(v):
        return {k: x for k, x in v["checks"]["stochastic"].items() if k != "seconds"}

    assert b["checks"]["stochastic"] == a["checks"]["stochastic"]  # reused as is
    assert numbers(a) == numbers(c)  # recomputed: same seed, same numbers
    d = validate_circuit(
        circuit_file, checks=["stochastic"], cfg=SMALL, seed=6, progress=False
    ).to_json()
    assert d["checks"]["stochastic"]["mean"] != a["checks"]["stochastic"]["mean"]


def test_controls(circuit_file, workspace):
    raw = _read(circuit_file)
    run_files = {p.name: p.stat().st_mtime_ns for p in workspace["run"].iterdir()}
    v = validate_circuit(
        circuit_file,
        checks=["control_random_init", "control_shuffled"],
        cfg=SMALL,
        progress=False,
    ).to_json()
    for name in ("control_random_init", "control_shuffled"):
        rec = v["checks"][name]
        assert isinstance(rec["passed"], bool) and math.isfinite(rec["full_model"])
        if rec["reached_target"]:
            assert rec["achieved_loss"] <= raw["target_loss"] and rec["nodes"] is not None
            if raw["counts"]["edges"] > 0:
                assert rec["edge_ratio"] == pytest.approx(
                    rec["edges"] / raw["counts"]["edges"], rel=1e-5
                )
        else:
            assert rec["passed"] and rec["reason"]
    # the shuffled labels are random per pair: the real model is near chance on them
    assert v["checks"]["control_shuffled"]["full_model"] > 0.5
    # nothing is written into the run folder (statistics live in the user cache)
    assert {p.name: p.stat().st_mtime_ns for p in workspace["run"].iterdir()} == run_files


def test_a_registered_check_runs_and_is_stored(circuit_file):
    """Adding a check is one function and one registration: the runner needs no change."""
    from sparsecircuits.core.circuit import CheckRecord
    from sparsecircuits.validate import REGISTRY, check, parse_checks

    @check("kept_fraction")
    def kept_fraction(ctx):
        share = len(ctx.circuit.nodes) / ctx.circuit.counts.model_nodes
        return CheckRecord(share < 0.5, "under half of the model's nodes", values={"share": share})

    try:
        assert parse_checks("kept_fraction") == ["kept_fraction"]
        v = validate_circuit(circuit_file, checks=["kept_fraction"], cfg=SMALL, progress=False)
        assert v.checks["kept_fraction"].values["share"] > 0
        assert _read(circuit_file)["validation"]["checks"]["kept_fraction"]["passed"] is True
    finally:
        del REGISTRY["kept_fraction"]
