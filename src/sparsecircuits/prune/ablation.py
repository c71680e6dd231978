"""Forward passes with nodes removed: mean, zero or resample ablation through `model.intervene`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from sparsecircuits.errors import UserError
from sparsecircuits.prune.nodes import Keep


class Ablator:
    """What a removed node is replaced by: its mean, zero, or a random corpus position's value.

    For `resample`, each (prompt, position) draws one bank row, shared by every site, so all
    nodes of a site (indeed the whole model) take values from the same corpus position.
    """

    def __init__(
        self,
        ablation: str,
        means: dict[str, torch.Tensor] | None = None,
        bank: dict[str, torch.Tensor] | None = None,
        seed: int = 0,
    ) -> None:
        if ablation == "mean" and not means:
            raise UserError(
                "mean ablation needs mean activations; compute them with load_or_compute_means"
            )
        if ablation == "resample" and not bank:
            raise UserError(
                "resample ablation needs an activation bank; compute it with load_or_compute_stats"
            )
        if ablation not in ("mean", "zero", "resample"):
            raise UserError(f"unknown ablation {ablation!r}; use mean, zero or resample")
        self.ablation = ablation
        self.means = means or {}
        self.bank = bank or {}
        self.generator = torch.Generator().manual_seed(seed)
        self._idx: torch.Tensor | None = None

    def draw(self, batch_size: int, seq_len: int) -> None:
        """Draw the bank rows used by the next forward pass (resample only)."""
        if self.ablation == "resample":
            n = next(iter(self.bank.values())).shape[0]
            self._idx = torch.randint(0, n, (batch_size, seq_len), generator=self.generator)

    def value(self, site: str, x: torch.Tensor) -> torch.Tensor:
        """Replacement values for `site`, broadcastable to `x` [B, T, W]."""
        if self.ablation == "zero":
            return torch.zeros((), dtype=x.dtype, device=x.device)
        if self.ablation == "mean":
            return self.means[site].to(x.dtype).to(x.device)
        assert self._idx is not None, "call draw() before a resample-ablated forward"
        idx = self._idx[: x.shape[0], : x.shape[1]]
        return self.bank[site].to(x.dtype).to(x.device)[idx]


def keep_interventions(
    keep: Keep, ablator: Ablator
) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """Interventions that keep the nodes in `keep` and ablate the rest (exact: no arithmetic on kept values)."""
    out: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {}
    for site, mask in keep.items():
        mask = mask.bool()
        if bool(mask.all()):
            continue

        def fn(x: torch.Tensor, site: str = site, mask: torch.Tensor = mask) -> torch.Tensor:
            return torch.where(mask.to(x.device), x, ablator.value(site, x))

        out[site] = fn
    return out


def soft_interventions(
    masks: dict[str, torch.Tensor], ablator: Ablator
) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """Differentiable interventions x <- m * x + (1 - m) * a for float masks m (exact for m in {0, 1})."""
    out: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {}
    for site, m in masks.items():

        def fn(x: torch.Tensor, site: str = site, m: torch.Tensor = m) -> torch.Tensor:
            return m * x + (1 - m) * ablator.value(site, x)

        out[site] = fn
    return out


def ablated_forward(
    model: torch.nn.Module,
    batch: Any,
    keep: Keep,
    ablation: str = "mean",
    means: dict[str, torch.Tensor] | None = None,
    *,
    bank: dict[str, torch.Tensor] | None = None,
    seed: int = 0,
    ablator: Ablator | None = None,
) -> torch.Tensor:
    """Last-position logits [N, V] of a TaskBatch with every node outside `keep` ablated.

    Sites missing from `keep` are fully kept, so `keep={}` is the plain forward.
    """
    ablator = ablator or Ablator(ablation, means, bank, seed)
    ablator.draw(*batch.tokens.shape)
    with model.intervene(keep_interventions(keep, ablator)):
        return model(batch.tokens, last_pos=batch.last_pos)


def _rows(batch: Any, lo: int, hi: int) -> Any:
    """Rows lo:hi of a TaskBatch, as a light object with the same fields."""
    from types import SimpleNamespace

    tokens = batch.tokens[lo:hi]
    last = batch.last_pos[lo:hi]
    width = int(last.max()) + 1
    return SimpleNamespace(
        tokens=tokens[:, :width],
        last_pos=last,
        target=batch.target[lo:hi],
        other=batch.other[lo:hi],
    )


@torch.no_grad()
def batch_logits(
    model: torch.nn.Module,
    batch: Any,
    keep: Keep,
    ablator: Ablator,
    batch_size: int = 128,
) -> torch.Tensor:
    """Last-position logits [N, V] of a whole TaskBatch in chunks, with nodes outside `keep` ablated."""
    n = batch.tokens.shape[0]
    # chunks hold whole pairs so positive and negative prompts stay together
    step = max(2, batch_size - batch_size % 2)
    parts = [
        ablated_forward(model, _rows(batch, lo, min(n, lo + step)), keep, ablator=ablator)
        for lo in range(0, n, step)
    ]
    return torch.cat(parts)


@torch.no_grad()
def evaluate_nodes(
    model: torch.nn.Module,
    batch: Any,
    keep: Keep,
    ablation: str = "mean",
    means: dict[str, torch.Tensor] | None = None,
    *,
    bank: dict[str, torch.Tensor] | None = None,
    seed: int = 0,
    batch_size: int = 128,
) -> tuple[float, float]:
    """(task loss, accuracy) of a TaskBatch with only the nodes in `keep` left intact."""
    from sparsecircuits.tasks import task_accuracy, task_loss

    ablator = Ablator(ablation, means, bank, seed)
    logits = batch_logits(model, batch, keep, ablator, batch_size)
    return float(task_loss(logits, batch.target, batch.other)), float(
        task_accuracy(logits, batch.target, batch.other)
    )
