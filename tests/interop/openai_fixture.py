"""Models in the authors' public format, written from the reference alone, and their forward pass.

Independent of sparsecircuits' model and importer: `write_model` lays out a random state dict by
the key list of ../shared/reference/openai_checkpoint_format.md, and `reference_logits`
computes the forward pass that reference describes, straight from their config and key names.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

DEFAULTS = {
    "block_size": 1024,
    "vocab_size": 50304,
    "n_layer": 12,
    "n_head": 12,
    "d_model": 768,
    "d_head": None,
    "d_mlp": None,
    "bias": True,
    "ln_bias": True,
    "rms_norm": False,
    "activation_type": "gelu",
    "residual_activation_type": "identity",
    "afrac": None,
    "afrac_loctypes": "attn_in,attn_out,mlp_in,mlp_out",
    "tied_unembed": True,
    "enable_bigram_table": False,
    "learnable_bigram_table": False,
    "d_pos_emb": None,
    "sinusoidal_cat_pos_emb": False,
    "sink": False,
    "flash": True,
}


def resolved(beeg: dict) -> dict:
    """The config with the authors' defaults filled in (and `n_mlp` read as d_mlp)."""
    c = {**DEFAULTS, **beeg}
    if "n_mlp" in c:
        c["d_mlp"] = c.pop("n_mlp")
    c["d_head"] = c["d_head"] or c["d_model"] // c["n_head"]
    c["d_mlp"] = c["d_mlp"] or 4 * c["d_model"]
    return c


def random_state(
    beeg: dict, seed: int = 0, positions: bool = True, density: float = 0.5
) -> dict[str, torch.Tensor]:
    """A random state dict with exactly the keys the reference lists for this config."""
    c = resolved(beeg)
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape: int, std: float = 0.3, sparse: bool = True) -> torch.Tensor:
        t = torch.randn(*shape, generator=g) * std
        if sparse and len(shape) == 2:
            t = t * (torch.rand(*shape, generator=g) < density)
        return t

    d, v, bs = c["d_model"], c["vocab_size"], c["block_size"]
    width = c["n_head"] * c["d_head"]
    d_pos = c["d_pos_emb"]
    d_in = d + (d_pos or 0)
    layer_norm_bias = not c["rms_norm"] and c["ln_bias"]
    sd: dict[str, torch.Tensor] = {"transformer.wte.weight": rnd(v, d, sparse=False)}
    if d_pos and c["sinusoidal_cat_pos_emb"]:
        pos = torch.arange(bs, dtype=torch.float32)[:, None]
        half = max(1, d_pos // 2)
        periods = torch.logspace(math.log10(4.0), math.log10(max(4.0, bs)), half)
        ang = pos * (2 * math.pi / periods)
        sd["transformer.wpe.weight"] = torch.cat([ang.sin(), ang.cos()], 1)[:, :d_pos]
    elif d_pos:
        sd["transformer.wpe.weight"] = rnd(bs, d_pos, sparse=False)
    else:
        sd["transformer.wpe.weight"] = rnd(bs, d, sparse=False) if positions else torch.zeros(bs, d)

    def norm(prefix: str, n: int) -> None:
        sd[prefix + ".weight"] = 1 + rnd(n, std=0.1)
        if layer_norm_bias:
            sd[prefix + ".bias"] = rnd(n, std=0.1)

    def linear(prefix: str, n_out: int, n_in: int, std: float = 0.3) -> None:
        sd[prefix + ".weight"] = rnd(n_out, n_in, std=std)
        if c["bias"]:
            sd[prefix + ".bias"] = rnd(n_out, std=0.1)

    for i in range(c["n_layer"]):
        h = f"transformer.h.{i}"
        norm(f"{h}.ln_1", d)
        linear(f"{h}.attn.c_attn", 3 * width, d_in)
        linear(f"{h}.attn.c_proj", d, width)
        if c["sink"]:
            sd[f"{h}.attn.attn_imp.sink_logit"] = rnd(c["n_head"], std=1.0)
        if not c["flash"]:
            sd[f"{h}.attn.bias"] = torch.tril(torch.ones(bs, bs)).view(1, 1, bs, bs)
        norm(f"{h}.ln_2", d)
        linear(f"{h}.mlp.c_fc", c["d_mlp"], d_in)
        linear(f"{h}.mlp.c_proj", d, c["d_mlp"])
        if d_pos:
            norm(f"{h}.ln_p1", d_pos)
            norm(f"{h}.ln_p2", d_pos)
    norm("transformer.ln_f", d)
    sd["lm_head.weight"] = sd["transformer.wte.weight"] if c["tied_unembed"] else rnd(v, d)
    sd["final_logits_bias"] = rnd(v, std=0.2)
    if c["enable_bigram_table"]:
        sd["bigram_table"] = rnd(v, v, std=0.2)
    return sd


def write_model(folder: Path, beeg: dict, state: dict[str, torch.Tensor]) -> Path:
    """The model folder of the format: beeg_config.json + final_model.pt."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "beeg_config.json").write_text(json.dumps(beeg))
    torch.save(state, folder / "final_model.pt")
    return folder


def _topk(c: dict, x: torch.Tensor, loc: str) -> torch.Tensor:
    if c["afrac"] is None or loc not in c["afrac_loctypes"].split(","):
        return x
    k = int(c["afrac"] * x.shape[-1])
    order = x.abs().argsort(dim=-1, descending=True)[..., :k]
    keep = torch.zeros_like(x, dtype=torch.bool).scatter(-1, order, True)
    return torch.where(keep, x, torch.zeros_like(x))


def reference_logits(beeg: dict, sd: dict[str, torch.Tensor], idx: torch.Tensor) -> torch.Tensor:
    """Logits [B, T, V] of the model the reference describes, from its own config and key names."""
    c = resolved(beeg)

    def norm(prefix: str, x: torch.Tensor) -> torch.Tensor:
        w = sd[prefix + ".weight"]
        if c["rms_norm"]:
            eps = torch.finfo(x.dtype).eps
            return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        y = (x - mu) / torch.sqrt(var + 1e-5) * w
        return y + sd[prefix + ".bias"] if prefix + ".bias" in sd else y

    def lin(prefix: str, x: torch.Tensor) -> torch.Tensor:
        y = x @ sd[prefix + ".weight"].T
        return y + sd[prefix + ".bias"] if prefix + ".bias" in sd else y

    def act(x: torch.Tensor) -> torch.Tensor:
        if c["activation_type"] == "relu":
            return x.clamp_min(0)
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))

    B, T = idx.shape
    H, D = c["n_head"], c["d_head"]
    pos = sd["transformer.wpe.weight"][:T]
    x = sd["transformer.wte.weight"][idx]
    if not c["d_pos_emb"]:
        x = x + pos

    def with_pos(h: torch.Tensor, ln: str) -> torch.Tensor:
        if not c["d_pos_emb"]:
            return h
        return torch.cat([h, norm(ln, pos).expand(B, T, -1)], dim=-1)

    def resid(x: torch.Tensor, loc: str) -> torch.Tensor:
        if c["residual_activation_type"] == "relu":
            x = x.clamp_min(0)
        return _topk(c, x, loc)

    causal = torch.ones(T, T, dtype=torch.bool).tril()
    for i in range(c["n_layer"]):
        p = f"transformer.h.{i}"
        h = _topk(c, with_pos(norm(f"{p}.ln_1", x), f"{p}.ln_p1"), "attn_in")
        q, k, v = lin(f"{p}.attn.c_attn", h).split(H * D, dim=-1)
        q, k, v = _topk(c, q, "attn_q"), _topk(c, k, "attn_k"), _topk(c, v, "attn_v")
        q, k, v = (t.reshape(B, T, H, D).transpose(1, 2) for t in (q, k, v))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        scores = scores.masked_fill(~causal, float("-inf"))
        if c["sink"]:
            sink = sd[f"{p}.attn.attn_imp.sink_logit"].view(1, H, 1, 1).expand(B, H, T, 1)
            weights = torch.cat([sink, scores], dim=-1).softmax(-1)[..., 1:]
        else:
            weights = scores.softmax(-1)
        y = (weights @ v).transpose(1, 2).reshape(B, T, H * D)
        x = resid(x + _topk(c, lin(f"{p}.attn.c_proj", y), "attn_out"), "resid_post_attn")
        h = _topk(c, with_pos(norm(f"{p}.ln_2", x), f"{p}.ln_p2"), "mlp_in")
        h = _topk(c, act(lin(f"{p}.mlp.c_fc", h)), "mlp_neuron")
        x = resid(x + _topk(c, lin(f"{p}.mlp.c_proj", h), "mlp_out"), "resid_post_mlp")
    x = norm("transformer.ln_f", x)
    w_u = sd["transformer.wte.weight"] if c["tied_unembed"] else sd["lm_head.weight"]
    logits = x @ w_u.T
    if "final_logits_bias" in sd:
        logits = logits + sd["final_logits_bias"]
    if c["enable_bigram_table"]:
        logits = logits + sd["bigram_table"][idx]
    return logits


SITES = (
    "attn.act_in",
    "attn.q",
    "attn.k",
    "attn.v",
    "attn.resid_delta",
    "mlp.act_in",
    "mlp.post_act",
    "mlp.resid_delta",
)


def write_viz(
    path: Path,
    beeg: dict,
    kept: dict[str, list[int]],
    final_resid: list[int],
    optional: bool = True,
) -> Path:
    """A `viz_data.pt` laid out as openai_circuit_format.md describes (every site listed, empty
    ones included; `kept` maps "{i}.{site}" to ascending node indices)."""
    c = resolved(beeg)
    d_in = c["d_model"] + (c["d_pos_emb"] or 0)
    width = c["n_head"] * c["d_head"]
    sites = [f"{i}.{s}" for i in range(c["n_layer"]) for s in SITES] + ["final_resid"]
    circuit_data = {
        s: torch.tensor(
            sorted(kept.get(s, final_resid if s == "final_resid" else [])), dtype=torch.int64
        )
        for s in sites
    }
    data: dict = {"circuit_data": circuit_data}
    if optional:
        per_layer = 2 * d_in + 3 * width + c["d_mlp"] + 2 * c["d_model"]
        data |= {
            "num_total_nodes": c["n_layer"] * per_layer + c["d_model"],
            "all_loss": [(0, 0.9), (len(sites), 0.42)],
            "prune_config": {"lr": 0.01, "k_coef": 1e-4, "epochs": 3},
            "samples": {},
            "importances": {
                "beeg_model_config": {**c, "pfrac": 0.01},
                "loss": 0.2,
                "interv_loss": 0.42,
                "ch_interv_losses": {
                    s: [0.5 + 0.01 * j for j in range(len(v))] for s, v in circuit_data.items()
                },
                "pair_data": [
                    [
                        torch.ones(len(circuit_data[a]), len(circuit_data[b])),
                        circuit_data[a].tolist(),
                        circuit_data[b].tolist(),
                        (a, b),
                    ]
                    for a, b in [("0.attn.act_in", "0.attn.q"), ("0.mlp.act_in", "0.mlp.post_act")]
                ],
                "task_samples": (torch.zeros(4, 8, dtype=torch.int64), {}),
            },
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, path)
    return path
