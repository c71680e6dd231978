"""Binarisation: replace each circuit node by a two-level step function and measure the loss cost.

Per node (METHOD section 7): candidate thresholds at fixed fractions of the way from the
node's minimum to its maximum activation on task data; the two levels are the mean activation
below and above the threshold. Nodes are binarised greedily in forward order, each keeping the
candidate whose substitution (on top of the nodes already binarised) raises the loss least.
The rest of the model is mean-ablated throughout, as in the sufficiency check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from tqdm import tqdm

from sparsecircuits.core.ablation import Ablator, Fn, keep_interventions
from sparsecircuits.core.evaluate import evaluate

if TYPE_CHECKING:
    from sparsecircuits.model import SparseGPT
    from sparsecircuits.tasks.loss import TaskBatch


@dataclass
class StepParams:
    """Per-site step functions: channels with `active` become `high` if x >= `threshold` else `low`."""

    active: torch.Tensor  # bool [W]
    threshold: torch.Tensor  # [W]
    low: torch.Tensor  # [W]
    high: torch.Tensor  # [W]

    @classmethod
    def empty(cls, width: int) -> StepParams:
        """No channel binarised."""
        z = torch.zeros(width)
        return cls(torch.zeros(width, dtype=torch.bool), z.clone(), z.clone(), z.clone())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the step functions to site values [B, T, W]."""
        thr, lo, hi = (t.to(x) for t in (self.threshold, self.low, self.high))
        return torch.where(self.active.to(x.device), torch.where(x >= thr, hi, lo), x)


def step_candidates(
    values: torch.Tensor, fractions: tuple[float, ...]
) -> list[tuple[float, float, float, float]]:
    """Candidate (fraction, threshold, low level, high level) of one node from its activations."""
    v = values.float()
    vmin, vmax = float(v.min()), float(v.max())
    if vmax <= vmin:  # a constant node: its step function is that constant
        return [(0.5, vmin, vmin, vmin)]
    out = []
    for f in fractions:
        thr = vmin + f * (vmax - vmin)
        below = v < thr  # both sides are non-empty because vmin < thr <= vmax
        out.append((f, thr, float(v[below].mean()), float(v[~below].mean())))
    return out


@torch.no_grad()
def _record(
    model: SparseGPT, batch: TaskBatch, fns: dict[str, Fn], sites: list[str], batch_size: int
) -> dict[str, torch.Tensor]:
    """Values of `sites` after the interventions, at real (non-padding) positions: site -> [n_tokens, W]."""
    out: dict[str, list[torch.Tensor]] = {s: [] for s in sites}
    for part in batch.chunks(batch_size):
        with model.intervene(fns):
            _, cache = model.run_with_cache(part.tokens, sites=sites, last_pos=part.last_pos)
        real = torch.arange(part.tokens.shape[1])[None, :] <= part.last_pos[:, None]
        for s in sites:
            out[s].append(cache[s].detach().float().cpu()[real])
    return {s: torch.cat(v) for s, v in out.items()}


def binarise_circuit(
    model: SparseGPT,
    circuit: Mapping[str, torch.Tensor],
    fit: TaskBatch,
    heldout: TaskBatch,
    *,
    means: dict[str, torch.Tensor],
    fractions: tuple[float, ...] = (0.25, 0.5, 0.75),
    batch_size: int = 128,
) -> tuple[float, float, dict[str, list[float]]]:
    """Greedily binarise every circuit node of a circuit (rest mean-ablated).

    `fit` and `heldout` are TaskBatches. Thresholds, levels and choices are fitted on `fit`;
    returns the held-out loss of the circuit before and after binarisation, and per node id
    [fraction, threshold, low level, high level].
    """
    ablator = Ablator("mean", means)
    keep = {s: m.bool() for s, m in circuit.items()}
    base = keep_interventions(keep, ablator)
    sites = [s for s, m in keep.items() if bool(m.any())]
    acts = _record(model, fit, base, sites, batch_size)
    # Step functions touch only circuit channels, which the ablation leaves alone.
    steps = {s: StepParams.empty(int(keep[s].numel())) for s in sites}

    def loss(batch: TaskBatch, stepped: bool) -> float:
        transforms = steps if stepped else None
        return evaluate(model, batch, keep, ablator, chunk=batch_size, transforms=transforms).loss

    chosen: dict[str, list[float]] = {}
    todo = [(s, int(i)) for s in sites for i in torch.nonzero(keep[s]).flatten().tolist()]
    for site, i in tqdm(todo, desc="binarisation", unit="node", leave=False):
        p = steps[site]
        p.active[i] = True
        best: tuple[float, tuple[float, float, float, float]] | None = None
        for cand in step_candidates(acts[site][:, i], fractions):
            p.threshold[i], p.low[i], p.high[i] = cand[1], cand[2], cand[3]
            value = loss(fit, stepped=True)
            if best is None or value < best[0]:
                best = (value, cand)
        assert best is not None
        f, thr, lo, hi = best[1]
        p.threshold[i], p.low[i], p.high[i] = thr, lo, hi
        chosen[f"{site}:{i}"] = [f, round(thr, 6), round(lo, 6), round(hi, 6)]
    return loss(heldout, stepped=False), loss(heldout, stepped=True), chosen
