"""Per-node ablation statistics of a model: mean activations and a small bank for resampling.

Estimated once per model from a fixed sample of held-out corpus tokens (pooled over
positions) and cached in the user cache, keyed by the weights, the corpus and the settings:
never inside the run folder, which one stage must not write into another's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm import tqdm

from sparsecircuits.corpus.manifest import MANIFEST_FILE, load_manifest
from sparsecircuits.errors import UserError
from sparsecircuits.fileio import atomic_path, user_cache_dir

if TYPE_CHECKING:
    from sparsecircuits.model import SparseGPT
    from sparsecircuits.train.checkpoint import Run

CACHE_FORMAT = "2"


@dataclass
class ActivationStats:
    """Mean activation per site (`means[site]`: [W]) and a bank of per-position vectors (`bank[site]`: [N, W])."""

    means: dict[str, torch.Tensor]
    bank: dict[str, torch.Tensor]
    meta: dict[str, str]


def _windows(
    read: Callable[[int, int], np.ndarray], n_available: int, n_tokens: int, seq_len: int, seed: int
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
    model: SparseGPT,
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


@dataclass(frozen=True)
class StatsSettings:
    """Which corpus sample the statistics come from (METHOD: held-out text, pooled over positions)."""

    n_tokens: int = 131072
    seq_len: int = 256
    seed: int = 0
    bank_size: int = 256  # per-position activation vectors kept for resample ablation
    split: str = "val"


def corpus_sha256(corpus_dir: Path) -> str:
    return hashlib.sha256((corpus_dir / MANIFEST_FILE).read_bytes()).hexdigest()


def check_same_tokenizer(run: Run, corpus_dir: Path) -> None:
    """Refuse a corpus encoded with another tokenizer than the run's: its token ids mean other text."""
    if load_manifest(corpus_dir).get("tokenizer_sha256") != run.tokenizer.content_hash():
        raise UserError(
            f"corpus {corpus_dir} was tokenized with another tokenizer than run {run.path}; "
            f"build one with its tokenizer: `sparsecircuits corpus build --source stdlib "
            f"--tokenizer {run.path}/tokenizer.json --out DIR` and pass --corpus DIR."
        )


def cache_file(weights_sha256: str, corpus_sha256: str, settings: StatsSettings) -> Path:
    """Where the statistics of these weights, this corpus and these settings are cached (user cache)."""
    blob = json.dumps(
        {
            "format": CACHE_FORMAT,
            "weights": weights_sha256,
            "corpus": corpus_sha256,
            **dataclasses.asdict(settings),
        },
        sort_keys=True,
    )
    key = hashlib.sha256(blob.encode()).hexdigest()[:24]
    return user_cache_dir() / "stats" / f"stats-{key}.safetensors"


def _read_cache(path: Path, sites: list[str]) -> ActivationStats | None:
    from safetensors import safe_open

    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    except Exception:  # a damaged cache is only a cache: recompute it
        return None
    means = {k[5:]: v for k, v in tensors.items() if k.startswith("mean.")}
    bank = {k[5:]: v for k, v in tensors.items() if k.startswith("bank.")}
    return ActivationStats(means, bank, meta) if set(means) == set(sites) else None


def load_or_compute_stats(
    run: Run,
    settings: StatsSettings = StatsSettings(),
    corpus_dir: str | Path | None = None,
    use_cache: bool = True,
) -> ActivationStats:
    """Ablation statistics of `run`'s model on its corpus (or `corpus_dir`), from the user cache or computed.

    The cache (`$XDG_CACHE_HOME/sparsecircuits/stats/`) is keyed by the weights' hash, the corpus
    manifest's hash and the settings, so the run folder is only read (it may be read-only), and
    pruning, validation and the report share one computation.
    """
    from safetensors.torch import save_file

    cdir = Path(corpus_dir) if corpus_dir is not None else run.corpus_dir
    if cdir is None or not (Path(cdir) / MANIFEST_FILE).is_file():
        raise UserError(
            f"run {run.path} does not name an existing corpus, so mean activations cannot be computed; "
            "pass --corpus DIR (for an imported model, first `sparsecircuits corpus build --tokenizer RUN ...`)"
        )
    cdir = Path(cdir)
    check_same_tokenizer(run, cdir)
    settings = dataclasses.replace(
        settings, seq_len=int(min(settings.seq_len, run.model.config.block_size))
    )
    sites = run.model.site_names()
    path = cache_file(run.weights_sha256, corpus_sha256(cdir), settings)
    cached = _read_cache(path, sites) if use_cache else None
    if cached is not None:
        return cached
    from sparsecircuits.corpus import TokenData

    data = TokenData(cdir, settings.split)
    n_avail = int(data.n_tokens)
    if n_avail < 2:
        raise UserError(
            f"the {settings.split!r} split of corpus {cdir} is empty; rebuild the corpus with more text or pass --set mean_split=train"
        )
    windows = _windows(data.tokens, n_avail, settings.n_tokens, settings.seq_len, settings.seed)
    model = run.model
    was_training = model.training
    model.eval()
    means, bank = compute_stats(model, windows, bank_size=settings.bank_size, seed=settings.seed)
    model.train(was_training)
    meta = {k: str(v) for k, v in dataclasses.asdict(settings).items()}
    meta.update({"format": CACHE_FORMAT, "weights_sha256": run.weights_sha256, "corpus": str(cdir)})
    if use_cache:
        tensors = {f"mean.{s}": v.contiguous() for s, v in means.items()}
        tensors.update({f"bank.{s}": v.contiguous() for s, v in bank.items()})
        try:
            with atomic_path(path) as tmp:
                save_file(tensors, str(tmp), metadata=meta)
        except OSError as e:  # an unwritable cache costs time, not correctness
            print(
                f"warning: cannot write the statistics cache {path} ({e.strerror})", file=sys.stderr
            )
    return ActivationStats(means, bank, meta)
