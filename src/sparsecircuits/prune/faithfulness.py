"""Faithfulness curves: held-out task loss as more nodes are kept along the pruning order.

In the manner of the MIB circuit benchmark (Mueller et al., 2025): at each size k (a fraction
of all nodes, the top k by mask logit) the faithfulness is
    f(k) = (L(empty) - L(k)) / (L(empty) - L(full)),
1 when the kept nodes do what the whole model does and 0 when they do no better than keeping
nothing, under each ablation. The area under f over the fraction axis (MIB's CPR, higher is
better) and the area between f and 1 (CMD, lower is better) summarise a curve in one number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sparsecircuits.core.ablation import Ablator
from sparsecircuits.core.circuit import FaithfulnessCurve
from sparsecircuits.core.evaluate import evaluate
from sparsecircuits.core.nodes import Keep

if TYPE_CHECKING:
    from sparsecircuits.core.stats import ActivationStats
    from sparsecircuits.model import SparseGPT
    from sparsecircuits.tasks.loss import TaskBatch

# MIB's grid of kept fractions, plus the circuit's own size (inserted where it falls).
FRACTIONS: tuple[float, ...] = (0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
CURVE_ABLATIONS: tuple[str, ...] = ("mean", "zero", "resample")
# Below this spread between the empty and the full model, faithfulness is undefined.
_MIN_SPREAD = 1e-6


def _trapezoid(x: list[float], y: list[float | None]) -> float | None:
    if any(v is None for v in y):
        return None
    return float(sum((x[i + 1] - x[i]) * (y[i] + y[i + 1]) / 2 for i in range(len(x) - 1)))


def faithfulness_curve(
    model: SparseGPT,
    heldout: TaskBatch,
    keep_top: Callable[[int], Keep],
    n_nodes: int,
    circuit_nodes: int,
    full: float,
    stats: ActivationStats | None,
    seed: int,
    chunk: int,
) -> FaithfulnessCurve:
    """The curves under mean, zero and resample ablation (mean and resample need `stats`);
    `full` is the whole model's held-out loss, which is also the loss with every node kept."""
    sizes = sorted({round(f * n_nodes) for f in FRACTIONS} | {circuit_nodes})
    fractions = [k / n_nodes for k in sizes]
    ablations = [a for a in CURVE_ABLATIONS if a == "zero" or stats is not None]
    losses: dict[str, list[float]] = {}
    faith: dict[str, list[float | None]] = {}
    for a in ablations:
        row = []
        for k in sizes:
            if k == n_nodes:  # nothing ablated: the plain forward
                row.append(full)
                continue
            ablator = Ablator.of(a, stats, seed)
            row.append(evaluate(model, heldout, keep_top(k), ablator, chunk=chunk).loss)
        losses[a] = [round(v, 6) for v in row]
        spread = row[0] - full
        faith[a] = (
            [round((row[0] - v) / spread, 6) for v in row]
            if spread > _MIN_SPREAD
            else [None] * len(row)
        )
    return FaithfulnessCurve(
        fractions=[round(f, 8) for f in fractions],
        nodes=sizes,
        full_model_loss=round(full, 6),
        losses=losses,
        faithfulness=faith,
        area={a: _round(_trapezoid(fractions, f)) for a, f in faith.items()},
        deviation={
            a: _round(_trapezoid(fractions, [None if v is None else abs(1 - v) for v in f]))
            for a, f in faith.items()
        },
        circuit_nodes=circuit_nodes,
    )


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)
