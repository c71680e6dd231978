"""Optional logit calibration: a scale and an A-vs-B shift on the final logits, fitted with LBFGS."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pair_signs(n_rows: int) -> torch.Tensor:
    """+1 for positive-prompt rows, -1 for negative ones (TaskBatch interleaves them per pair)."""
    return torch.tensor([1.0, -1.0]).repeat(n_rows // 2)


def _margins(logits: torch.Tensor, target: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    return logits.gather(1, target[:, None])[:, 0] - logits.gather(1, other[:, None])[:, 0]


def calibrated_loss(
    logits: torch.Tensor, target: torch.Tensor, other: torch.Tensor, scale: float, shift: float
) -> float:
    """Task loss after logit(A) - logit(B) -> scale * (logit(A) - logit(B)) + shift."""
    m = _margins(logits.float(), target, other)
    signs = pair_signs(len(m))
    return float(F.softplus(-(scale * m + signs * shift)).mean())


def fit_calibration(
    logits: torch.Tensor, target: torch.Tensor, other: torch.Tensor, steps: int = 16
) -> tuple[float, float]:
    """Fit (scale, shift) minimising the task loss of `logits` with `steps` LBFGS iterations."""
    m = _margins(logits.detach().float(), target, other)
    signs = pair_signs(len(m))
    params = torch.tensor([1.0, 0.0], requires_grad=True)
    opt = torch.optim.LBFGS([params], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.softplus(-(params[0] * m + signs * params[1])).mean()
        loss.backward()
        return loss

    opt.step(closure)
    scale, shift = params.detach().tolist()
    return float(scale), float(shift)
