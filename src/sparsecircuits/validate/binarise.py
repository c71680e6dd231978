"""Binarisation: replace each circuit node by a two-level step function and measure the loss cost.

Per node (METHOD section 7): candidate thresholds at fixed fractions of the way from the
node's minimum to its maximum activation on task data; the two levels are the mean activation
below and above the threshold. Nodes are binarised greedily in forward order, each keeping the
candidate whose substitution (on top of the nodes already binarised) raises the loss least.
The rest of the model is mean-ablated throughout, as in the sufficiency check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from tqdm import tqdm

from sparsecircuits.prune.ablation import Ablator, keep_interventions

Fn = Callable[[torch.Tensor], torch.Tensor]


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


def _chunks(
    batch: Any, batch_size: int
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(tokens, last_pos, target, other) per chunk of prompts, padding trimmed."""
    out = []
    n = batch.tokens.shape[0]
    for lo in range(0, n, batch_size):
        last = batch.last_pos[lo : lo + batch_size]
        width = int(last.max()) + 1
        out.append(
            (
                batch.tokens[lo : lo + batch_size, :width],
                last,
                batch.target[lo : lo + batch_size],
                batch.other[lo : lo + batch_size],
            )
        )
    return out


@torch.no_grad()
def _loss(model: torch.nn.Module, batch: Any, fns: dict[str, Fn], batch_size: int) -> float:
    """Mean task loss of a TaskBatch under the interventions `fns`."""
    from sparsecircuits.tasks import task_loss

    total, n = 0.0, 0
    for tokens, last, target, other in _chunks(batch, batch_size):
        with model.intervene(fns):
            logits = model(tokens, last_pos=last)
        total += float(task_loss(logits, target, other)) * tokens.shape[0]
        n += tokens.shape[0]
    return total / n


@torch.no_grad()
def _record(
    model: torch.nn.Module, batch: Any, fns: dict[str, Fn], sites: list[str], batch_size: int
) -> dict[str, torch.Tensor]:
    """Values of `sites` after the interventions, at real (non-padding) positions: site -> [n_tokens, W]."""
    out: dict[str, list[torch.Tensor]] = {s: [] for s in sites}
    seen: dict[str, torch.Tensor] = {}
    for tokens, last, _, _ in _chunks(batch, batch_size):
        seen.clear()

        def recorder(site: str) -> Fn:
            inner = fns.get(site)

            def fn(x: torch.Tensor) -> torch.Tensor:
                y = inner(x) if inner is not None else x
                seen[site] = y.detach()
                return y

            return fn

        with model.intervene({**fns, **{s: recorder(s) for s in sites}}):
            model(tokens, last_pos=last)
        real = torch.arange(tokens.shape[1])[None, :] <= last[:, None]
        for s in sites:
            out[s].append(seen[s].float().cpu()[real])
    return {s: torch.cat(v) for s, v in out.items()}


def binarise_circuit(
    model: torch.nn.Module,
    circuit: Mapping[str, torch.Tensor],
    fit: Any,
    heldout: Any,
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
    steps = {s: StepParams.empty(int(keep[s].numel())) for s in sites}

    def stepped() -> dict[str, Fn]:
        fns = dict(base)
        for s, p in steps.items():
            outer = base.get(s)
            # Step functions touch only circuit channels, which the keep-intervention leaves alone.
            fns[s] = (lambda x, p=p, o=outer: o(p(x))) if outer is not None else p
        return fns

    chosen: dict[str, list[float]] = {}
    todo = [(s, int(i)) for s in sites for i in torch.nonzero(keep[s]).flatten().tolist()]
    for site, i in tqdm(todo, desc="binarisation", unit="node", leave=False):
        p = steps[site]
        p.active[i] = True
        best: tuple[float, tuple[float, float, float, float]] | None = None
        for cand in step_candidates(acts[site][:, i], fractions):
            p.threshold[i], p.low[i], p.high[i] = cand[1], cand[2], cand[3]
            loss = _loss(model, fit, stepped(), batch_size)
            if best is None or loss < best[0]:
                best = (loss, cand)
        assert best is not None
        f, thr, lo, hi = best[1]
        p.threshold[i], p.low[i], p.high[i] = thr, lo, hi
        chosen[f"{site}:{i}"] = [f, round(thr, 6), round(lo, 6), round(hi, 6)]
    circuit_loss = _loss(model, heldout, base, batch_size)
    binarised_loss = _loss(model, heldout, stepped(), batch_size)
    return circuit_loss, binarised_loss, chosen
