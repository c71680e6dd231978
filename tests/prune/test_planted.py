"""Pruning a hand-built model recovers a circuit no larger than the planted one, deterministically."""

from types import SimpleNamespace

import pytest
import torch
from prune_planted import PLANTED, PLANTED_EDGES, corpus_windows, planted_model, planted_pairs

from sparsecircuits.core.ablation import Ablator
from sparsecircuits.core.data import TaskData
from sparsecircuits.core.evaluate import evaluate
from sparsecircuits.core.nodes import keep_from_ids, site_widths
from sparsecircuits.core.stats import ActivationStats, compute_stats
from sparsecircuits.prune import PruneConfig, count_edges, find_circuit
from sparsecircuits.prune.pipeline import TargetUnreachable

CFG = PruneConfig(steps=60, batch_size=8, lr=0.01, k_coef=1e-3, n_heldout=32, eval_batch_size=64)


def _data(n_train, n_heldout):
    task = SimpleNamespace(name="planted")
    return TaskData(task, planted_pairs(n_train, 0), planted_pairs(n_heldout, 1), 0, 16, 0)


def _setup():
    model = planted_model()
    means, bank = compute_stats(model, corpus_windows(), bank_size=16)
    return model, ActivationStats(means, bank, {})


def test_planted_circuit_is_real():
    from sparsecircuits.tasks import TaskBatch

    model, stats = _setup()
    batch = TaskBatch.from_pairs(planted_pairs(32, 1), pad_id=0)
    widths = site_widths(model)
    full = evaluate(model, batch, None, Ablator.of("mean", stats))
    assert full.loss < 0.08 and full.accuracy == 1.0
    keep = keep_from_ids(widths, PLANTED)
    assert evaluate(model, batch, keep, Ablator.of("mean", stats)).loss < 0.05
    assert len(count_edges(model, keep)) == PLANTED_EDGES
    # without the copying path the task is at chance
    keep["0.attn.v"][0] = False
    assert evaluate(model, batch, keep, Ablator.of("mean", stats)).loss > 0.6


@pytest.mark.parametrize("ablation", ["mean", "zero"])
def test_pruning_finds_planted_circuit(ablation):
    model, stats = _setup()
    cfg = CFG.replace(ablation=ablation)
    res = find_circuit(model, _data(64, 32), cfg, stats, progress=False)
    kept = [n.id for n in res.nodes]
    assert len(kept) <= len(PLANTED)
    assert set(kept) <= set(PLANTED)
    assert res.losses.circuit <= cfg.target_loss
    assert len(res.edges) <= PLANTED_EDGES
    assert res.curve and res.curve[-1].nodes >= len(kept)
    assert any(c.nodes == len(kept) and c.loss <= cfg.target_loss for c in res.curve)
    assert all(n.ablation_delta is not None for n in res.nodes)
    assert res.losses.circuit_calibrated is not None


def test_same_seed_same_circuit():
    model, stats = _setup()
    runs = [
        find_circuit(model, _data(64, 32), CFG.replace(ablation="resample"), stats, progress=False)
        for _ in range(2)
    ]
    assert runs[0].nodes == runs[1].nodes and runs[0].curve == runs[1].curve
    assert torch.equal(runs[0].tau, runs[1].tau)


def test_target_below_full_model_loss():
    model, stats = _setup()
    with pytest.raises(TargetUnreachable, match="above the target"):
        find_circuit(model, _data(8, 8), CFG.replace(target_loss=1e-12), stats, progress=False)
