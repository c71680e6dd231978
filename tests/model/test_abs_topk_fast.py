"""The fast AbsTopK (integer-keyed topk, custom backward, joint q/k/v call) against torch.topk."""

import pytest
import torch

from sparsecircuits.model import ModelConfig, SparseGPT, abs_topk


def _distinct(
    shape: tuple[int, ...], seed: int, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Random signs times a random permutation of distinct magnitudes in each vector."""
    gen = torch.Generator().manual_seed(seed)
    rows = int(torch.tensor(shape[:-1]).prod())
    w = shape[-1]
    mags = torch.stack([torch.randperm(w, generator=gen) for _ in range(rows)]).double()
    mags = (mags + 1) / w + torch.rand(rows, w, generator=gen, dtype=torch.float64) * 1e-3 / w
    signs = torch.randint(0, 2, (rows, w), generator=gen) * 2 - 1
    return (mags * signs).view(shape).to(dtype)


def _reference(x: torch.Tensor, k: int) -> torch.Tensor:
    idx = x.abs().topk(k, dim=-1).indices
    return torch.zeros_like(x).scatter(-1, idx, x.gather(-1, idx))


@pytest.mark.parametrize(
    ("shape", "k", "dtype"),
    [
        ((4, 8, 128), 32, torch.float32),
        ((3, 512), 128, torch.float32),
        ((2, 3, 4, 40), 7, torch.float64),
        ((5, 64), 16, torch.bfloat16),
        ((5, 64), 1, torch.float16),
    ],
)
def test_matches_topk_selection_and_keeps_exactly_k(shape, k, dtype) -> None:
    x = _distinct(shape, seed=k, dtype=dtype)
    assert x.abs().flatten(0, -2).sort(-1).values.diff(dim=-1).gt(0).all()  # distinct in dtype
    y = abs_topk(x, k)
    assert ((y != 0).sum(-1) == k).all()
    assert torch.equal(y, _reference(x, k))


def test_gradient_is_grad_times_mask_and_double_backward() -> None:
    x = _distinct((6, 128), seed=3).requires_grad_()
    gen = torch.Generator().manual_seed(4)
    g = torch.randn(6, 128, generator=gen).requires_grad_()
    y = abs_topk(x, 32)
    mask = (y != 0).float()
    (grad,) = torch.autograd.grad(y, x, g, create_graph=True)
    assert torch.equal(grad, g * mask)
    # Double backward: the backward is differentiable in the incoming gradient.
    h = torch.randn(6, 128, generator=gen)
    (dg,) = torch.autograd.grad((grad * h).sum(), g)
    assert torch.equal(dg, h * mask)


def test_no_grad_path_equals_autograd_path() -> None:
    x = _distinct((4, 128), seed=5)
    with torch.no_grad():
        a = abs_topk(x, 32)
    b = abs_topk(x.clone().requires_grad_(), 32)
    assert torch.equal(a, b.detach())


def test_joint_qkv_topk_equals_separate_calls() -> None:
    cfg = ModelConfig(vocab_size=64, block_size=16, n_layer=1, d_model=32, d_head=8)
    model = SparseGPT(cfg, seed=0)
    attn = model.transformer.h[0].attn
    assert attn.qkv_same_k
    idx = torch.randint(0, 64, (2, 16), generator=torch.Generator().manual_seed(0))
    _, joint = model.run_with_cache(idx, sites=["0.attn.q", "0.attn.k", "0.attn.v"])
    attn.qkv_same_k = False  # the per-site path
    _, separate = model.run_with_cache(idx, sites=["0.attn.q", "0.attn.k", "0.attn.v"])
    for name, value in joint.items():
        assert torch.equal(value, separate[name])
        assert ((value != 0).sum(-1) == attn.k_q).all()
