"""The weight projection: exact kept counts, row minimums, which tensors are sparse."""

import math

import pytest
import torch

from sparsecircuits.model import ModelConfig, SparseGPT
from sparsecircuits.train.config import TrainConfig
from sparsecircuits.train.sparsity import (
    kept_count,
    param_kind,
    project_tensor_,
    project_to_sparsity,
    sparse_parameters,
)


def tiny_model(**kw) -> SparseGPT:
    cfg = ModelConfig(vocab_size=64, block_size=16, n_layer=2, d_model=32, d_head=8, **kw)
    model = SparseGPT(cfg, seed=0)
    with torch.no_grad():  # make biases nonzero too, so their counts are checkable
        g = torch.Generator().manual_seed(1)
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g))
    return model


@pytest.mark.parametrize("fraction", [0.9, 0.5, 1 / 8, 1 / 64])
@pytest.mark.parametrize("j", [0, 4])
def test_exact_counts_and_row_minimum(fraction: float, j: int) -> None:
    g = torch.Generator().manual_seed(0)
    w = torch.randn(48, 40, generator=g)
    orig = w.clone()
    project_tensor_(w, fraction, j)
    k = kept_count(w.numel(), fraction)
    rows_min = w.shape[0] * min(j, w.shape[1])
    assert int(w.count_nonzero()) == max(k, rows_min)
    if j:
        assert int(w.ne(0).sum(1).min()) >= j
        # each row's top-j survive
        top = orig.abs().topk(j, dim=1).indices
        assert bool(w.gather(1, top).ne(0).all())
    # kept entries are unchanged, and outside the protected ones they are the largest
    kept = w.ne(0)
    assert torch.equal(w[kept], orig[kept])
    if j == 0:
        assert float(orig.abs()[kept].min()) >= float(orig.abs()[~kept].max())


def test_row_minimum_wins_when_budget_is_small() -> None:
    w = torch.randn(10, 100, generator=torch.Generator().manual_seed(0))
    project_tensor_(w, 0.01, 4)  # k = 10 < 10 rows * 4
    assert int(w.count_nonzero()) == 40
    assert w.ne(0).sum(1).tolist() == [4] * 10


def test_kept_count_is_ceil() -> None:
    assert kept_count(100, 0.125) == 13
    assert kept_count(64, 1 / 8) == 8
    assert kept_count(10, 1e-6) == 1


def test_model_projection_counts_every_sparse_tensor() -> None:
    model = tiny_model()
    cfg = TrainConfig()
    fraction = 1 / 8
    project_to_sparsity(model, fraction, 4, cfg)
    params = sparse_parameters(model, cfg)
    assert "transformer.wte.weight" in params and "lm_head.weight" in params
    assert "transformer.h.0.attn.c_attn.bias" in params
    for name, p in params.items():
        k = kept_count(p.numel(), fraction)
        if p.dim() == 2:
            expected = max(k, p.shape[0] * min(4, p.shape[1]))
            assert int(p.ne(0).sum(1).min()) >= 4, name
        else:
            expected = k
        assert int(p.count_nonzero()) == expected, name


def test_never_sparse_and_switches() -> None:
    model = tiny_model()
    names = {n for n, _ in model.named_parameters()}
    for n in names:
        if "ln_" in n or "sink" in n or n == "bigram_table":
            assert param_kind(n, dict(model.named_parameters())[n]) is None, n
    cfg = TrainConfig(sparse_embeddings=False, sparse_unembedding=False, sparse_biases=False)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    project_to_sparsity(model, 0.1, 4, cfg)
    after = dict(model.named_parameters())
    for n in ("transformer.wte.weight", "lm_head.weight", "transformer.h.0.mlp.c_fc.bias"):
        assert torch.equal(before[n], after[n]), n
    assert (
        int(after["transformer.h.0.mlp.c_fc.weight"].count_nonzero())
        < before["transformer.h.0.mlp.c_fc.weight"].numel()
    )
    for n in names:
        if "ln_" in n or "sink" in n or n == "bigram_table":
            assert torch.equal(before[n], after[n]), n


def test_dense_fraction_is_noop() -> None:
    model = tiny_model()
    before = [p.detach().clone() for p in model.parameters()]
    project_to_sparsity(model, 1.0, 4, TrainConfig())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_ceil_rule_documented() -> None:
    assert kept_count(7, 0.5) == math.ceil(3.5)
