"""Bisection, calibration, config overrides and the circuit file round trip."""

import pytest
import torch

from sparsecircuits.errors import UserError
from sparsecircuits.prune.bisect import bisect_size, rank_nodes
from sparsecircuits.prune.calibrate import calibrated_loss, fit_calibration
from sparsecircuits.prune.config import PruneConfig


def test_bisect_finds_smallest_size():
    calls = []

    def loss(k):
        calls.append(k)
        return 1.0 if k < 37 else 0.1

    k, seen = bisect_size(loss, 1000, 20, 0.15)
    assert k == 37 and seen[37] == 0.1 and seen[36] == 1.0
    assert len(calls) == len(set(calls)) < 15
    assert bisect_size(lambda k: 0.0, 100, 5, 0.15)[0] == 0
    assert bisect_size(lambda k: 1.0, 100, 5, 0.15)[0] is None


def test_rank_nodes_stable_on_ties():
    assert rank_nodes(torch.tensor([0.1, 1.0, 0.1, 1.0, -1.0])).tolist() == [1, 3, 0, 2, 4]


def test_calibration_lowers_loss():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 5, generator=g) * 0.1
    target = torch.tensor([1, 2] * 32)
    other = torch.tensor([2, 1] * 32)
    logits[torch.arange(64), target] += 0.3  # right but underconfident, and biased towards token 1
    logits[:, 1] += 0.2
    before = calibrated_loss(logits, target, other, 1.0, 0.0)
    scale, shift = fit_calibration(logits, target, other, steps=16)
    assert scale > 1.0
    assert calibrated_loss(logits, target, other, scale, shift) < before


def test_config_overrides():
    cfg = PruneConfig().with_overrides(["steps=7", "calibrate=false", "lr=0.01"])
    assert (cfg.steps, cfg.calibrate, cfg.lr) == (7, False, 0.01)
    with pytest.raises(UserError, match="unknown key prune.nope"):
        PruneConfig().with_overrides(["nope=1"])
    with pytest.raises(UserError, match="did you mean prune.k_coef"):
        PruneConfig().with_overrides(["k_coeff=1"])
    with pytest.raises(UserError, match="ablation"):
        PruneConfig(ablation="median")


def test_config_from_toml(tmp_path):
    (tmp_path / "p.toml").write_text("[prune]\nsteps = 9\nablation = 'zero'\n")
    cfg = PruneConfig.from_toml(tmp_path / "p.toml")
    assert (cfg.steps, cfg.ablation) == (9, "zero")
    (tmp_path / "bad.toml").write_text("[prune]\nstepz = 9\n")
    with pytest.raises(UserError, match="stepz"):
        PruneConfig.from_toml(tmp_path / "bad.toml")
    with pytest.raises(UserError, match="does not exist"):
        PruneConfig.from_toml(tmp_path / "none.toml")
