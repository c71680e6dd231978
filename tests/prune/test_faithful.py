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
    data = TaskData(
        SimpleNamespace(name="trap"), planted_pairs(64, 0), planted_pairs(32, 1), 0, 16, 0
    )
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


def test_faithfulness_curves_run_from_nothing_to_everything():
    from prune_planted import corpus_windows, planted_model

    model = planted_model()
    means, bank = compute_stats(model, corpus_windows(), bank_size=16)
    stats = ActivationStats(means, bank, {})
    data = TaskData(
        SimpleNamespace(name="planted"), planted_pairs(64, 0), planted_pairs(32, 1), 0, 16, 0
    )
    res = find_circuit(model, data, CFG, stats, progress=False)
    f = res.faithfulness
    assert f.fractions[0] == 0 and f.fractions[-1] == 1 and len(res.nodes) in f.nodes
    assert set(f.losses) == {"mean", "zero", "resample"}
    for a, curve in f.faithfulness.items():
        assert curve[0] == 0 and abs(curve[-1] - 1) < 1e-6, a  # nothing kept -> 0, all -> 1
        assert 0 < f.area[a] <= 1.2 and f.deviation[a] >= 0
    at_circuit = f.faithfulness["mean"][f.nodes.index(len(res.nodes))]
    assert at_circuit > 0.8  # the planted circuit does what the model does


def test_connectivity_drops_nodes_without_a_path():
    from prune_planted import planted_model

    from sparsecircuits.prune.connect import connected_nodes

    model = planted_model()
    assert connected_nodes(model, PLANTED) == PLANTED
    # q of head 0 (whose v is kept) but with no input edge, a neuron with no output edge,
    # an input channel nothing reads: all dangle
    extra = ["0.attn.act_in:3", "0.attn.q:1", "0.mlp.post_act:5"]
    widths = site_widths(model)
    from sparsecircuits.core.nodes import ids_from_keep

    ordered = ids_from_keep(keep_from_ids(widths, PLANTED + extra))
    assert connected_nodes(model, ordered) == PLANTED
