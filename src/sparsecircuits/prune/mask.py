"""Binary node masks with a straight-through sigmoid surrogate gradient (METHOD section 5)."""

from __future__ import annotations

import torch


class _HeavisideSigmoidSTE(torch.autograd.Function):
    """Forward: Heaviside(tau) (tau >= 0 -> 1). Backward: derivative of sigmoid(tau / T)."""

    @staticmethod
    def forward(ctx, tau: torch.Tensor, temperature: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(tau)
        ctx.temperature = temperature
        return (tau >= 0).to(tau.dtype)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (tau,) = ctx.saved_tensors
        t = ctx.temperature
        s = torch.sigmoid(tau / t)
        return grad_out * s * (1 - s) / t, None


def heaviside_mask(tau: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Hard 0/1 mask of `tau` whose gradient is the sigmoid-derivative surrogate at temperature T."""
    return _HeavisideSigmoidSTE.apply(tau, temperature)


def init_tau(n: int, mean: float, std: float, generator: torch.Generator) -> torch.Tensor:
    """Mask logits initialised N(mean, std), one per node."""
    return mean + std * torch.randn(n, generator=generator)
