"""Faithfulness-aware pruning: a circuit that works only against the mean background is flagged,
and pruning under a resampled background recovers the planted circuit with its guards."""

from types import SimpleNamespace

import pytest
from prune_planted import PLANTED, TRAP_GUARDS, noise_windows, planted_pairs, trap_model

from sparsecircuits.core.ablation import Ablator
from sparsecircuits.core.data import TaskData
from sparsecircuits.core.evaluate import evaluate
from sparsecircuits.core.nodes import keep_from_ids, site_widths
from sparsecircuits.core.stats import ActivationStats, compute_stats
from sparsecircuits.prune import PruneConfig, find_circuit
from sparsecircuits.tasks import TaskBatch
from sparsecircuits.validate.config import ValidationConfig
from sparsecircuits.validate.verdicts import judge_sufficiency

CFG = PruneConfig(steps=80, batch_size=8, lr=0.01, k_coef=1e-3, n_heldout=32, eval_batch_size=64)


@pytest.fixture(scope="module")
def trap():
    model = trap_model()
    means, bank = compute_stats(model, noise_windows(), bank_size=64)
    data = TaskData(SimpleNamespace(name="trap"), planted_pairs(64, 0), planted_pairs(32, 1), 0, 16, 0)
    return model, ActivationStats(means, bank, {}), data


def _sufficiency(model, stats, ids, target):
    batch = TaskBatch.from_pairs(planted_pairs(64, 2), pad_id=0)
    keep = keep_from_ids(site_widths(model), ids)
    mean = evaluate(model, batch, keep, Ablator.of("mean", stats)).loss
    resample = evaluate(model, batch, keep, Ablator.of("resample", stats, 1)).loss
    return judge_sufficiency(mean, resample, target, ValidationConfig())


def test_mean_objective_finds_an_unfaithful_circuit_and_it_is_flagged(trap):
    model, stats, data = trap
    res = find_circuit(model, data, CFG, stats, progress=False)
    kept = {n.id for n in res.nodes}
    assert kept <= set(PLANTED)  # the guards look useless against a constant background
    assert res.losses.circuit <= CFG.target_loss
    rec = _sufficiency(model, stats, kept, CFG.target_loss)
    assert rec.values["loss_mean"] <= CFG.target_loss
    assert not rec.passed and rec.values["loss_resample"] > 2 * CFG.target_loss


@pytest.mark.parametrize("objective", ["resample", "mixture", "stochastic"])
def test_faithful_objective_recovers_the_circuit_with_its_guards(trap, objective):
    model, stats, data = trap
    cfg = CFG.replace(ablation=objective)
    res = find_circuit(model, data, cfg, stats, progress=False)
    kept = {n.id for n in res.nodes}
    assert set(TRAP_GUARDS) <= kept <= set(PLANTED) | set(TRAP_GUARDS)
    assert res.losses.circuit <= cfg.target_loss  # measured by the objective it trained for
    assert _sufficiency(model, stats, kept, cfg.target_loss).passed
