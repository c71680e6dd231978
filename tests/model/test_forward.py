"""SparseGPT forward vs. an independent re-implementation, for every model option."""

import math

import pytest
import torch
from model_reference import random_model, ref_forward, ref_sink_attention, ref_topk

from sparsecircuits.model import RESID_TOPK_SITES, SITES, ModelConfig, SparseGPT, abs_topk
from sparsecircuits.model.gpt import AttentionSink

TINY = dict(vocab_size=37, block_size=12, n_layer=2, d_model=32, d_head=8)

VARIANTS = {
    "default": dict(),
    "layernorm_add_tied_relu": dict(
        norm="layer",
        positions="add",
        tied_embeddings=True,
        sink=False,
        activation="relu",
        residual_activation="relu",
        bias=False,
        final_logits_bias=True,
        learnable_bigram=False,
    ),
    "cat_learned_resid_topk": dict(
        positions="cat", d_pos_emb=8, topk_sites=SITES + RESID_TOPK_SITES, d_mlp=48, n_head=3
    ),
    "cat_sinusoidal_nolnbias_dense": dict(
        positions="cat",
        d_pos_emb=6,
        sinusoidal_pos_emb=True,
        norm="layer",
        ln_bias=False,
        afrac=None,
    ),
    "no_bigram_half_topk": dict(
        bigram_table=False, afrac=0.5, topk_sites=("attn.q", "mlp.post_act")
    ),
}


def tokens(B: int = 3, T: int = 10, seed: int = 0) -> torch.Tensor:
    return torch.randint(
        0, TINY["vocab_size"], (B, T), generator=torch.Generator().manual_seed(seed)
    )


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_forward_matches_reference(variant):
    cfg = ModelConfig(**TINY, **VARIANTS[variant])
    model = random_model(cfg)
    idx = tokens()
    got = model(idx)
    want = ref_forward(cfg, model.state_dict(), idx)
    assert got.shape == (3, 10, cfg.vocab_size)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)


def test_abs_topk_keeps_exactly_k_largest():
    gen = torch.Generator().manual_seed(0)
    W, k = 40, 7
    # distinct magnitudes with random signs
    mags = torch.stack([torch.randperm(W, generator=gen) + 1.0 for _ in range(6)]).view(2, 3, W)
    x = mags * (torch.randint(0, 2, mags.shape, generator=gen) * 2 - 1)
    y = abs_topk(x, k)
    assert ((y != 0).sum(-1) == k).all()
    kept = y != 0
    assert torch.equal(y[kept], x[kept])  # kept values unchanged
    assert (mags[kept].view(2, 3, k).min(-1).values > W - k).all()  # and they are the k largest
    assert torch.equal(y, ref_topk(x, k))
    assert torch.equal(abs_topk(x, W), x)


def test_abs_topk_gradient_only_to_kept():
    x = torch.randn(4, 16, requires_grad=True, generator=torch.Generator().manual_seed(1))
    abs_topk(x, 4).sum().backward()
    assert torch.equal(x.grad != 0, abs_topk(x.detach(), 4) != 0)


def test_sink_attention_by_hand():
    gen = torch.Generator().manual_seed(0)
    B, H, T, D = 1, 2, 3, 2
    q, k, v = (torch.randn(B, H, T, D, generator=gen, dtype=torch.float64) for _ in range(3))
    attn = AttentionSink(H).double()
    with torch.no_grad():
        attn.sink_logit.copy_(torch.tensor([0.7, -1.3]))
    got = attn(q, k, v, scale=1 / math.sqrt(D))
    want = torch.zeros(B, H, T, D, dtype=torch.float64)
    for h in range(H):
        for i in range(T):
            logits = [attn.sink_logit[h].item()]
            logits += [(q[0, h, i] @ k[0, h, j]).item() / math.sqrt(D) for j in range(i + 1)]
            z = sum(math.exp(s) for s in logits)  # the sink's exp(s) is in the denominator
            for j in range(i + 1):
                want[0, h, i] += math.exp(logits[j + 1]) / z * v[0, h, j]
    torch.testing.assert_close(got.detach(), want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got, ref_sink_attention(q, k, v, attn.sink_logit, 1 / math.sqrt(D)))


@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (4, 128, 32, 8), (3, 16, 33, 16)])
def test_sink_attention_on_cpu_is_bitwise_sdpa_with_the_mask(shape):
    """The CPU path spells out SDPA's math steps; the bundled models' circuits rely on equality."""
    B, H, T, D = shape
    gen = torch.Generator().manual_seed(T)
    q, k, v = (torch.randn(B, H, T, D, generator=gen) for _ in range(3))
    attn = AttentionSink(H)
    with torch.no_grad():
        attn.sink_logit.normal_(generator=gen)
    z = k.new_zeros(B, H, 1, D)
    visible = torch.ones(T, T + 1, dtype=torch.bool).tril(diagonal=1)
    mask = torch.zeros(T, T + 1).masked_fill(~visible, -math.inf)
    mask = mask + torch.nn.functional.pad(attn.sink_logit.view(H, 1, 1), (0, T))
    want = torch.nn.functional.scaled_dot_product_attention(
        q, torch.cat([z, k], 2), torch.cat([z, v], 2), attn_mask=mask, scale=D**-0.5
    )
    assert torch.equal(attn(q, k, v, scale=D**-0.5), want)


def test_sink_gradient_float32_matches_reference():
    cfg = ModelConfig(**TINY)
    model = random_model(cfg).float()
    idx = tokens()
    model(idx).logsumexp(-1).sum().backward()
    sd = {k: v.detach().double().requires_grad_(True) for k, v in model.state_dict().items()}
    ref_forward(cfg, sd, idx).logsumexp(-1).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        torch.testing.assert_close(p.grad.double(), sd[name].grad, rtol=1e-3, atol=1e-4, msg=name)
    assert model.transformer.h[0].attn.attn_imp.sink_logit.grad.abs().sum() > 0


def test_last_pos_equals_gathered_full_logits():
    cfg = ModelConfig(**TINY, **VARIANTS["layernorm_add_tied_relu"])
    model = random_model(cfg)
    idx = tokens(B=4)
    last = torch.tensor([0, 9, 3, 5])
    full = model(idx)
    torch.testing.assert_close(model(idx, last_pos=last), full[torch.arange(4), last])


def test_too_long_input_is_a_user_error():
    from sparsecircuits.errors import UserError

    model = SparseGPT(ModelConfig(**TINY))
    with pytest.raises(UserError, match="block_size"):
        model(torch.zeros(1, 13, dtype=torch.long))


def test_init_is_seeded_and_leaves_global_rng_alone():
    cfg = ModelConfig(**TINY)
    state = torch.random.get_rng_state()
    a, b, c = SparseGPT(cfg, seed=3), SparseGPT(cfg, seed=3), SparseGPT(cfg, seed=4)
    assert torch.equal(torch.random.get_rng_state(), state)
    for (name, pa), pb, pc in zip(
        a.state_dict().items(), b.state_dict().values(), c.state_dict().values(), strict=True
    ):
        assert torch.equal(pa, pb), name
        if pa.dim() == 2 and name != "bigram_table":
            assert not torch.equal(pa, pc), name


def test_init_statistics():
    cfg = ModelConfig(vocab_size=64, block_size=8, n_layer=4, d_model=64, d_head=16)
    m = SparseGPT(cfg)
    sd = m.state_dict()
    assert abs(sd["transformer.wte.weight"].std().item() - 0.02) < 0.002
    assert abs(sd["transformer.h.0.mlp.c_fc.weight"].std().item() - 0.02) < 0.002
    want = 0.02 / math.sqrt(8)
    assert abs(sd["transformer.h.1.mlp.c_proj.weight"].std().item() - want) < 0.1 * want
    assert abs(sd["transformer.h.1.attn.c_proj.weight"].std().item() - want) < 0.15 * want
    for name in [
        "bigram_table",
        "transformer.h.0.attn.c_attn.bias",
        "transformer.h.0.attn.attn_imp.sink_logit",
    ]:
        assert not sd[name].any(), name
    assert torch.equal(sd["transformer.h.0.ln_1.weight"], torch.ones(64))
