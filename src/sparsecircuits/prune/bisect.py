"""Discretisation: the smallest top-k node set (ranked by tau) whose held-out loss meets the target."""

from __future__ import annotations

from collections.abc import Callable

import torch


def rank_nodes(tau: torch.Tensor) -> torch.Tensor:
    """Node indices by decreasing tau; ties keep site order, so the ranking is deterministic."""
    return torch.sort(-tau, stable=True).indices


def bisect_size(
    loss_at: Callable[[int], float], n_total: int, n_start: int, target: float
) -> tuple[int | None, dict[int, float]]:
    """Smallest k with loss_at(k) <= target, assuming loss falls with k; returns (k or None, {k: loss}).

    Starts from `n_start` (the trained mask's size), doubles up if that fails, then bisects.
    None means even all `n_total` nodes miss the target.
    """
    seen: dict[int, float] = {}

    def f(k: int) -> float:
        if k not in seen:
            seen[k] = float(loss_at(k))
        return seen[k]

    if f(0) <= target:
        return 0, seen
    lo, hi = 0, min(max(n_start, 1), n_total)
    while f(hi) > target:
        if hi >= n_total:
            return None, seen
        lo, hi = hi, min(n_total, hi * 2)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if f(mid) <= target:
            hi = mid
        else:
            lo = mid
    return hi, seen
