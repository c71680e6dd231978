"""Sparse execution (model/sparse_exec.py): the same logits and activation gradients as dense."""

import pytest
import torch
from test_forward import TINY, VARIANTS, tokens

from sparsecircuits import kernels
from sparsecircuits.errors import UserError
from sparsecircuits.model import SITES, ModelConfig, SparseGPT, sparse_exec
from sparsecircuits.model.gpt import Linear

pytestmark = pytest.mark.skipif(
    kernels._library() is None, reason="sparse execution needs the C kernels"
)


def sparse_random(cfg: ModelConfig, density: float, seed: int = 0) -> SparseGPT:
    """A random model whose Linear weights keep about `density` of their entries, frozen."""
    model = SparseGPT(cfg, seed=seed).eval()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 1:  # biases, gains and sinks away from their init: every term counts
                p.add_(torch.randn(p.shape, generator=g) * 0.1)
        for m in model.modules():
            if isinstance(m, Linear):
                m.weight.mul_(torch.rand(m.weight.shape, generator=g) < density)
        if model.bigram_table is not None:
            model.bigram_table.normal_(0, 0.1, generator=g)
    return model.requires_grad_(False)


def logits_and_site_grads(model: SparseGPT, idx: torch.Tensor) -> tuple[torch.Tensor, list]:
    """Logits, and the gradients of a loss on them with respect to a mask on every node site."""
    masks = []

    def masked(x):
        m = torch.ones(x.shape[-1], requires_grad=True)
        masks.append(m)
        return x * m

    sites = [f"{i}.{s}" for i in range(model.config.n_layer) for s in SITES]
    with model.intervene(dict.fromkeys(sites, masked)):
        logits = model(idx)
        (logits.log_softmax(-1)[..., 0].sum() + logits.square().mean()).backward()
    return logits.detach(), [m.grad for m in masks]


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("density", [1 / 2, 1 / 8, 1 / 64])
def test_sparse_matches_dense_logits_and_gradients(variant, density):
    model = sparse_random(ModelConfig(**TINY, **VARIANTS[variant]), density)
    idx = tokens(B=5, T=12)  # 60 tokens: one full block of 32 and a partial one
    assert model.set_sparse_execution("off") == 0
    want, want_grads = logits_and_site_grads(model, idx)
    n_linear = sum(isinstance(m, Linear) for m in model.modules())
    assert model.set_sparse_execution("on") == n_linear
    got, got_grads = logits_and_site_grads(model, idx)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert len(got_grads) == len(want_grads) == 8 * model.config.n_layer
    for g, w in zip(got_grads, want_grads, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(model(idx, last_pos=torch.full((5,), 11)), want[:, 11])


@pytest.mark.parametrize(
    "n, d_in, d_out, density",
    [(1, 5, 3, 0.5), (31, 17, 40, 0.2), (33, 64, 9, 0.05), (100, 8, 8, 0.0)],
)
def test_spmm_kernel_matches_dense_and_ignores_thread_count(n, d_in, d_out, density):
    g = torch.Generator().manual_seed(n)
    w = torch.randn(d_out, d_in, generator=g) * (torch.rand(d_out, d_in, generator=g) < density)
    w[0] = 0.0  # an empty row
    x = torch.randn(n, d_in, generator=g)
    csr = sparse_exec.csr(w)
    outs = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        outs.append(kernels.spmm(x, *csr, d_out))
    torch.set_num_threads(1)
    torch.testing.assert_close(outs[0], x @ w.t(), rtol=1e-5, atol=1e-5)
    assert torch.equal(outs[0], outs[1])


def test_training_stays_dense(tiny_model):
    """With a weight that wants a gradient the dense product runs and the gradient arrives."""
    tiny_model.set_sparse_execution("on")
    tiny_model.train()
    tiny_model(tokens(T=8) % 32).sum().backward()
    fc = tiny_model.transformer.h[0].mlp.c_fc
    assert fc.weight.grad is not None and fc.weight.grad.abs().sum() > 0
    assert fc.sparse is not None and fc.sparse._version == -1  # never packed


def test_weight_changed_in_place_is_repacked():
    model = sparse_random(ModelConfig(**TINY), 1 / 8)
    model.set_sparse_execution("on")
    idx = tokens(T=8)
    with torch.no_grad():
        model(idx)
        model.transformer.h[1].mlp.c_proj.weight.mul_(2.0)
        got = model(idx)
        model.set_sparse_execution("off")
        torch.testing.assert_close(got, model(idx), rtol=1e-5, atol=1e-5)


def test_auto_runs_sparse_below_the_crossover_only():
    model = sparse_random(ModelConfig(**TINY), 1.0)
    with torch.no_grad():
        c_fc = model.transformer.h[0].mlp.c_fc
        c_fc.weight.mul_(torch.rand(c_fc.weight.shape) < sparse_exec.CROSSOVER / 2)
    assert model.set_sparse_execution("auto") == 1
    assert c_fc.sparse.enabled and model.transformer.h[0].attn.c_attn.sparse is None


def test_other_dtypes_run_dense():
    model = sparse_random(ModelConfig(**TINY), 1 / 8)
    model.set_sparse_execution("on")
    idx = tokens(T=8)
    with torch.no_grad():
        want = model(idx)
        model.double()
        torch.testing.assert_close(model(idx).float(), want, rtol=1e-5, atol=1e-5)


def test_mode_from_environment_and_set_mode(monkeypatch):
    monkeypatch.setenv("SPARSECIRCUITS_SPARSE_EXEC", "off")
    assert sparse_exec.current_mode() == "off"
    sparse_exec.set_mode("on")
    try:
        assert sparse_exec.current_mode() == "on"
    finally:
        sparse_exec.set_mode(None)
    monkeypatch.setenv("SPARSECIRCUITS_SPARSE_EXEC", "fast")
    with pytest.raises(UserError, match="not one of auto, on, off"):
        sparse_exec.current_mode()


def test_load_run_applies_the_mode(workspace, monkeypatch):
    from sparsecircuits.train import load_run

    monkeypatch.setenv("SPARSECIRCUITS_SPARSE_EXEC", "on")
    run = load_run(workspace["run"])
    assert all(m.sparse is not None for m in run.model.modules() if isinstance(m, Linear))
    monkeypatch.setenv("SPARSECIRCUITS_SPARSE_EXEC", "off")
    run = load_run(workspace["run"])
    assert all(m.sparse is None for m in run.model.modules() if isinstance(m, Linear))
    run.model.set_sparse_execution("on")
    copies = [m.sparse for m in run.model.modules() if isinstance(m, Linear)]
    run.model.set_sparse_execution("off")
    assert not any(c.enabled for c in copies)
    run.model.set_sparse_execution("on")  # the same copies again: no repacking
    assert copies == [m.sparse for m in run.model.modules() if isinstance(m, Linear)]
