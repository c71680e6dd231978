"""Node sites: intervene, run_with_cache, site names and widths."""

import pytest
import torch
from model_reference import random_model, ref_forward
from test_forward import TINY, VARIANTS, tokens

from sparsecircuits.errors import UserError
from sparsecircuits.model import SITES, ModelConfig, abs_topk


@pytest.fixture(scope="module")
def model():
    return random_model(ModelConfig(**TINY))


def test_site_names_and_widths():
    cfg = ModelConfig(**TINY, positions="cat", d_pos_emb=8, n_head=3, d_mlp=48)
    m = random_model(cfg)
    names = m.site_names()
    assert names == [f"{i}.{s}" for i in range(2) for s in SITES]
    widths = {s: m.site_width(f"1.{s}") for s in SITES}
    assert widths == {
        "attn.act_in": 40,  # d_model + d_pos_emb: positions are read channels too
        "attn.q": 24,
        "attn.k": 24,
        "attn.v": 24,
        "attn.resid_delta": 32,
        "mlp.act_in": 40,
        "mlp.post_act": 48,
        "mlp.resid_delta": 32,
    }
    assert m.node_counts()["0.mlp.post_act"] == 48
    assert sum(m.node_counts().values()) == 2 * sum(widths.values())
    res = m.site_names(residual=True)
    assert res[:7] == [
        "0.resid_pre",
        "0.attn.act_in",
        "0.attn.q",
        "0.attn.k",
        "0.attn.v",
        "0.attn.resid_delta",
        "0.resid_mid",
    ]
    assert res[-1] == "2.resid_pre" and m.site_width("2.resid_pre") == 32
    for bad in ["2.attn.q", "0.attn.z", "x.mlp.act_in", "2.resid_mid", "attn.q"]:
        with pytest.raises(UserError):
            m.site_width(bad)


def test_cache_shapes_for_every_site(model):
    idx = tokens(B=2, T=7)
    logits, cache = model.run_with_cache(idx, sites=model.site_names(residual=True))
    assert set(cache) == set(model.site_names(residual=True))
    for name, value in cache.items():
        assert value.shape == (2, 7, model.site_width(name)), name
    torch.testing.assert_close(logits, model(idx))
    # values are taken after AbsTopK: k = int(0.25 * width) nonzeros per vector at node sites
    for name in model.site_names():
        k = int(0.25 * model.site_width(name))
        assert ((cache[name] != 0).sum(-1) <= k).all(), name
    assert not model._hooks  # recorders removed


def test_cache_matches_reference_site_values(model):
    idx = tokens()
    _, cache = model.run_with_cache(idx)
    seen = {}

    def grab(name):
        def fn(x):
            seen[name] = x
            return x

        return fn

    ref_forward(
        model.config, model.state_dict(), idx, overrides={n: grab(n) for n in model.site_names()}
    )
    for name in model.site_names():
        torch.testing.assert_close(cache[name], seen[name], rtol=1e-9, atol=1e-9, msg=name)


def test_patching_cached_values_back_reproduces_logits(model):
    idx = tokens()
    logits, cache = model.run_with_cache(idx)
    with model.intervene({n: (lambda v: lambda x: v)(cache[n]) for n in model.site_names()}):
        torch.testing.assert_close(model(idx), logits)


def test_patching_final_residual_transplants_logits():
    cfg = ModelConfig(**TINY, bigram_table=False)
    m = random_model(cfg)
    a, b = tokens(seed=1), tokens(seed=2)
    logits_a, cache = m.run_with_cache(a, sites=["2.resid_pre"])
    with m.intervene({"2.resid_pre": lambda x: cache["2.resid_pre"]}):
        patched_b = m(b)
    torch.testing.assert_close(patched_b, logits_a)
    assert not torch.allclose(m(b), logits_a)


@pytest.mark.parametrize("variant", ["default", "layernorm_add_tied_relu"])
def test_zeroing_post_act_equals_manual(variant):
    cfg = ModelConfig(**TINY, **VARIANTS[variant])
    m = random_model(cfg)
    idx = tokens()
    zero = {"0.mlp.post_act": torch.zeros_like}
    with m.intervene(zero):
        got, cache = m.run_with_cache(idx)
    want = ref_forward(cfg, m.state_dict(), idx, overrides=zero)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)
    # by hand: with no neurons active the MLP writes only (the top-k of) its output bias
    mlp = m.transformer.h[0].mlp
    bias = (
        mlp.c_proj.bias
        if mlp.c_proj.bias is not None
        else torch.zeros(cfg.d_model, dtype=got.dtype)
    )
    k = int(cfg.afrac * cfg.d_model) if "mlp.resid_delta" in cfg.topk_sites else cfg.d_model
    torch.testing.assert_close(cache["0.mlp.resid_delta"], abs_topk(bias, k).expand(3, 10, -1))
    assert not torch.allclose(got, m(idx))  # the intervention mattered, and is gone now


def test_intervene_touches_only_the_named_site(model):
    idx = tokens()
    _, clean = model.run_with_cache(idx)
    with model.intervene({"1.attn.v": lambda x: 2 * x}):
        _, patched = model.run_with_cache(idx)
    order = model.site_names()
    pos = order.index("1.attn.v")
    for name in order[:pos] + ["1.attn.q", "1.attn.k"]:
        torch.testing.assert_close(patched[name], clean[name], msg=name)
    torch.testing.assert_close(patched["1.attn.v"], 2 * clean["1.attn.v"])
    assert not torch.allclose(patched["1.attn.resid_delta"], clean["1.attn.resid_delta"])


def test_nested_interventions_compose_in_entry_order(model):
    idx = tokens()
    with (
        model.intervene({"0.attn.resid_delta": lambda x: x * 2}),
        model.intervene({"0.attn.resid_delta": lambda x: x + 1}),
    ):
        _, nested = model.run_with_cache(idx, sites=["0.attn.resid_delta"])
        assert len(model._hooks["0.attn.resid_delta"]) == 2  # the recorder is gone again
    _, clean = model.run_with_cache(idx, sites=["0.attn.resid_delta"])
    torch.testing.assert_close(nested["0.attn.resid_delta"], clean["0.attn.resid_delta"] * 2 + 1)
    assert not model._hooks


def test_intervene_cleans_up_after_an_exception(model):
    with pytest.raises(RuntimeError), model.intervene({"0.mlp.act_in": lambda x: x}):
        raise RuntimeError("boom")
    assert not model._hooks


def test_intervene_rejects_bad_sites_and_outputs(model):
    with (
        pytest.raises(UserError, match="unknown site"),
        model.intervene({"9.mlp.act_in": lambda x: x}),
    ):
        pass
    with pytest.raises(UserError, match="not callable"), model.intervene({"0.mlp.act_in": 3}):
        pass
    with (
        pytest.raises(UserError, match="shape"),
        model.intervene({"0.mlp.act_in": lambda x: x[..., :3]}),
    ):
        model(tokens())
    assert not model._hooks


def test_intervention_gradients_flow(model):
    """A mask applied through intervene receives gradients (what pruning needs)."""
    mask = torch.ones(model.site_width("1.mlp.post_act"), dtype=torch.float64, requires_grad=True)
    with model.intervene({"1.mlp.post_act": lambda x: x * mask}):
        model(tokens(), last_pos=torch.tensor([9, 9, 9])).logsumexp(-1).sum().backward()
    assert mask.grad is not None and mask.grad.abs().sum() > 0


def test_deepcopy_gets_its_own_interventions(model):
    import copy

    twin = copy.deepcopy(model)
    idx = tokens()
    with twin.intervene({"0.mlp.post_act": torch.zeros_like}):
        assert not model._hooks
        assert all(b.mlp.post_act._hooks is twin._hooks for b in twin.transformer.h)
        torch.testing.assert_close(model(idx), twin.__class__.forward(model, idx))
        assert not torch.allclose(twin(idx), model(idx))
