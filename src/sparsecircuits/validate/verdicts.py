"""Pass/fail rules for every check: each takes measured numbers and returns the check's record."""

from __future__ import annotations

import math
from typing import Any

from sparsecircuits.validate.config import LN2, ValidationConfig


def _r(x: float | None) -> float | None:
    """Round a loss for storage (JSON has no inf/nan: those become None)."""
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), 6)


def judge_sufficiency(
    loss_mean: float, loss_resample: float, target: float, cfg: ValidationConfig
) -> dict[str, Any]:
    """Sufficiency: circuit alone meets the target under mean ablation, and 2x it under resampling."""
    limit_resample = cfg.resample_factor * target
    passed = loss_mean <= target and loss_resample <= limit_resample
    return {
        "loss_mean": _r(loss_mean),
        "loss_resample": _r(loss_resample),
        "threshold": (
            f"circuit-only loss <= target {target:.3g} with the rest mean-ablated, and "
            f"<= {cfg.resample_factor:g} x target = {limit_resample:.3g} with the rest resample-ablated"
        ),
        "passed": bool(passed),
    }


def judge_necessity(loss: float, full_loss: float, cfg: ValidationConfig) -> dict[str, Any]:
    """Necessity: ablating only the circuit pushes the loss near chance or well above the full model."""
    floor_chance = cfg.necessity_chance_fraction * LN2
    floor_full = full_loss + cfg.necessity_margin
    limit = max(floor_chance, floor_full)
    return {
        "loss": _r(loss),
        "full_model": _r(full_loss),
        "threshold": (
            f"loss with only the circuit mean-ablated >= max({cfg.necessity_chance_fraction:g} x ln2, "
            f"full-model loss + {cfg.necessity_margin:g}) = max({floor_chance:.3g}, {floor_full:.3g}) = {limit:.3g}"
        ),
        "passed": bool(loss >= limit),
    }


def judge_stochastic(losses: list[float], target: float, cfg: ValidationConfig) -> dict[str, Any]:
    """Stochastic ablation: mean and worst loss over random partial resamplings of the non-circuit nodes."""
    n = len(losses)
    mean = sum(losses) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in losses) / (n - 1)) if n > 1 else 0.0
    worst = max(losses)
    lim_mean = cfg.stochastic_mean_factor * target
    lim_worst = cfg.stochastic_worst_factor * target
    return {
        "n": n,
        "fraction": cfg.stochastic_fraction,
        "mean": _r(mean),
        "std": _r(std),
        "worst": _r(worst),
        "best": _r(min(losses)),
        "threshold": (
            f"circuit kept, a random {cfg.stochastic_fraction:g} of the other nodes resampled "
            f"(the others kept as they are), {n} draws: mean loss <= {cfg.stochastic_mean_factor:g} x target = "
            f"{lim_mean:.3g} and worst <= {cfg.stochastic_worst_factor:g} x target = {lim_worst:.3g}"
        ),
        "passed": bool(mean <= lim_mean and worst <= lim_worst),
    }


def judge_binarisation(
    loss: float, circuit_loss: float, target: float, cfg: ValidationConfig, n_nodes: int
) -> dict[str, Any]:
    """Binarisation: the circuit with two-level step-function nodes stays within a factor of the target."""
    limit = cfg.binarise_factor * target
    return {
        "loss": _r(loss),
        "circuit_loss": _r(circuit_loss),
        "loss_increase": _r(loss - circuit_loss),
        "nodes": n_nodes,
        "threshold": (
            f"loss with every circuit node a two-level step function (rest mean-ablated) <= "
            f"{cfg.binarise_factor:g} x target = {limit:.3g}"
        ),
        "passed": bool(loss <= limit),
    }


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
) -> dict[str, Any]:
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
    return {
        "kind": kind,
        "reached_target": bool(reached_target),
        "nodes": nodes,
        "edges": edges,
        "edge_ratio": _r(edge_ratio),
        "node_ratio": _r(node_ratio),
        "full_model": _r(full_model_loss) if full_model_loss is not None else None,
        "achieved_loss": _r(achieved_loss) if achieved_loss is not None else None,
        "reason": reason,
        "threshold": (
            f"the control cannot reach the target, or needs >= {f:g} x the real circuit's {basis}"
        ),
        "passed": bool(passed),
    }


def overall_verdict(checks: dict[str, dict[str, Any]]) -> str:
    """`pass` only if at least one check ran and every check that ran passed."""
    if not checks:
        return "fail"
    return "pass" if all(c.get("passed") for c in checks.values()) else "fail"


def measured_text(name: str, rec: dict[str, Any]) -> str:
    """One-line summary of what a check measured, for the printed table."""

    def f(x: Any) -> str:
        return "n/a" if x is None else f"{x:.4f}"

    if name == "sufficiency":
        return f"mean-abl {f(rec['loss_mean'])}, resample {f(rec['loss_resample'])}"
    if name == "necessity":
        return f"loss {f(rec['loss'])} (full model {f(rec['full_model'])})"
    if name == "stochastic":
        return f"mean {f(rec['mean'])} +- {f(rec['std'])}, worst {f(rec['worst'])} (n={rec['n']})"
    if name == "binarisation":
        return f"loss {f(rec['loss'])} (circuit {f(rec['circuit_loss'])})"
    if name.startswith("control_"):
        if not rec["reached_target"]:
            return f"cannot reach target: {rec.get('reason') or 'n/a'}"
        ratio = rec["edge_ratio"] if rec["edge_ratio"] is not None else rec["node_ratio"]
        r = "n/a" if ratio is None else f"{ratio:.1f}x"
        return f"{rec['nodes']} nodes, {rec['edges']} edges ({r} real)"
    return ""
