"""The annealing and learning-rate schedules match their formulas."""

import math

import pytest

from sparsecircuits.train.schedule import fraction_at, lr_at, warmup_steps


def test_fraction_is_linear_then_flat() -> None:
    steps, target, afrac = 200, 1 / 8, 0.5
    a = 100
    for t in range(0, steps + 1):
        expected = 1 + (target - 1) * min(1.0, t / a)
        assert fraction_at(t, steps, target, afrac) == pytest.approx(expected)
    assert fraction_at(0, steps, target, afrac) == 1.0
    assert fraction_at(a, steps, target, afrac) == pytest.approx(target)
    assert fraction_at(steps, steps, target, afrac) == pytest.approx(target)
    assert fraction_at(a // 2, steps, target, afrac) == pytest.approx((1 + target) / 2)


def test_fraction_without_annealing_is_target() -> None:
    assert fraction_at(1, 100, 0.25, 0.0) == 0.25


def test_lr_sharkfin_formula() -> None:
    steps, base, target, afrac, wfrac = 1000, 0.01, 1 / 16, 0.5, 0.01
    w = warmup_steps(steps, wfrac)
    assert w == 10
    for t in range(1, steps + 1):
        f = fraction_at(t, steps, target, afrac)
        warm = min(1.0, t / w)
        decay = min(1.0, (steps - t + 1) / (steps - w + 1))
        expected = base * warm * decay * math.sqrt(target / f)
        assert lr_at(t, steps, base, wfrac, target, afrac) == pytest.approx(expected, rel=1e-12)
    # warmup is linear, peak after warmup, decays to ~0 at the end
    assert lr_at(5, steps, base, wfrac, 1.0, afrac) == pytest.approx(base * 0.5)
    assert lr_at(w, steps, base, wfrac, 1.0, afrac) == pytest.approx(base)
    assert lr_at(steps, steps, base, wfrac, 1.0, afrac) == pytest.approx(base / (steps - w + 1))
    # sparser phase gets a larger lr: at the end of annealing, sqrt(target/target) = 1 while
    # early on (f near 1) the factor is sqrt(target) < 1
    assert lr_at(w, steps, base, wfrac, target, afrac) < lr_at(w, steps, base, wfrac, 1.0, afrac)


def test_dense_lr_has_no_sparsity_factor() -> None:
    assert lr_at(500, 1000, 1e-3, 0.01, 1.0, 0.5) == pytest.approx(
        1e-3 * (1000 - 500 + 1) / (1000 - 10 + 1)
    )
