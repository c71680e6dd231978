"""TokenData and BatchSampler: memory-mapped shards, deterministic windows, rank slices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from corpus_helpers import build

from sparsecircuits.corpus import BatchSampler, TokenData, unigram_loss
from sparsecircuits.errors import UserError


@pytest.fixture
def corpus(code_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "c"
    build(
        [
            "--source",
            str(code_dir),
            "--out",
            str(out),
            "--shard-tokens",
            "300",
            "--val-fraction",
            "0.2",
        ]
    )
    return out


def test_token_data_spans_shards(corpus: Path) -> None:
    data = TokenData(corpus, "train")
    assert len(data.shards) > 2
    assert data.n_tokens == sum(len(s) for s in data.shards) == len(data)
    whole = np.concatenate([np.asarray(s) for s in data.shards]).astype(np.int64)
    assert np.array_equal(data.tokens(0, data.n_tokens), whole)
    a = len(data.shards[0]) - 5
    assert np.array_equal(data.tokens(a, a + 20), whole[a : a + 20])
    assert data.tokens(0, 0).shape == (0,)
    assert whole.max() < data.vocab_size and whole[0] == data.eot_id
    with pytest.raises(IndexError):
        data.tokens(0, data.n_tokens + 1)


def test_batches_are_pure_functions_of_seed_and_step(corpus: Path) -> None:
    data = TokenData(corpus, "train")
    s1 = BatchSampler(data, batch_size=8, seq_len=32, seed=3)
    s2 = BatchSampler(TokenData(corpus, "train"), batch_size=8, seq_len=32, seed=3)
    x, y = s1.batch(5)
    s1.batch(0)  # order of calls does not matter
    x2, y2 = s2.batch(5)
    assert x.dtype == torch.int64 and x.shape == (8, 32) and y.shape == (8, 32)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert torch.equal(x[:, 1:], y[:, :-1])
    assert not torch.equal(s1.batch(6)[0], x)
    assert not torch.equal(BatchSampler(data, 8, 32, seed=4).batch(5)[0], x)
    for (shard, off), row in zip(s1.starts(5), x, strict=True):
        assert off + 33 <= len(data.shards[shard])
        assert np.array_equal(
            np.asarray(data.shards[shard][off : off + 32], dtype=np.int64), row.numpy()
        )


def test_ranks_split_the_global_batch(corpus: Path) -> None:
    data = TokenData(corpus, "train")
    x, y = BatchSampler(data, 8, 16, seed=0).batch(2)
    parts = [BatchSampler(data, 8, 16, seed=0, rank=r, world_size=4).batch(2) for r in range(4)]
    assert all(p[0].shape == (2, 16) for p in parts)
    assert torch.equal(torch.cat([p[0] for p in parts]), x)
    assert torch.equal(torch.cat([p[1] for p in parts]), y)


def test_sampler_errors(corpus: Path) -> None:
    data = TokenData(corpus, "val")
    with pytest.raises(UserError, match="divisible"):
        BatchSampler(data, 6, 16, seed=0, world_size=4)
    with pytest.raises(UserError, match="shorter seq_len"):
        BatchSampler(data, 4, 10_000, seed=0)
    with pytest.raises(UserError, match="split 'test'"):
        TokenData(corpus, "test")


def test_corrupt_shard_is_reported(corpus: Path) -> None:
    shard = corpus / "train_000.bin"
    shard.write_bytes(shard.read_bytes()[:-2])
    with pytest.raises(UserError, match="rebuild the corpus"):
        TokenData(corpus, "train")


def test_unigram_loss_scores_val_by_smoothed_train_frequencies(corpus: Path) -> None:
    train, val = TokenData(corpus, "train"), TokenData(corpus, "val")
    counts = np.bincount(train.tokens(0, len(train)), minlength=train.vocab_size) + 1.0
    want = -np.log(counts / counts.sum())[val.tokens(0, len(val))].mean()
    assert unigram_loss(corpus) == pytest.approx(want, rel=1e-12)
    assert 0 < unigram_loss(corpus) < np.log(train.vocab_size)  # frequencies beat uniform
