"""Per-node ablation statistics of a model: mean activations and a small bank for resampling.

Estimated once per model from a fixed sample of held-out corpus tokens (pooled over
positions) and cached as `RUN/means.safetensors`; the cache records the sample size, seed,
window length and weights hash and is recomputed when any of them differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from sparsecircuits.errors import UserError
from sparsecircuits.fileio import atomic_path

CACHE_NAME = "means.safetensors"
CACHE_FORMAT = "1"


@dataclass
class ActivationStats:
    """Mean activation per site (`means[site]`: [W]) and a bank of per-position vectors (`bank[site]`: [N, W])."""

    means: dict[str, torch.Tensor]
    bank: dict[str, torch.Tensor]
    meta: dict[str, str]


def _windows(
    read: Callable[[int, int], Any], n_available: int, n_tokens: int, seq_len: int, seed: int
) -> np.ndarray:
    """A fixed random sample of token windows [n_seq, seq_len] int64 (the whole split if it is small)."""
    seq_len = min(seq_len, n_available)
    if seq_len < 2:
        raise UserError(
            "the corpus split is too small to estimate mean activations; rebuild the corpus with more text"
        )
    if n_tokens >= n_available:
        # the split is no larger than the sample: tile all of it once (no sampling noise)
        starts = np.arange(0, n_available - seq_len + 1, seq_len)
    else:
        n_seq = max(1, math.ceil(n_tokens / seq_len))
        rng = np.random.default_rng(seed)
        starts = np.sort(rng.integers(0, n_available - seq_len + 1, size=n_seq))
    return np.stack([np.asarray(read(int(s), int(s) + seq_len), dtype=np.int64) for s in starts])


@torch.no_grad()
def compute_stats(
    model: torch.nn.Module,
    windows: np.ndarray,
    bank_size: int = 256,
    seed: int = 0,
    batch_tokens: int = 4096,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Mean of every node over all positions of `windows`, plus `bank_size` sampled position vectors."""
    sites = list(model.site_names())
    n_seq, seq_len = windows.shape
    total = n_seq * seq_len
    rng = np.random.default_rng(seed + 1)
    bank_pos = np.sort(rng.choice(total, size=min(bank_size, total), replace=False))
    sums = {s: torch.zeros(int(model.site_width(s)), dtype=torch.float64) for s in sites}
    bank = {s: torch.zeros(len(bank_pos), int(model.site_width(s))) for s in sites}
    per_batch = max(1, batch_tokens // seq_len)
    for b0 in tqdm(range(0, n_seq, per_batch), desc="mean activations", unit="batch", leave=False):
        idx = torch.from_numpy(windows[b0 : b0 + per_batch])
        _, cache = model.run_with_cache(idx, sites=sites)
        flat0, flat1 = b0 * seq_len, (b0 + idx.shape[0]) * seq_len
        lo, hi = np.searchsorted(bank_pos, [flat0, flat1])
        for s in sites:
            x = cache[s].reshape(-1, cache[s].shape[-1])
            sums[s] += x.sum(0, dtype=torch.float64)
            if hi > lo:
                bank[s][lo:hi] = x[torch.from_numpy(bank_pos[lo:hi] - flat0)].float()
    means = {s: (sums[s] / total).float() for s in sites}
    return means, bank


def _expected_meta(
    run: Any, n_tokens: int, seq_len: int, seed: int, bank_size: int, split: str
) -> dict[str, str]:
    return {
        "split": split,
        "format": CACHE_FORMAT,
        "n_tokens": str(n_tokens),
        "seq_len": str(seq_len),
        "seed": str(seed),
        "bank_size": str(bank_size),
        "weights_sha256": str(run.weights_sha256),
    }


def load_or_compute_stats(
    run: Any,
    n_tokens: int = 131072,
    seed: int = 0,
    seq_len: int = 256,
    bank_size: int = 256,
    corpus_dir: str | Path | None = None,
    split: str = "val",
) -> ActivationStats:
    """Ablation statistics of `run`'s model, read from `RUN/means.safetensors` or computed and cached."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    path = Path(run.path) / CACHE_NAME
    block = getattr(getattr(run.model, "config", None), "block_size", seq_len)
    seq_len = int(min(seq_len, block))
    want = _expected_meta(run, n_tokens, seq_len, seed, bank_size, split)
    if path.exists():
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                if all(meta.get(k) == v for k, v in want.items()):
                    tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
                    means = {k[5:]: v for k, v in tensors.items() if k.startswith("mean.")}
                    bank = {k[5:]: v for k, v in tensors.items() if k.startswith("bank.")}
                    if set(means) == set(run.model.site_names()):
                        return ActivationStats(means, bank, meta)
        except Exception:  # a damaged cache is simply recomputed
            pass
    cdir = corpus_dir if corpus_dir is not None else getattr(run, "corpus_dir", None)
    if cdir is None or not Path(cdir).exists():
        raise UserError(
            f"run {run.path} does not name an existing corpus, so mean activations cannot be computed; pass --corpus DIR"
        )
    from sparsecircuits.corpus import TokenData

    data = TokenData(cdir, split)
    n_avail = int(data.n_tokens)
    if n_avail < 2:
        raise UserError(
            f"the {split!r} split of corpus {cdir} is empty; rebuild the corpus with more text or pass --set mean_split=train"
        )
    windows = _windows(data.tokens, n_avail, n_tokens, seq_len, seed)
    model = run.model
    was_training = model.training
    model.eval()
    means, bank = compute_stats(model, windows, bank_size=bank_size, seed=seed)
    model.train(was_training)
    tensors = {f"mean.{s}": v.contiguous() for s, v in means.items()}
    tensors.update({f"bank.{s}": v.contiguous() for s, v in bank.items()})
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=want)
    return ActivationStats(means, bank, want)


def load_or_compute_means(
    run: Any, n_tokens: int = 131072, seed: int = 0, **kwargs: Any
) -> dict[str, torch.Tensor]:
    """Mean activation of every node of `run`'s model (site -> [W]), cached as `RUN/means.safetensors`."""
    return load_or_compute_stats(run, n_tokens=n_tokens, seed=seed, **kwargs).means
