"""Weight sparsity: which tensors are sparse, and the magnitude projection applied after each step.

Rule, per sparse tensor separately: keep k = ceil(fraction * numel) entries (ties at the
threshold aside, and never fewer than the row minimum below), zero the rest.
For 2-D tensors every row keeps at least `min_row_nonzeros` entries (capped at the row
length): each row's top-j entries by magnitude are always kept, and the remaining budget
k - rows * j goes to the largest remaining entries of the whole tensor. If rows * j >= k, exactly
the rows' top-j entries are kept. 2-D tensors are stored [out, in] (nn.Linear), so a row is one
output unit's incoming weights; for embeddings a row is one token's (or position's) vector.
Norm weights, attention-sink logits and the bigram table are never sparse.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from sparsecircuits import kernels
from sparsecircuits.train.config import TrainConfig

# Kinds of sparse tensors; each is switchable in TrainConfig except "matrix" (always sparse).
KINDS = ("matrix", "embedding", "unembedding", "bias")


def _clean_name(name: str) -> str:
    """Strip DDP / torch.compile wrapper prefixes from a parameter name."""
    for prefix in ("module.", "_orig_mod."):
        while name.startswith(prefix):
            name = name[len(prefix) :]
    return name.replace("._orig_mod.", ".")


def param_kind(name: str, param: torch.Tensor) -> str | None:
    """The sparsity kind of a parameter by its (public-layout) name, or None if never sparse."""
    name = _clean_name(name)
    parts = name.split(".")
    if any(p.startswith("ln") for p in parts) or "sink" in name or "bigram" in name:
        return None
    if len(parts) >= 2 and parts[-2] in ("wte", "wpe") and parts[-1] == "weight":
        return "embedding"
    if parts[0] == "lm_head" and parts[-1] == "weight":
        return "unembedding"
    if parts[-1].endswith("bias") and param.dim() == 1:
        return "bias"
    if param.dim() == 2:
        return "matrix"
    return None


def sparse_parameters(
    model: nn.Module, config: TrainConfig | None = None
) -> dict[str, nn.Parameter]:
    """The parameters that the projection sparsifies under `config` (defaults: everything allowed)."""
    config = config or TrainConfig()
    enabled = {
        "matrix": True,
        "embedding": config.sparse_embeddings,
        "unembedding": config.sparse_unembedding,
        "bias": config.sparse_biases,
    }
    out: dict[str, nn.Parameter] = {}
    for name, param in model.named_parameters():
        kind = param_kind(name, param)
        if kind is not None and enabled[kind]:
            out[_clean_name(name)] = param
    return out


def kept_count(numel: int, fraction: float) -> int:
    """Entries kept at `fraction` (before the row minimum): ceil(fraction * numel), at least 1."""
    return max(1, min(numel, math.ceil(fraction * numel - 1e-9)))


@torch.no_grad()
def project_tensor_(weight: torch.Tensor, fraction: float, min_row_nonzeros: int) -> None:
    """Zero all but the top entries of one tensor in place (rule in the module docstring)."""
    n = weight.numel()
    k = kept_count(n, fraction)
    if k >= n:
        return
    if kernels.usable(weight) and weight.dim() <= 2:  # same rule, ~5x faster on a CPU
        kernels.project_(weight, k, min_row_nonzeros)
        return
    # |w| as float32 bit patterns read as int32: non-negative floats (and +inf) order exactly
    # like these integers, which topk compares faster and which a histogram can bucket.
    keys = weight.detach().abs().float().view(torch.int32)
    if weight.dim() == 2 and min_row_nonzeros > 0:
        j = min(min_row_nonzeros, weight.shape[1])
        # Protected entries score +inf so that they always survive the global threshold.
        keys.scatter_(1, _row_top_indices(keys, j), _INF_KEY)
    # The k-th largest |w| exactly; entries at or above it are kept.
    threshold = kth_largest_key(keys.view(-1), k)
    weight.mul_(keys.ge(threshold).to(weight.dtype))


_INF_KEY = int(torch.tensor(math.inf).view(torch.int32))
_HI_SHIFT = 16  # the first select pass buckets by the top 16 bits (sign, exponent, 7 mantissa)
_RADIX_MIN_NUMEL = 1 << 16  # below this a plain kthvalue beats the histogram's fixed cost
_ARGMAX_MAX_J = 8  # up to this many per row, repeated argmax beats topk (measured 8x at j=4)


def _row_top_indices(keys: torch.Tensor, j: int) -> torch.Tensor:
    """Indices [rows, j] of j largest keys of each row (any j of them where values tie)."""
    if j > _ARGMAX_MAX_J:
        return keys.topk(j, dim=1, sorted=False).indices
    work = keys.clone()
    picked = []
    for _ in range(j):
        idx = work.argmax(dim=1, keepdim=True)
        work.scatter_(1, idx, -1)  # below every key (keys are >= 0): never picked again
        picked.append(idx)
    return torch.cat(picked, dim=1)


def kth_largest_key(keys: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th largest of a 1-D tensor of non-negative int32 keys (a radix select: histogram of the
    top bits, then an exact kthvalue inside the one bucket that holds the answer)."""
    if keys.numel() < _RADIX_MIN_NUMEL:
        return keys.kthvalue(keys.numel() - k + 1).values
    hi = keys >> _HI_SHIFT
    counts = torch.bincount(hi, minlength=1 << (31 - _HI_SHIFT))
    at_or_above = counts.flip(0).cumsum(0).flip(0)  # [b]: keys whose bucket is >= b
    bucket = int(at_or_above.ge(k).nonzero()[-1])
    rank = k - int(at_or_above[bucket] - counts[bucket])  # 1-based rank from the top, in bucket
    cand = keys[hi == bucket]
    return cand.kthvalue(cand.numel() - rank + 1).values


@torch.no_grad()
def project_to_sparsity(
    model: nn.Module, fraction: float, min_row_nonzeros: int = 4, config: TrainConfig | None = None
) -> None:
    """Project every sparse tensor of `model` (per `config`) to keep `fraction` of its entries."""
    if fraction >= 1.0:
        return
    for param in sparse_parameters(model, config).values():
        project_tensor_(param.data, fraction, min_row_nonzeros)


@torch.no_grad()
def densities(model: nn.Module, config: TrainConfig | None = None) -> dict[str, float]:
    """Fraction of nonzero entries of each sparse tensor, by parameter name."""
    return {
        name: round(float(p.count_nonzero()) / p.numel(), 6)
        for name, p in sparse_parameters(model, config).items()
    }
