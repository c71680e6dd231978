"""Verdict rules, check selection, node-set draws and step-function candidates (no model needed)."""

import math

import pytest
import torch

from sparsecircuits.core.circuit import CheckRecord
from sparsecircuits.core.nodes import complement, count, random_like, stochastic_draws
from sparsecircuits.errors import UserError
from sparsecircuits.validate import verdicts
from sparsecircuits.validate.binarise import StepParams, step_candidates
from sparsecircuits.validate.checks import CHECKS
from sparsecircuits.validate.config import ValidationConfig, parse_checks

CFG = ValidationConfig()


def test_parse_checks_aliases_and_order():
    assert parse_checks("all") == list(CHECKS)
    assert parse_checks("necessity,sufficiency") == ["sufficiency", "necessity"]
    assert parse_checks("controls") == ["control_random_init", "control_shuffled"]
    with pytest.raises(UserError, match="unknown check"):
        parse_checks("sufficiency,bogus")
    with pytest.raises(UserError):
        parse_checks(" , ")


def test_config_overrides():
    cfg = ValidationConfig.from_overrides(
        ["stochastic_draws=8", "binarise_fractions=0.5", "resample_factor=3"]
    )
    assert (
        cfg.stochastic_draws == 8
        and cfg.binarise_fractions == (0.5,)
        and cfg.resample_factor == 3.0
    )
    with pytest.raises(UserError, match="unknown key validate.nope"):
        ValidationConfig.from_overrides(["nope=1"])
    with pytest.raises(UserError, match="must be an integer"):
        ValidationConfig.from_overrides(["stochastic_draws=many"])
    with pytest.raises(UserError):
        ValidationConfig(stochastic_fraction=0.0)


def test_sufficiency_rule():
    assert verdicts.judge_sufficiency(0.14, 0.29, 0.15, CFG).passed
    assert not verdicts.judge_sufficiency(0.16, 0.2, 0.15, CFG).passed
    rec = verdicts.judge_sufficiency(0.1, 0.31, 0.15, CFG)
    assert not rec.passed and "0.3" in rec.threshold


def test_necessity_rule_uses_larger_floor():
    # full 0.05 -> floor max(0.347, 0.35) = 0.35
    assert verdicts.judge_necessity(0.36, 0.05, CFG).passed
    assert not verdicts.judge_necessity(0.34, 0.05, CFG).passed
    # a weak full model (0.3): floor 0.6, so 0.5 is not enough
    assert not verdicts.judge_necessity(0.5, 0.3, CFG).passed
    assert verdicts.judge_necessity(math.log(2), 0.3, CFG).passed


def test_stochastic_rule_mean_and_worst():
    rec = verdicts.judge_stochastic([0.1, 0.2, 0.3], 0.15, CFG)
    assert rec.passed and rec.values["worst"] == 0.3 and rec.values["mean"] == pytest.approx(0.2)
    assert rec.values["std"] == pytest.approx(0.1)
    assert not verdicts.judge_stochastic([0.1, 0.1, 0.7], 0.15, CFG).passed  # worst > 0.6
    assert not verdicts.judge_stochastic([0.35, 0.35], 0.15, CFG).passed  # mean > 0.3


def test_control_rule():
    kw = dict(kind="k", full_model_loss=0.7, achieved_loss=0.1, reason=None, cfg=CFG)
    assert verdicts.judge_control(
        reached_target=True, nodes=50, edges=40, real_nodes=10, real_edges=10, **kw
    ).passed
    rec = verdicts.judge_control(
        reached_target=True, nodes=20, edges=39, real_nodes=10, real_edges=10, **kw
    )
    assert not rec.passed and rec.values["edge_ratio"] == pytest.approx(3.9)
    kw["reason"] = "no"
    assert verdicts.judge_control(
        reached_target=False, nodes=None, edges=None, real_nodes=10, real_edges=10, **kw
    ).passed
    # edgeless real circuit: compare nodes
    kw["reason"] = None
    assert not verdicts.judge_control(
        reached_target=True, nodes=3, edges=0, real_nodes=2, real_edges=0, **kw
    ).passed
    assert verdicts.judge_control(
        reached_target=True, nodes=8, edges=5, real_nodes=2, real_edges=0, **kw
    ).passed


def test_overall_verdict():
    yes, no = CheckRecord(True, "t"), CheckRecord(False, "t")
    assert verdicts.overall_verdict({"a": yes, "b": yes}) == "pass"
    assert verdicts.overall_verdict({"a": yes, "b": no}) == "fail"
    assert verdicts.overall_verdict({}) == "fail"


def _keep():
    return {
        "0.attn.q": torch.tensor([True, False, False, True]),
        "0.mlp.post_act": torch.zeros(12, dtype=torch.bool),
    }


def test_random_like_same_size_and_deterministic():
    k = _keep()
    a, b = random_like(k, 0), random_like(k, 0)
    draws = {tuple(torch.cat([random_like(k, s)[x] for x in k]).tolist()) for s in range(8)}
    assert len(draws) > 1  # the seed matters
    assert count(a) == count(k) == 2
    assert all(torch.equal(a[s], b[s]) for s in k)
    assert set(a) == set(k) and all(a[s].shape == k[s].shape for s in k)


def test_stochastic_draws_never_touch_circuit():
    k = _keep()
    draws = stochastic_draws(k, 16, 0.5, seed=3)
    n_rest = count(complement(k))
    for d in draws:
        assert count(d) == round(0.5 * n_rest)
        assert not any(bool((d[s] & k[s]).any()) for s in k)
    again = stochastic_draws(k, 16, 0.5, seed=3)
    assert all(torch.equal(x[s], y[s]) for x, y in zip(draws, again, strict=True) for s in k)
    distinct = {tuple(torch.cat([d[s] for s in k]).tolist()) for d in draws}
    assert len(distinct) > 1


def test_step_candidates_levels():
    v = torch.tensor([0.0, 0.0, 1.0, 4.0])
    cands = step_candidates(v, (0.25, 0.5, 0.75))
    assert [c[0] for c in cands] == [0.25, 0.5, 0.75]
    f, thr, lo, hi = cands[0]  # threshold 1.0: below {0, 0}, above {1, 4}
    assert thr == 1.0 and lo == 0.0 and hi == 2.5
    f, thr, lo, hi = cands[2]  # threshold 3.0: below {0, 0, 1}, above {4}
    assert lo == pytest.approx(1 / 3) and hi == 4.0
    assert step_candidates(torch.full((5,), 2.0), (0.5,)) == [(0.5, 2.0, 2.0, 2.0)]


def test_step_params_apply_only_active_channels():
    p = StepParams.empty(3)
    p.active[1] = True
    p.threshold[1], p.low[1], p.high[1] = 0.5, -1.0, 2.0
    x = torch.tensor([[[0.7, 0.7, 0.7], [0.1, 0.1, 0.1]]])
    y = p(x)
    assert torch.equal(y[..., 0], x[..., 0]) and torch.equal(y[..., 2], x[..., 2])
    assert y[0, :, 1].tolist() == [2.0, -1.0]
