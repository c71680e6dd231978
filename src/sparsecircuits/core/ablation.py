"""What a removed node becomes (mean, zero or a resampled corpus value) and the interventions that remove nodes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from sparsecircuits.core import ABLATIONS
from sparsecircuits.core.nodes import Keep
from sparsecircuits.errors import UserError

if TYPE_CHECKING:
    from sparsecircuits.core.stats import ActivationStats

Fn = Callable[[torch.Tensor], torch.Tensor]


# Share of the removed nodes a "stochastic" ablator resamples in each pass (the rest take their means).
STOCHASTIC_FRACTION = 0.5


class Ablator:
    """What a removed node is replaced by: its mean, zero, a random corpus position's value, or a mix.

    For `resample`, each (prompt, position) draws one bank row, shared by every site, so all
    nodes of a site (indeed the whole model) take values from the same corpus position. For
    `stochastic`, each draw also picks, per site, which removed nodes take the resampled value
    (STOCHASTIC_FRACTION of them) and which their mean. A `mixture` ablator is scored as the
    mean over its `passes()` (one mean-ablated, one resample-ablated forward); every scorer
    (the evaluator, mask training) loops over `passes()`, which is `[self]` for the others.
    """

    def __init__(
        self,
        ablation: str,
        means: dict[str, torch.Tensor] | None = None,
        bank: dict[str, torch.Tensor] | None = None,
        seed: int = 0,
    ) -> None:
        if ablation not in ABLATIONS:
            raise UserError(f"unknown ablation {ablation!r}; use one of {', '.join(ABLATIONS)}")
        if ablation in ("mean", "stochastic", "mixture") and not means:
            raise UserError(
                f"{ablation} ablation needs mean activations; compute them with load_or_compute_stats"
            )
        if ablation in ("resample", "stochastic", "mixture") and not bank:
            raise UserError(
                f"{ablation} ablation needs an activation bank; compute them with load_or_compute_stats"
            )
        self.ablation = ablation
        self.means = means or {}
        self.bank = bank or {}
        self.generator = torch.Generator().manual_seed(seed)
        self._idx: torch.Tensor | None = None
        self._pick: dict[str, torch.Tensor] = {}  # stochastic: per site, resample this node?
        self._passes = (
            [Ablator("mean", means, None, seed), Ablator("resample", None, bank, seed)]
            if ablation == "mixture"
            else [self]
        )

    @classmethod
    def of(cls, ablation: str, stats: ActivationStats | None, seed: int = 0) -> Ablator:
        """An ablator drawing its means and bank from `stats` (None is fine for zero ablation)."""
        return cls(ablation, stats.means if stats else None, stats.bank if stats else None, seed)

    def passes(self) -> list[Ablator]:
        """The ablators of the forward passes whose mean loss is this objective's loss."""
        return self._passes

    def draw(self, batch_size: int, seq_len: int) -> None:
        """Draw the bank rows (and stochastic picks) used by the next forward pass."""
        if self.ablation in ("resample", "stochastic"):
            n = next(iter(self.bank.values())).shape[0]
            self._idx = torch.randint(0, n, (batch_size, seq_len), generator=self.generator)
            self._pick = {}

    def value(self, site: str, x: torch.Tensor) -> torch.Tensor:
        """Replacement values for `site`, broadcastable to `x` [B, T, W]."""
        if self.ablation == "mixture":
            raise ValueError("a mixture ablator has no single value; score each of its passes()")
        if self.ablation == "zero":
            return torch.zeros((), dtype=x.dtype, device=x.device)
        if self.ablation == "mean":
            return self.means[site].to(x.dtype).to(x.device)
        assert self._idx is not None, "call draw() before a resample-ablated forward"
        idx = self._idx[: x.shape[0], : x.shape[1]]
        sampled = self.bank[site].to(x.dtype).to(x.device)[idx]
        if self.ablation == "resample":
            return sampled
        if site not in self._pick:  # sites are visited in forward order: deterministic draws
            width = x.shape[-1]
            self._pick[site] = torch.rand(width, generator=self.generator) < STOCHASTIC_FRACTION
        mean = self.means[site].to(x.dtype).to(x.device)
        return torch.where(self._pick[site].to(x.device), sampled, mean)


def keep_interventions(keep: Keep, ablator: Ablator) -> dict[str, Fn]:
    """Interventions that keep the nodes in `keep` and ablate the rest (exact: no arithmetic on kept values)."""
    out: dict[str, Fn] = {}
    for site, mask in keep.items():
        mask = mask.bool()
        if bool(mask.all()):
            continue

        def fn(x: torch.Tensor, site: str = site, mask: torch.Tensor = mask) -> torch.Tensor:
            return torch.where(mask.to(x.device), x, ablator.value(site, x))

        out[site] = fn
    return out


def soft_interventions(masks: dict[str, torch.Tensor], ablator: Ablator) -> dict[str, Fn]:
    """Differentiable interventions x <- m * x + (1 - m) * a for float masks m (exact for m in {0, 1})."""
    out: dict[str, Fn] = {}
    for site, m in masks.items():

        def fn(x: torch.Tensor, site: str = site, m: torch.Tensor = m) -> torch.Tensor:
            return m * x + (1 - m) * ablator.value(site, x)

        out[site] = fn
    return out
