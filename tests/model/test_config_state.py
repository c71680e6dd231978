"""ModelConfig round trips and validation; state dicts with the public key names."""

import pytest
import tomli_w
import torch
from model_reference import random_model
from test_forward import TINY, VARIANTS, tokens

from sparsecircuits.errors import UserError
from sparsecircuits.model import ModelConfig, SparseGPT


def test_defaults_follow_method():
    c = ModelConfig()
    assert (c.vocab_size, c.block_size, c.d_head, c.n_head, c.d_mlp) == (2048, 256, 16, 16, 1024)
    assert c.norm == "rms" and not c.tied_embeddings and c.positions == "none"
    assert c.bigram_table and c.learnable_bigram and c.sink and c.afrac == 0.25
    assert len(c.topk_sites) == 8


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_config_round_trips_through_toml_safe_dict(variant):
    c = ModelConfig(**TINY, **VARIANTS[variant])
    d = c.to_dict()
    assert None not in d.values()
    tomli_w.dumps(d)  # TOML has no null; to_dict must be writable
    assert ModelConfig.from_dict(d) == c


def test_unknown_key_is_named():
    with pytest.raises(UserError, match="'n_embd'"):
        ModelConfig.from_dict({"n_embd": 64})


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(norm="batch"), "model.norm"),
        (dict(positions="rope"), "model.positions"),
        (dict(positions="cat"), "d_pos_emb"),
        (dict(d_pos_emb=8), "d_pos_emb"),
        (dict(afrac=1.5), "afrac"),
        (dict(afrac="0.25"), "afrac"),
        (dict(topk_sites=("attn.q", "attn_q")), "attn_q"),
        (dict(d_model=30), "n_head"),
        (dict(n_layer=0), "n_layer"),
    ],
)
def test_invalid_configs_raise_user_errors(kwargs, needle):
    with pytest.raises(UserError, match=needle):
        ModelConfig(**{**TINY, **kwargs})


def test_topk_sites_accepts_comma_string_and_afrac_zero_means_off():
    c = ModelConfig(**TINY, topk_sites="attn.q,mlp.post_act", afrac=0)
    assert c.topk_sites == ("attn.q", "mlp.post_act") and c.afrac is None


def _expected_keys(c: ModelConfig) -> set[str]:
    keys = {"transformer.wte.weight", "transformer.ln_f.weight"}
    if c.positions != "none":
        keys.add("transformer.wpe.weight")
    if not c.tied_embeddings:
        keys.add("lm_head.weight")
    if c.final_logits_bias:
        keys.add("final_logits_bias")
    if c.bigram_table:
        keys.add("bigram_table")
    if c.norm == "layer" and c.ln_bias:
        keys.add("transformer.ln_f.bias")
    for i in range(c.n_layer):
        p = f"transformer.h.{i}."
        norms = ["ln_1", "ln_2"] + (["ln_p1", "ln_p2"] if c.positions == "cat" else [])
        for n in norms:
            keys.add(p + n + ".weight")
            if c.norm == "layer" and c.ln_bias:
                keys.add(p + n + ".bias")
        for lin in ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]:
            keys.add(p + lin + ".weight")
            if c.bias:
                keys.add(p + lin + ".bias")
        if c.sink:
            keys.add(p + "attn.attn_imp.sink_logit")
    return keys


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_state_dict_has_public_names_and_round_trips_strictly(variant):
    c = ModelConfig(**TINY, **VARIANTS[variant])
    src = random_model(c, seed=0)
    sd = src.state_dict()
    assert set(sd) == _expected_keys(c)
    H, D = c.n_head, c.d_head
    assert sd["transformer.h.0.attn.c_attn.weight"].shape == (3 * H * D, c.d_in)
    assert sd["transformer.h.0.attn.c_proj.weight"].shape == (c.d_model, H * D)
    dst = SparseGPT(c, seed=5).double()
    dst.load_state_dict(sd, strict=True)
    idx = tokens()
    torch.testing.assert_close(dst(idx), src(idx))


def test_load_weights_names_missing_unexpected_and_misshaped_keys():
    c = ModelConfig(**TINY)
    m = SparseGPT(c)
    sd = dict(m.state_dict())
    del sd["transformer.h.1.attn.attn_imp.sink_logit"]
    sd["transformer.wpe.weight"] = torch.zeros(12, 32)
    sd["transformer.h.0.mlp.c_fc.weight"] = torch.zeros(5, 5)
    with pytest.raises(UserError) as e:
        m.load_weights(sd, source="final_model.pt")
    msg = str(e.value)
    for needle in [
        "final_model.pt",
        "sink_logit",
        "transformer.wpe.weight",
        "mlp.c_fc.weight (5, 5)",
    ]:
        assert needle in msg
    good = SparseGPT(c, seed=1)
    m.load_weights(good.state_dict())
    assert torch.equal(m.transformer.wte.weight, good.transformer.wte.weight)


def test_num_params_counts():
    c = ModelConfig(**TINY)
    m = SparseGPT(c)
    total = sum(p.numel() for p in m.parameters())
    assert m.num_params() == total
    assert m.num_params(include_bigram=False) == total - c.vocab_size**2
    with torch.no_grad():
        m.transformer.wte.weight[:5].zero_()
    zero_at_init = sum(
        p.numel() for n, p in m.named_parameters() if n.endswith(("bias", "sink_logit"))
    )
    assert zero_at_init == 2 * (3 * 32 + 32 + 128 + 32 + 4)
    assert m.num_nonzero_params() == total - c.vocab_size**2 - 5 * c.d_model - zero_at_init
