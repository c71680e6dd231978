"""Sparsity annealing f(t) and the "sharkfin" learning-rate schedule.

Steps are counted from 1: step t is the t-th optimizer update, made with lr(t), after which
every sparse tensor is projected to keep the fraction f(t) of its entries.
"""

from __future__ import annotations

import math


def anneal_steps(steps: int, anneal_frac: float) -> int:
    """Number of steps over which the kept fraction falls from 1 to the target (0 = at once)."""
    return round(anneal_frac * steps)


def warmup_steps(steps: int, warmup_frac: float) -> int:
    """Number of linear-warmup steps (at least 1, so step 1 never has lr 0)."""
    return max(1, math.ceil(warmup_frac * steps))


def fraction_at(step: int, steps: int, target: float, anneal_frac: float) -> float:
    """Kept fraction after step `step`: linear from 1 to `target` over the annealing steps, then flat."""
    a = anneal_steps(steps, anneal_frac)
    if a <= 0:
        return target
    progress = min(1.0, max(0, step) / a)
    return 1.0 + (target - 1.0) * progress


def lr_at(
    step: int, steps: int, base_lr: float, warmup_frac: float, target: float, anneal_frac: float
) -> float:
    """lr(t) = base_lr * warmup(t) * decay(t) * sqrt(target / f(t)), for t in 1..steps.

    warmup(t) = min(1, t / W); decay(t) = min(1, (steps - t + 1) / (steps - W + 1)), i.e. linear
    from 1 at the end of warmup to 1 / (steps - W + 1) at the last step (0 just after it).
    """
    w = warmup_steps(steps, warmup_frac)
    warm = min(1.0, step / w)
    decay = min(1.0, max(0.0, (steps - step + 1) / (steps - w + 1)))
    f = fraction_at(step, steps, target, anneal_frac)
    return base_lr * warm * decay * math.sqrt(target / f)
