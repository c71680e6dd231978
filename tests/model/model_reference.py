"""A plain, loop-free-but-explicit re-implementation of the SparseGPT forward from a state dict.

Written independently of gpt.py (explicit softmax with a sink column, sort-based top-k, manual
norms) so the tests can check the model against it.
"""

from __future__ import annotations

import math

import torch

from sparsecircuits.model import ModelConfig


def ref_topk(x: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest |x| of the last dim by sorting."""
    if k >= x.shape[-1]:
        return x
    order = x.abs().argsort(dim=-1, descending=True)
    keep = torch.zeros_like(x, dtype=torch.bool)
    keep.scatter_(-1, order[..., :k], True)
    return torch.where(keep, x, torch.zeros_like(x))


def ref_norm(cfg: ModelConfig, sd: dict, prefix: str, x: torch.Tensor) -> torch.Tensor:
    w = sd[prefix + ".weight"]
    if cfg.norm == "rms":
        eps = torch.finfo(x.dtype).eps
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    y = (x - mu) / torch.sqrt(var + 1e-5) * w
    if prefix + ".bias" in sd:
        y = y + sd[prefix + ".bias"]
    return y


def ref_linear(sd: dict, prefix: str, x: torch.Tensor) -> torch.Tensor:
    y = x @ sd[prefix + ".weight"].T
    if prefix + ".bias" in sd:
        y = y + sd[prefix + ".bias"]
    return y


def ref_sink_attention(q, k, v, sink, scale):
    """q,k,v [B,H,T,D]; sink [H] or None. The softmax over [sink column, causal scores]."""
    B, H, T, D = q.shape
    scores = (q @ k.transpose(-1, -2)) * scale
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    scores = scores.masked_fill(~causal, float("-inf"))
    if sink is None:
        return scores.softmax(-1) @ v
    sink_col = sink.view(1, H, 1, 1).expand(B, H, T, 1)
    full = torch.cat([sink_col, scores], dim=-1)
    w = torch.exp(full - full.max(-1, keepdim=True).values)
    w = w / w.sum(-1, keepdim=True)
    # the sink column's value is zero, so it only contributes to the denominator
    return w[..., 1:] @ v


def ref_forward(cfg: ModelConfig, sd: dict, idx: torch.Tensor, overrides: dict | None = None):
    """Logits [B,T,V]; overrides {site name: fn} replace site values like model.intervene."""
    overrides = overrides or {}

    def site(name, x):
        return overrides[name](x) if name in overrides else x

    def topk(site_name, x):
        if cfg.afrac is None or site_name not in cfg.topk_sites:
            return x
        return ref_topk(x, int(cfg.afrac * x.shape[-1]))

    B, T = idx.shape
    H, D = cfg.n_head, cfg.d_head
    x = sd["transformer.wte.weight"][idx]
    pos = None
    if cfg.positions == "add":
        x = x + sd["transformer.wpe.weight"][:T]
    elif cfg.positions == "cat":
        pos = sd["transformer.wpe.weight"][:T].unsqueeze(0).expand(B, T, -1)
    for i in range(cfg.n_layer):
        p = f"transformer.h.{i}."
        h = ref_norm(cfg, sd, p + "ln_1", x)
        if pos is not None:
            h = torch.cat([h, ref_norm(cfg, sd, p + "ln_p1", pos)], -1)
        h = site(f"{i}.attn.act_in", topk("attn.act_in", h))
        qkv = ref_linear(sd, p + "attn.c_attn", h)
        q, k, v = qkv[..., : H * D], qkv[..., H * D : 2 * H * D], qkv[..., 2 * H * D :]
        q = site(f"{i}.attn.q", topk("attn.q", q))
        k = site(f"{i}.attn.k", topk("attn.k", k))
        v = site(f"{i}.attn.v", topk("attn.v", v))
        q, k, v = (t.reshape(B, T, H, D).permute(0, 2, 1, 3) for t in (q, k, v))
        sink = sd.get(p + "attn.attn_imp.sink_logit")
        y = ref_sink_attention(q, k, v, sink, 1 / math.sqrt(D))
        y = y.permute(0, 2, 1, 3).reshape(B, T, H * D)
        y = ref_linear(sd, p + "attn.c_proj", y)
        x = x + site(f"{i}.attn.resid_delta", topk("attn.resid_delta", y))
        if cfg.residual_activation == "relu":
            x = x.clamp_min(0)
        x = topk("resid_post_attn", x)
        h = ref_norm(cfg, sd, p + "ln_2", x)
        if pos is not None:
            h = torch.cat([h, ref_norm(cfg, sd, p + "ln_p2", pos)], -1)
        h = site(f"{i}.mlp.act_in", topk("mlp.act_in", h))
        a = ref_linear(sd, p + "mlp.c_fc", h)
        if cfg.activation == "gelu":
            a = 0.5 * a * (1 + torch.erf(a / math.sqrt(2)))
        else:
            a = a.clamp_min(0)
        a = site(f"{i}.mlp.post_act", topk("mlp.post_act", a))
        y = ref_linear(sd, p + "mlp.c_proj", a)
        x = x + site(f"{i}.mlp.resid_delta", topk("mlp.resid_delta", y))
        if cfg.residual_activation == "relu":
            x = x.clamp_min(0)
        x = topk("resid_post_mlp", x)
    x = ref_norm(cfg, sd, "transformer.ln_f", x)
    w_u = sd.get("lm_head.weight", sd["transformer.wte.weight"])
    logits = x @ w_u.T
    if "final_logits_bias" in sd:
        logits = logits + sd["final_logits_bias"]
    if "bigram_table" in sd:
        logits = logits + sd["bigram_table"][idx]
    return logits


def random_model(cfg: ModelConfig, seed: int = 0):
    """A float64 SparseGPT whose every parameter and buffer is random (so no term hides as zero)."""
    from sparsecircuits.model import SparseGPT

    model = SparseGPT(cfg, seed=seed).double().eval()
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            if name == "transformer.wpe.weight" and cfg.sinusoidal_pos_emb:
                continue  # fixed sinusoids stay as built
            noise = torch.randn(t.shape, generator=gen, dtype=t.dtype)
            if name.endswith(
                ("ln_1.weight", "ln_2.weight", "ln_f.weight", "ln_p1.weight", "ln_p2.weight")
            ):
                t.copy_(1 + 0.3 * noise)
            else:
                t.copy_(0.5 * noise)
    return model
