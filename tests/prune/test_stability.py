"""`prune --seeds N`: per-node keep rates, the core and its sufficiency; controls get the same budget."""

from __future__ import annotations

import pytest

from sparsecircuits.cli import main
from sparsecircuits.core.circuit import read_circuit
from sparsecircuits.validate.controls import search_budget

TASK = "single_double_quote"


def _run(argv: list) -> int:
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    return e.value.code


def test_seeds_record_keep_rates_core_and_budget(workspace, tmp_path, workspace_prune_args):
    sets = workspace_prune_args
    argv = ["prune", workspace["run"], "--task", TASK, "--out", tmp_path]
    assert _run([*argv, "--seeds", 3, *sets]) == 0
    c = read_circuit(tmp_path / f"{TASK}.json")
    s = c.stability
    assert s.seeds == [0, 1, 2] and len(s.nodes) == 3 and s.nodes[0] == c.counts.nodes
    assert set(c.node_ids) <= set(s.node_fraction)
    assert all(0 < v <= 1 and abs(v * 3 - round(v * 3)) < 1e-5 for v in s.node_fraction.values())
    assert s.core == [n for n in s.node_fraction if s.node_fraction[n] >= 0.8]
    assert set(s.core_loss) == {"mean", "resample"}
    assert s.core_sufficient == (s.core_loss["mean"] <= c.target_loss)
    assert c.hyperparameters["seeds"] == 3 and search_budget(c) == 3
    # a second call with the same settings reuses the file; other --seeds are refused
    assert _run([*argv, "--seeds", 3, *sets]) == 0
    assert _run([*argv, "--seeds", 2, *sets]) == 2


def test_seeds_and_search_together_are_refused(workspace, tmp_path, capsys):
    argv = [
        "prune",
        workspace["run"],
        "--task",
        TASK,
        "--out",
        tmp_path,
        "--seeds",
        2,
        "--search",
        2,
    ]
    assert _run(argv) == 2
    assert "choose one" in capsys.readouterr().err
