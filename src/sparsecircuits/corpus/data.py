"""Reading token shards: `TokenData` (memory-mapped split) and a deterministic random-window `BatchSampler`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sparsecircuits.corpus.manifest import load_manifest
from sparsecircuits.errors import UserError


class TokenData:
    """The memory-mapped uint16 tokens of one split (`"train"` or `"val"`) of a corpus folder."""

    def __init__(self, corpus_dir: str | Path, split: str) -> None:
        self.corpus_dir = Path(corpus_dir)
        self.split = split
        self.manifest = load_manifest(self.corpus_dir)
        shards = self.manifest.get("shards", {})
        if split not in shards:
            raise UserError(
                f"split {split!r} is not in {self.corpus_dir}; use one of {', '.join(sorted(shards))}."
            )
        self.vocab_size = int(self.manifest["vocab_size"])
        self.eot_id = int(self.manifest["eot_id"])
        self.shards: list[np.ndarray] = []
        for entry in shards[split]:
            path = self.corpus_dir / entry["file"]
            n = int(entry["tokens"])
            if not path.is_file() or path.stat().st_size != 2 * n:
                raise UserError(
                    f"shard {path} is missing or does not hold the {n} tokens the manifest lists; rebuild the corpus."
                )
            self.shards.append(np.memmap(path, dtype=np.uint16, mode="r", shape=(n,)))
        self._starts = np.cumsum([0] + [len(s) for s in self.shards])

    @property
    def n_tokens(self) -> int:
        """Number of tokens in this split."""
        return int(self._starts[-1])

    def __len__(self) -> int:
        return self.n_tokens

    def tokens(self, start: int, stop: int) -> np.ndarray:
        """Tokens [start, stop) of the split as one int64 array (may span shards)."""
        if not 0 <= start <= stop <= self.n_tokens:
            raise IndexError(f"range [{start}, {stop}) outside 0..{self.n_tokens}")
        parts = []
        for i, shard in enumerate(self.shards):
            lo, hi = int(self._starts[i]), int(self._starts[i + 1])
            a, b = max(start, lo), min(stop, hi)
            if a < b:
                parts.append(np.asarray(shard[a - lo : b - lo], dtype=np.int64))
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def __repr__(self) -> str:
        return f"TokenData({str(self.corpus_dir)!r}, {self.split!r}, n_tokens={self.n_tokens})"


def unigram_loss(corpus_dir: str | Path) -> float:
    """The held-out loss (nats/token) of the unigram baseline: the val split scored by the train
    split's token frequencies (add-one smoothed). A language model that learned anything beyond
    token frequencies is below it."""
    counts = _token_counts(TokenData(corpus_dir, "train")) + 1.0  # add-one: unseen stay finite
    val_counts = _token_counts(TokenData(corpus_dir, "val"))
    log_p = np.log(counts / counts.sum())
    return float(-(val_counts * log_p).sum() / max(val_counts.sum(), 1))


def _token_counts(data: TokenData) -> np.ndarray:
    """How often each token id occurs in a split."""
    counts = np.zeros(data.vocab_size, dtype=np.float64)
    for shard in data.shards:
        counts += np.bincount(np.asarray(shard), minlength=data.vocab_size)
    return counts


class BatchSampler:
    """Random windows of `seq_len + 1` tokens; `batch(step)` is a pure function of (seed, step, rank).

    The global batch of a step does not depend on `world_size`; rank r takes rows
    [r * B / world_size, (r + 1) * B / world_size) of it, so 2 processes see what 1 would.
    Windows lie inside one shard (documents never straddle shards, so nothing is lost).
    """

    def __init__(
        self,
        data: TokenData,
        batch_size: int,
        seq_len: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if batch_size <= 0 or seq_len <= 0:
            raise UserError(
                f"batch size {batch_size} and seq_len {seq_len} must be positive; fix the config."
            )
        if world_size <= 0 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
        if batch_size % world_size:
            raise UserError(
                f"batch size {batch_size} is not divisible by {world_size} processes; choose a multiple of {world_size}."
            )
        self.data, self.batch_size, self.seq_len = data, batch_size, seq_len
        self.seed, self.rank, self.world_size = seed, rank, world_size
        # Number of valid window starts per shard (a window needs seq_len + 1 tokens).
        counts = np.array([max(0, len(s) - seq_len) for s in data.shards], dtype=np.int64)
        if counts.sum() == 0:
            raise UserError(
                f"the {data.split!r} split of {data.corpus_dir} ({data.n_tokens} tokens) has no shard longer than "
                f"seq_len + 1 = {seq_len + 1} tokens; use a larger corpus or a shorter seq_len."
            )
        self._cum = np.cumsum(counts)

    def starts(self, step: int) -> list[tuple[int, int]]:
        """(shard index, offset) of every window of the global batch of `step`."""
        if step < 0:
            raise ValueError(f"step {step} must be non-negative")
        rng = np.random.default_rng([int(self.seed) % (1 << 64), int(step), 0x5C])
        flat = rng.integers(0, int(self._cum[-1]), size=self.batch_size, dtype=np.int64)
        shard = np.searchsorted(self._cum, flat, side="right")
        offset = flat - np.concatenate([[0], self._cum])[shard]
        return list(zip(shard.tolist(), offset.tolist(), strict=True))

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y): int64 tensors [batch_size // world_size, seq_len]; y is x shifted by one token."""
        per = self.batch_size // self.world_size
        mine = self.starts(step)[self.rank * per : (self.rank + 1) * per]
        buf = np.empty((per, self.seq_len + 1), dtype=np.int64)
        for row, (s, off) in enumerate(mine):
            buf[row] = self.data.shards[s][off : off + self.seq_len + 1]
        t = torch.from_numpy(buf)
        return t[:, :-1].contiguous(), t[:, 1:].contiguous()
