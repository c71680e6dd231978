"""Pass/fail rules for every check: each takes measured numbers and returns the check's record."""

from __future__ import annotations

import math

from sparsecircuits.core.circuit import CheckRecord, JSONObject
from sparsecircuits.validate.config import LN2, ValidationConfig


def _record(values: JSONObject, threshold: str, passed: bool, summary: str) -> CheckRecord:
    return CheckRecord(passed=bool(passed), threshold=threshold, values=values, summary=summary)


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def round_loss(x: float | None) -> float | None:
    """Round a loss for storage (JSON has no inf/nan: those become None)."""
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), 6)


def judge_sufficiency(
    loss_mean: float, loss_resample: float, target: float, cfg: ValidationConfig
) -> CheckRecord:
    """Sufficiency: circuit alone meets the target under mean ablation, and 2x it under resampling."""
    limit_resample = cfg.resample_factor * target
    passed = loss_mean <= target and loss_resample <= limit_resample
    return _record(
        {
            "loss_mean": round_loss(loss_mean),
            "loss_resample": round_loss(loss_resample),
        },
        (
            f"circuit-only loss <= target {target:.3g} with the rest mean-ablated, and "
            f"<= {cfg.resample_factor:g} x target = {limit_resample:.3g} with the rest resample-ablated"
        ),
        bool(passed),
        f"mean-abl {_f(loss_mean)}, resample {_f(loss_resample)}",
    )


def judge_necessity(loss: float, full_loss: float, cfg: ValidationConfig) -> CheckRecord:
    """Necessity: ablating only the circuit pushes the loss near chance or well above the full model."""
    floor_chance = cfg.necessity_chance_fraction * LN2
    floor_full = full_loss + cfg.necessity_margin
    limit = max(floor_chance, floor_full)
    return _record(
        {
            "loss": round_loss(loss),
            "full_model": round_loss(full_loss),
        },
        (
            f"loss with only the circuit mean-ablated >= max({cfg.necessity_chance_fraction:g} x ln2, "
            f"full-model loss + {cfg.necessity_margin:g}) = max({floor_chance:.3g}, {floor_full:.3g}) = {limit:.3g}"
        ),
        bool(loss >= limit),
        f"loss {_f(loss)} (full model {_f(full_loss)})",
    )


def judge_stochastic(losses: list[float], target: float, cfg: ValidationConfig) -> CheckRecord:
    """Stochastic ablation: mean and worst loss over random partial resamplings of the non-circuit nodes."""
    n = len(losses)
    mean = sum(losses) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in losses) / (n - 1)) if n > 1 else 0.0
    worst = max(losses)
    lim_mean = cfg.stochastic_mean_factor * target
    lim_worst = cfg.stochastic_worst_factor * target
    return _record(
        {
            "n": n,
            "fraction": cfg.stochastic_fraction,
            "mean": round_loss(mean),
            "std": round_loss(std),
            "worst": round_loss(worst),
            "best": round_loss(min(losses)),
        },
        (
            f"circuit kept, a random {cfg.stochastic_fraction:g} of the other nodes resampled "
            f"(the others kept as they are), {n} draws: mean loss <= {cfg.stochastic_mean_factor:g} x target = "
            f"{lim_mean:.3g} and worst <= {cfg.stochastic_worst_factor:g} x target = {lim_worst:.3g}"
        ),
        bool(mean <= lim_mean and worst <= lim_worst),
        f"mean {_f(mean)} +- {_f(std)}, worst {_f(worst)} (n={n})",
    )


def judge_binarisation(
    loss: float, circuit_loss: float, target: float, cfg: ValidationConfig, n_nodes: int
) -> CheckRecord:
    """Binarisation: the circuit with two-level step-function nodes stays within a factor of the target."""
    limit = cfg.binarise_factor * target
    return _record(
        {
            "loss": round_loss(loss),
            "circuit_loss": round_loss(circuit_loss),
            "loss_increase": round_loss(loss - circuit_loss),
            "nodes": n_nodes,
        },
        (
            f"loss with every circuit node a two-level step function (rest mean-ablated) <= "
            f"{cfg.binarise_factor:g} x target = {limit:.3g}"
        ),
        bool(loss <= limit),
        f"loss {_f(loss)} (circuit {_f(circuit_loss)})",
    )


def judge_control(
    *,
    kind: str,
    reached_target: bool,
    nodes: int | None,
    edges: int | None,
    real_nodes: int,
    real_edges: int,
    full_model_loss: float | None,
    achieved_loss: float | None,
    reason: str | None,
    cfg: ValidationConfig,
) -> CheckRecord:
    """A control passes if it cannot reach the target, or needs >= factor x the real circuit's edges."""
    f = cfg.control_edge_factor
    edge_ratio: float | None = None
    node_ratio: float | None = None
    if reached_target and edges is not None and real_edges > 0:
        edge_ratio = edges / real_edges
    if reached_target and nodes is not None and real_nodes > 0:
        node_ratio = nodes / real_nodes
    if not reached_target:
        passed = True
    elif real_edges > 0:
        passed = edge_ratio is not None and edge_ratio >= f
    else:
        # An edgeless real circuit gives no edge ratio: compare node counts instead.
        passed = nodes is not None and nodes >= f * max(real_nodes, 1)
    basis = "edges" if real_edges > 0 else "nodes (the real circuit has no edges)"
    return _record(
        {
            "kind": kind,
            "reached_target": bool(reached_target),
            "nodes": nodes,
            "edges": edges,
            "edge_ratio": round_loss(edge_ratio),
            "node_ratio": round_loss(node_ratio),
            "full_model": round_loss(full_model_loss) if full_model_loss is not None else None,
            "achieved_loss": round_loss(achieved_loss) if achieved_loss is not None else None,
            "reason": reason,
        },
        (f"the control cannot reach the target, or needs >= {f:g} x the real circuit's {basis}"),
        bool(passed),
        _control_summary(reached_target, nodes, edges, edge_ratio, node_ratio, reason),
    )


def _control_summary(
    reached: bool,
    nodes: int | None,
    edges: int | None,
    edge_ratio: float | None,
    node_ratio: float | None,
    reason: str | None,
) -> str:
    if not reached:
        return f"cannot reach target: {reason or 'n/a'}"
    ratio = edge_ratio if edge_ratio is not None else node_ratio
    return f"{nodes} nodes, {edges} edges ({'n/a' if ratio is None else f'{ratio:.1f}x'} real)"


def overall_verdict(checks: dict[str, CheckRecord]) -> str:
    """`pass` only if at least one check ran and every check that ran passed."""
    if not checks:
        return "fail"
    return "pass" if all(c.passed for c in checks.values()) else "fail"
