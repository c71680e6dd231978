"""SparseGPT: a GPT with AbsTopK activation sparsity, attention sinks, a bigram table and named node sites.

Read top to bottom: config, AbsTopK, small layers, attention, MLP, block, model. Parameter
names follow the public checkpoint layout of Gao et al. (2025), so an imported state dict
loads without renaming. See docs/sites.md for the node-site API (`intervene`,
`run_with_cache`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sparsecircuits import kernels
from sparsecircuits.errors import UserError
from sparsecircuits.model.sparse_exec import SparseWeight, wanted

# The eight node sites of every layer, in forward order. A site name is "{layer}.{site}".
SITES: tuple[str, ...] = (
    "attn.act_in",
    "attn.q",
    "attn.k",
    "attn.v",
    "attn.resid_delta",
    "mlp.act_in",
    "mlp.post_act",
    "mlp.resid_delta",
)
# Extra AbsTopK locations of the public format (the residual after each sublayer); not node sites.
RESID_TOPK_SITES: tuple[str, ...] = ("resid_post_attn", "resid_post_mlp")
# Hookable residual-stream sites (not nodes): "{L}.resid_pre" enters block L ("{n_layer}.resid_pre"
# is the final residual before ln_f); "{L}.resid_mid" enters the MLP half of block L.
RESID_SITES: tuple[str, ...] = ("resid_pre", "resid_mid")
_CHOICES = {
    "norm": ("rms", "layer"),
    "positions": ("none", "add", "cat"),
    "activation": ("gelu", "relu"),
    "residual_activation": ("identity", "relu"),
}


@dataclass
class ModelConfig:
    """Hyperparameters of a SparseGPT; defaults are the METHOD.md decisions."""

    vocab_size: int = 2048
    block_size: int = 256
    n_layer: int = 8
    d_model: int = 256
    d_head: int = 16
    n_head: int | None = None  # None -> d_model // d_head
    d_mlp: int | None = None  # None -> 4 * d_model
    norm: str = "rms"  # "rms" (weight only) | "layer"
    ln_bias: bool = True  # LayerNorm bias (norm == "layer" only)
    bias: bool = True  # biases in every linear layer
    tied_embeddings: bool = False  # unembedding reuses transformer.wte.weight
    positions: str = (
        "none"  # "none" | "add" (learned, added) | "cat" (concatenated to block inputs)
    )
    d_pos_emb: int | None = None  # width of concatenated positions (positions == "cat")
    sinusoidal_pos_emb: bool = False  # concatenated positions are fixed sinusoids
    bigram_table: bool = True  # add bigram_table[current token] to the logits
    learnable_bigram: bool = True  # the table is trained (else a fixed buffer)
    final_logits_bias: bool = False  # a fixed [vocab] logit bias buffer (public format)
    sink: bool = True  # per-head attention sink logit
    activation: str = "gelu"  # "gelu" (exact erf) | "relu"
    residual_activation: str = "identity"  # applied to the residual after each sublayer
    afrac: float | None = 0.25  # AbsTopK keep fraction; None (or 0) = off
    topk_sites: tuple[str, ...] = SITES  # where AbsTopK applies (SITES and/or RESID_TOPK_SITES)
    init_std: float = 0.02

    def __post_init__(self) -> None:
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise UserError(
                    f"model.{name} = {getattr(self, name)!r} is not valid; use one of {', '.join(choices)}."
                )
        for name in ("vocab_size", "block_size", "n_layer", "d_model", "d_head"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UserError(f"model.{name} = {value!r} must be a positive integer.")
        if self.n_head is None or self.n_head == 0:
            if self.d_model % self.d_head:
                raise UserError(
                    f"model.d_model = {self.d_model} is not a multiple of model.d_head = {self.d_head}; set model.n_head explicitly."
                )
            self.n_head = self.d_model // self.d_head
        if self.d_mlp is None or self.d_mlp == 0:
            self.d_mlp = 4 * self.d_model
        # 0 means "off" too, so a TOML file (which has no null) can express it.
        if self.afrac is not None and self.afrac == 0:
            self.afrac = None
        if self.afrac is not None and (
            isinstance(self.afrac, bool)
            or not isinstance(self.afrac, int | float)
            or not 0 < self.afrac <= 1
        ):
            raise UserError(f"model.afrac = {self.afrac!r} must be in (0, 1], or 0 for no AbsTopK.")
        if self.d_pos_emb == 0:
            self.d_pos_emb = None
        if self.positions == "cat" and self.d_pos_emb is None:
            raise UserError('model.positions = "cat" needs model.d_pos_emb (the position width).')
        if self.positions != "cat" and (self.d_pos_emb is not None or self.sinusoidal_pos_emb):
            raise UserError(
                'model.d_pos_emb and model.sinusoidal_pos_emb only apply with positions = "cat"; remove them or set positions = "cat".'
            )
        if isinstance(self.topk_sites, str):
            self.topk_sites = tuple(s for s in self.topk_sites.split(",") if s)
        self.topk_sites = tuple(self.topk_sites)
        for site in self.topk_sites:
            if site not in SITES and site not in RESID_TOPK_SITES:
                raise UserError(
                    f"model.topk_sites has unknown site {site!r}; use names from {', '.join(SITES + RESID_TOPK_SITES)}."
                )

    @property
    def d_in(self) -> int:
        """Width of an attention/MLP input: d_model, plus d_pos_emb with concatenated positions."""
        return self.d_model + (self.d_pos_emb or 0)

    def to_dict(self) -> dict:
        """Plain TOML/JSON-safe values (no None: off is written as 0); from_dict inverts it."""
        d = asdict(self)
        d["topk_sites"] = list(self.topk_sites)
        d["afrac"] = 0.0 if self.afrac is None else self.afrac
        d["d_pos_emb"] = 0 if self.d_pos_emb is None else self.d_pos_emb
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> ModelConfig:
        """Build a config from a mapping, rejecting unknown keys by name."""
        known = {f.name for f in fields(cls)}
        for key in d:
            if key not in known:
                raise UserError(
                    f"unknown model config key {key!r}; remove it (valid keys: {', '.join(sorted(known))})."
                )
        return cls(**dict(d))


# ---------------------------------------------------------------------------------------------
# AbsTopK: keep the k largest-magnitude entries of the last dimension.


# Non-negative floats order exactly like their bit patterns read as signed integers of the same
# width, and torch.topk compares integers ~25% faster than floats on CPU (no NaN handling).
_ORDER_DTYPE = {
    torch.float32: torch.int32,
    torch.float64: torch.int64,
    torch.float16: torch.int16,
    torch.bfloat16: torch.int16,
}


def _abs_topk_masked(x: Tensor, k: int, need_mask: bool = True) -> tuple[Tensor, Tensor | None]:
    """(y, kept mask as uint8, or None unless `need_mask`). Contiguous float32 or bfloat16 on a
    CPU takes the C kernel (bisection on the bit patterns, measured 4x faster than torch.topk
    there); GPUs and other dtypes take torch.topk."""
    if kernels.usable(x, kernels.TOPK_DTYPES):
        return kernels.abs_topk_rows(x, k)
    a = x.detach().abs()
    int_dtype = _ORDER_DTYPE.get(a.dtype)
    if int_dtype is not None:  # abs() cleared the sign bit, so the integer order is |x|'s order
        a = a.view(int_dtype)
    # Ties at the k-th value go to the first entries, as in the C kernel: which of several equal
    # (often zero) entries is "kept" decides where the backward passes gradient, so both paths
    # must choose alike for pruning to give the same circuit with and without the kernels.
    cut = a.topk(k, dim=-1, sorted=False).values.amin(-1, keepdim=True)
    above = a > cut
    tied = a == cut
    room = k - above.sum(-1, keepdim=True)
    keep = above | (tied & (tied.cumsum(-1) <= room))
    y = torch.where(keep, x.detach(), torch.zeros((), dtype=x.dtype, device=x.device))
    if not need_mask:
        return y, None
    return y, keep.to(torch.uint8)


class _AbsTopK(torch.autograd.Function):
    """AbsTopK whose backward is grad * kept mask, the mask saved by the forward."""

    @staticmethod
    def forward(ctx, x: Tensor, k: int) -> Tensor:
        y, mask = _abs_topk_masked(x, k)
        ctx.save_for_backward(mask)
        return y

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        (mask,) = ctx.saved_tensors
        if kernels.usable(grad, kernels.TOPK_DTYPES) and not torch.is_grad_enabled():
            return kernels.mask_grad(grad, mask), None
        return grad * mask, None  # differentiable in grad, so double backward holds


def abs_topk(x: Tensor, k: int) -> Tensor:
    """Keep the k entries of largest |x| along the last dimension (exactly k), zero the rest.

    A bf16 input (CPU autocast) takes the C kernel too, which selects on the fp32 bit patterns
    of the same values: torch.topk plus the tie-breaking path on bf16 cost 6.6 s of a 30-step
    zoo-sparse profile, more than bf16 saved on the matmuls."""
    if k >= x.shape[-1]:
        return x
    if x.requires_grad and torch.is_grad_enabled():
        return _AbsTopK.apply(x, k)
    return _abs_topk_masked(x, k, need_mask=False)[0]


def _topk_k(config: ModelConfig, site: str, width: int) -> int | None:
    """Number of entries AbsTopK keeps at `site`, or None where AbsTopK is off."""
    if config.afrac is None or site not in config.topk_sites:
        return None
    return int(config.afrac * width)


def _run_hooks(fns: list[Callable], name: str, x: Tensor) -> Tensor:
    """Apply the interventions `fns` registered at site `name`, in registration order."""
    for fn in fns:
        y = fn(x)
        if not isinstance(y, Tensor) or y.shape != x.shape:
            got = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
            raise UserError(
                f"the intervention at site {name!r} returned {got} instead of a tensor of shape {tuple(x.shape)}; return a tensor shaped like its input."
            )
        x = y
    return x


class Site(nn.Module):
    """The identity at a named site ("0.attn.q"): where `intervene` applies its functions.

    A module of its own, so that other tools that hook modules (torch forward hooks, nnsight)
    can read and patch `model.transformer.h[0].attn.q` too; it holds no parameters.
    """

    def __init__(self, name: str, hooks: dict[str, list[Callable]]) -> None:
        super().__init__()
        self.site_name = name
        self._hooks = hooks  # shared with the model: {site name: [fn, ...]}

    def forward(self, x: Tensor) -> Tensor:
        fns = self._hooks.get(self.site_name)
        return _run_hooks(fns, self.site_name, x) if fns else x


# ---------------------------------------------------------------------------------------------
# Small layers. Parameters are created empty and initialised by SparseGPT._init_weights, so
# construction never touches the global RNG.


class Linear(nn.Module):
    """y = x W^T + b with W [out, in] and an optional bias. With `sparse` set (sparse execution of
    a frozen model, model/sparse_exec.py) the product runs from a compressed copy of W."""

    def __init__(self, d_in: int, d_out: int, bias: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d_out, d_in))
        self.bias = nn.Parameter(torch.empty(d_out)) if bias else None
        self.sparse: SparseWeight | None = None

    def forward(self, x: Tensor) -> Tensor:
        if self.sparse is not None and self.sparse.enabled and self.sparse.applies(x, self.weight):
            return self.sparse.linear(x, self.weight, self.bias)
        return F.linear(x, self.weight, self.bias)


class Embedding(nn.Module):
    """A lookup table `weight` [n, d]: a parameter, or a fixed buffer (sinusoidal positions)."""

    def __init__(self, n: int, d: int, learnable: bool = True) -> None:
        super().__init__()
        if learnable:
            self.weight = nn.Parameter(torch.empty(n, d))
        else:
            self.register_buffer("weight", torch.empty(n, d))


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (eps 1e-5)."""

    def __init__(self, d: int, bias: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, 1e-5)


def make_norm(config: ModelConfig, d: int) -> nn.Module:
    """RMSNorm (learnable weight, no bias, eps = dtype epsilon) or LayerNorm, per config.norm."""
    if config.norm == "rms":
        return nn.RMSNorm(d)
    return LayerNorm(d, bias=config.ln_bias)


def sinusoids(n: int, d: int) -> Tensor:
    """Fixed position codes [n, d]: sin then cos at periods log-spaced from 4 to n tokens."""
    half = max(1, d // 2)
    periods = torch.logspace(
        math.log10(4.0), math.log10(max(4.0, float(n))), half, dtype=torch.float64
    )
    angles = torch.arange(n, dtype=torch.float64)[:, None] * (2 * math.pi / periods)
    enc = torch.cat([angles.sin(), angles.cos()], dim=1)[:, :d]
    return F.pad(enc, (0, d - enc.shape[1])).float()


# ---------------------------------------------------------------------------------------------
# Attention


class AttentionSink(nn.Module):
    """Causal attention whose softmax also sees, per head, a learnable logit for a zero-value key."""

    def __init__(self, n_head: int) -> None:
        super().__init__()
        self.sink_logit = nn.Parameter(torch.zeros(n_head))

    def forward(self, q: Tensor, k: Tensor, v: Tensor, scale: float) -> Tensor:
        B, H, T, D = q.shape
        # Prepend a virtual key/value of zeros: q.k = 0 there, so the additive mask alone sets
        # its logit to sink_logit[h]; its zero value only enlarges the softmax denominator.
        k = torch.cat([k.new_zeros(B, H, 1, D), k], dim=2)
        v = torch.cat([v.new_zeros(B, H, 1, v.shape[-1]), v], dim=2)
        # scores and softmax at least fp32: under CPU bf16 autocast only the two matmuls are bf16
        # (a bf16 softmax and its backward measured slower on this CPU than the fp32 ones)
        dtype = torch.promote_types(q.dtype, torch.float32)
        visible = torch.ones(T, T + 1, dtype=torch.bool, device=q.device).tril(diagonal=1)
        mask = torch.zeros(T, T + 1, dtype=dtype, device=q.device).masked_fill(~visible, -math.inf)
        mask = mask + F.pad(self.sink_logit.to(dtype).view(H, 1, 1), (0, T))  # [H, T, T+1]
        if q.device.type != "cpu":
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
        # On a CPU, SDPA with a mask runs these very steps (bitwise equal: tests/model/
        # test_forward.py) plus a check for rows with every key masked, which the always-visible
        # sink rules out; skipping it measured a quarter of attention's time at 128 heads.
        sf = math.sqrt(scale)
        att = torch.matmul(q * sf, k.transpose(-2, -1) * sf).to(dtype) + mask
        return torch.matmul(torch.softmax(att, dim=-1), v)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with decoupled d_head and AbsTopK at its node sites."""

    def __init__(self, config: ModelConfig, layer: int, hooks: dict) -> None:
        super().__init__()
        self.n_head, self.d_head = config.n_head, config.d_head
        width = config.n_head * config.d_head
        self.c_attn = Linear(config.d_in, 3 * width, bias=config.bias)  # rows: q, k, v
        self.c_proj = Linear(width, config.d_model, bias=config.bias)
        self.attn_imp = AttentionSink(config.n_head) if config.sink else None
        self.scale = 1.0 / math.sqrt(config.d_head)
        self.k_act_in = _topk_k(config, "attn.act_in", config.d_in)
        self.k_q = _topk_k(config, "attn.q", width)
        self.k_k = _topk_k(config, "attn.k", width)
        self.k_v = _topk_k(config, "attn.v", width)
        self.k_out = _topk_k(config, "attn.resid_delta", config.d_model)
        self.qkv_same_k = self.k_q is not None and self.k_q == self.k_k == self.k_v
        self.act_in, self.q, self.k, self.v, self.resid_delta = (
            Site(f"{layer}.attn.{s}", hooks) for s in ("act_in", "q", "k", "v", "resid_delta")
        )

    def forward(self, x: Tensor) -> Tensor:
        if self.k_act_in is not None:
            x = abs_topk(x, self.k_act_in)
        x = self.act_in(x)
        width = self.n_head * self.d_head
        qkv = self.c_attn(x)
        if self.qkv_same_k:  # one top-k call for q, k and v (each over all heads' channels)
            shape = qkv.shape
            qkv = abs_topk(qkv.view(*shape[:-1], 3, width), self.k_q).view(shape)
        q, k, v = qkv.split(width, dim=-1)
        if not self.qkv_same_k:  # top-k over all heads' channels jointly
            if self.k_q is not None:
                q = abs_topk(q, self.k_q)
            if self.k_k is not None:
                k = abs_topk(k, self.k_k)
            if self.k_v is not None:
                v = abs_topk(v, self.k_v)
        q, k, v = self.q(q), self.k(k), self.v(v)
        B, T, _ = q.shape
        q, k, v = (t.view(B, T, self.n_head, self.d_head).transpose(1, 2) for t in (q, k, v))
        if self.attn_imp is not None:
            y = self.attn_imp(q, k, v, self.scale)
        else:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=self.scale)
        y = self.c_proj(y.transpose(1, 2).reshape(B, T, self.n_head * self.d_head))
        if self.k_out is not None:
            y = abs_topk(y, self.k_out)
        return self.resid_delta(y)


# ---------------------------------------------------------------------------------------------
# MLP


class MLP(nn.Module):
    """Two-layer MLP (GELU or ReLU) with AbsTopK at its node sites."""

    def __init__(self, config: ModelConfig, layer: int, hooks: dict) -> None:
        super().__init__()
        self.c_fc = Linear(config.d_in, config.d_mlp, bias=config.bias)
        self.c_proj = Linear(config.d_mlp, config.d_model, bias=config.bias)
        self.act = F.gelu if config.activation == "gelu" else F.relu  # F.gelu is the exact erf form
        self.k_act_in = _topk_k(config, "mlp.act_in", config.d_in)
        self.k_post = _topk_k(config, "mlp.post_act", config.d_mlp)
        self.k_out = _topk_k(config, "mlp.resid_delta", config.d_model)
        self.act_in, self.post_act, self.resid_delta = (
            Site(f"{layer}.mlp.{s}", hooks) for s in ("act_in", "post_act", "resid_delta")
        )

    def forward(self, x: Tensor) -> Tensor:
        if self.k_act_in is not None:
            x = abs_topk(x, self.k_act_in)
        x = self.act_in(x)
        x = self.act(self.c_fc(x))
        if self.k_post is not None:
            x = abs_topk(x, self.k_post)
        x = self.post_act(x)
        x = self.c_proj(x)
        if self.k_out is not None:
            x = abs_topk(x, self.k_out)
        return self.resid_delta(x)


# ---------------------------------------------------------------------------------------------
# Block


class Block(nn.Module):
    """Pre-norm block: x += attn(norm(x)); x += mlp(norm(x)), each optionally followed by a
    residual activation and AbsTopK."""

    def __init__(self, config: ModelConfig, layer: int, hooks: dict) -> None:
        super().__init__()
        self.ln_1 = make_norm(config, config.d_model)
        self.attn = CausalSelfAttention(config, layer, hooks)
        self.ln_2 = make_norm(config, config.d_model)
        self.mlp = MLP(config, layer, hooks)
        if config.positions == "cat":
            self.ln_p1 = make_norm(config, config.d_pos_emb)
            self.ln_p2 = make_norm(config, config.d_pos_emb)
        self.resid_relu = config.residual_activation == "relu"
        self.k_post_attn = _topk_k(config, "resid_post_attn", config.d_model)
        self.k_post_mlp = _topk_k(config, "resid_post_mlp", config.d_model)
        self.resid_pre = Site(f"{layer}.resid_pre", hooks)
        self.resid_mid = Site(f"{layer}.resid_mid", hooks)

    def forward(self, x: Tensor, pos: Tensor | None = None) -> Tensor:
        return self.mlp_half(self.attn_half(x, pos), pos)

    def attn_half(self, x: Tensor, pos: Tensor | None = None) -> Tensor:
        """The residual entering the MLP half ("{layer}.resid_mid") from the one entering the block."""
        x = self.resid_pre(x)
        h = self.ln_1(x)
        if pos is not None:  # positions are extra read-only inputs of width d_pos_emb
            h = torch.cat([h, self.ln_p1(pos).expand(x.shape[0], -1, -1)], dim=-1)
        x = x + self.attn(h)
        if self.resid_relu:
            x = F.relu(x)
        if self.k_post_attn is not None:
            x = abs_topk(x, self.k_post_attn)
        return x

    def mlp_half(self, x: Tensor, pos: Tensor | None = None) -> Tensor:
        """The residual leaving the block from the one entering its MLP half."""
        x = self.resid_mid(x)
        h = self.ln_2(x)
        if pos is not None:
            h = torch.cat([h, self.ln_p2(pos).expand(x.shape[0], -1, -1)], dim=-1)
        x = x + self.mlp(h)
        if self.resid_relu:
            x = F.relu(x)
        if self.k_post_mlp is not None:
            x = abs_topk(x, self.k_post_mlp)
        return x


# ---------------------------------------------------------------------------------------------
# The model


class SparseGPT(nn.Module):
    """Decoder-only transformer of METHOD.md section 2 with named, hookable node sites."""

    def __init__(self, config: ModelConfig, seed: int = 0) -> None:
        super().__init__()
        self.config = config
        self._hooks: dict[str, list[Callable]] = {}  # shared by every block; empty = no cost
        modules: dict[str, nn.Module] = {"wte": Embedding(config.vocab_size, config.d_model)}
        if config.positions == "add":
            modules["wpe"] = Embedding(config.block_size, config.d_model)
        elif config.positions == "cat":
            modules["wpe"] = Embedding(
                config.block_size, config.d_pos_emb, learnable=not config.sinusoidal_pos_emb
            )
        modules["h"] = nn.ModuleList(Block(config, i, self._hooks) for i in range(config.n_layer))
        # the residual before ln_f: site "{n_layer}.resid_pre" (the authors' hook "final_resid")
        modules["final_resid"] = Site(f"{config.n_layer}.resid_pre", self._hooks)
        modules["ln_f"] = make_norm(config, config.d_model)
        self.transformer = nn.ModuleDict(modules)
        # Tied: no lm_head module at all (the state dict then has no lm_head.weight, and
        # safetensors never sees two names for one tensor).
        self.lm_head = (
            None if config.tied_embeddings else Linear(config.d_model, config.vocab_size, False)
        )
        if config.final_logits_bias:
            self.register_buffer("final_logits_bias", torch.zeros(config.vocab_size))
        else:
            self.final_logits_bias = None
        if config.bigram_table and config.learnable_bigram:
            self.bigram_table = nn.Parameter(torch.zeros(config.vocab_size, config.vocab_size))
        elif config.bigram_table:
            self.register_buffer("bigram_table", torch.zeros(config.vocab_size, config.vocab_size))
        else:
            self.bigram_table = None
        self._init_weights(seed)

    @torch.no_grad()
    def _init_weights(self, seed: int) -> None:
        """METHOD init: N(0, std); output projections N(0, std/sqrt(2 n_layer)); biases, sinks, bigram 0."""
        gen = torch.Generator().manual_seed(seed)
        std = self.config.init_std
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                p.normal_(0.0, std / math.sqrt(2 * self.config.n_layer), generator=gen)
            elif p.dim() == 2 and name != "bigram_table":  # embeddings and linear weights
                p.normal_(0.0, std, generator=gen)
            elif name.endswith(".weight"):  # norm gains
                p.fill_(1.0)
            else:  # biases, sink logits, bigram table
                p.zero_()
        if self.config.positions == "cat" and self.config.sinusoidal_pos_emb:
            self.transformer.wpe.weight.copy_(
                sinusoids(self.config.block_size, self.config.d_pos_emb)
            )

    # -- forward -----------------------------------------------------------------------------

    def forward(self, idx: Tensor, last_pos: Tensor | None = None) -> Tensor:
        """Logits [B, T, V] for tokens idx [B, T]; with last_pos [B], logits [B, V] at those positions."""
        B, T = idx.shape
        if self.config.block_size < T:
            raise UserError(
                f"a sequence of {T} tokens is longer than the model's block_size {self.config.block_size}; truncate the input."
            )
        x = F.embedding(idx, self.transformer.wte.weight)
        pos = None
        if self.config.positions == "add":
            x = x + self.transformer.wpe.weight[:T]
        elif self.config.positions == "cat":
            pos = self.transformer.wpe.weight[:T].unsqueeze(0)
        for block in self.transformer.h:
            x = block(x, pos)
        x = self.transformer.final_resid(x)
        return self._unembed(x, idx, last_pos)

    def _unembed(self, x: Tensor, idx: Tensor, last_pos: Tensor | None = None) -> Tensor:
        """Logits from the final residual x [B, T, d_model] (ln_f, unembedding, biases, bigram table)."""
        cur = idx
        if last_pos is not None:  # unembed only where it is needed
            rows = torch.arange(idx.shape[0], device=idx.device)
            x, cur = x[rows, last_pos], idx[rows, last_pos]
        x = self.transformer.ln_f(x)
        if self.lm_head is None:
            logits = F.linear(x, self.transformer.wte.weight)
        else:
            logits = self.lm_head(x)
        if self.final_logits_bias is not None:
            logits = logits + self.final_logits_bias
        if self.bigram_table is not None:
            logits = logits + F.embedding(cur, self.bigram_table).to(logits.dtype)
        return logits

    def set_sparse_execution(self, mode: str) -> int:
        """Run frozen products sparse ("on"), below the density crossover ("auto") or never
        ("off"); see model/sparse_exec.py. Returns how many matrices now run sparse."""
        n = 0
        for module in self.modules():
            if isinstance(module, Linear):
                use = wanted(module.weight, mode)
                if use and module.sparse is None:
                    module.sparse = SparseWeight(module.weight)
                if module.sparse is not None:  # kept when off: switching back does not repack
                    module.sparse.enabled = use
                n += use
        return n

    def forward_from(self, site: str, resid: Tensor, idx: Tensor) -> Tensor:
        """Logits [B, T, V] of the rest of the forward pass, given the residual `resid` [B, T, d_model]
        at the residual site `site` ("{L}.resid_pre", "{L}.resid_mid" or "{n_layer}.resid_pre")
        and the tokens `idx` [B, T] (for positions and the bigram table); hooks at and after the
        site apply. Bridges (sparsecircuits.bridge) run hybrid passes with it."""
        layer, _, kind = site.partition(".")
        if kind not in RESID_SITES or not layer.isdigit() or int(layer) > self.config.n_layer:
            raise UserError(
                f"forward_from needs a residual site like '0.resid_pre' or '0.resid_mid', not {site!r}."
            )
        start = int(layer)
        if kind == "resid_mid" and start == self.config.n_layer:
            raise UserError(
                f"the model has no site {site!r}; the last residual site is '{start}.resid_pre'."
            )
        T = idx.shape[1]
        pos = (
            self.transformer.wpe.weight[:T].unsqueeze(0) if self.config.positions == "cat" else None
        )
        x = resid
        blocks = self.transformer.h
        if kind == "resid_mid":
            x = blocks[start].mlp_half(x, pos)
            start += 1
        for block in blocks[start:]:
            x = block(x, pos)
        x = self.transformer.final_resid(x)
        return self._unembed(x, idx)

    # -- node sites ----------------------------------------------------------------------------

    def site_names(self, residual: bool = False) -> list[str]:
        """Node site names "{layer}.{site}" in forward order; residual=True adds the resid_* sites."""
        names = []
        for i in range(self.config.n_layer):
            layer = [f"{i}.{s}" for s in SITES]
            if residual:
                layer.insert(0, f"{i}.resid_pre")
                layer.insert(6, f"{i}.resid_mid")  # after attn.resid_delta
            names += layer
        if residual:
            names.append(self.transformer.final_resid.site_name)
        return names

    def site_width(self, name: str) -> int:
        """Width (number of nodes or channels) of the site `name`."""
        c = self.config
        layer, _, site = name.partition(".")
        n_layers = c.n_layer + (site == "resid_pre")  # "{n_layer}.resid_pre" is the final residual
        if not layer.isdigit() or int(layer) >= n_layers or site not in SITES + RESID_SITES:
            raise UserError(
                f"unknown site {name!r}; use a name like '0.mlp.post_act' (see model.site_names(), layers 0..{c.n_layer - 1})."
            )
        qkv = c.n_head * c.d_head
        return {
            "attn.act_in": c.d_in,
            "attn.q": qkv,
            "attn.k": qkv,
            "attn.v": qkv,
            "attn.resid_delta": c.d_model,
            "mlp.act_in": c.d_in,
            "mlp.post_act": c.d_mlp,
            "mlp.resid_delta": c.d_model,
            "resid_pre": c.d_model,
            "resid_mid": c.d_model,
        }[site]

    def node_counts(self) -> dict[str, int]:
        """Number of nodes at each node site, in forward order (sum it for the model's total)."""
        return {name: self.site_width(name) for name in self.site_names()}

    @contextmanager
    def intervene(self, fns: Mapping[str, Callable[[Tensor], Tensor]]) -> Iterator[SparseGPT]:
        """Within the block, replace the value x of each named site by fns[site](x) in every forward.

        Nested blocks compose: functions at one site run in the order they were entered.
        """
        for name, fn in fns.items():
            self.site_width(name)  # raises UserError for an unknown site
            if not callable(fn):
                raise UserError(
                    f"the intervention for site {name!r} is not callable; pass a function x -> x."
                )
        added: list[tuple[str, Callable]] = []
        try:
            for name, fn in fns.items():
                self._hooks.setdefault(name, []).append(fn)
                added.append((name, fn))
            yield self
        finally:
            for name, fn in reversed(added):
                fs = self._hooks[name]
                # remove this registration (by identity, the latest one) and nothing else
                del fs[max(i for i, f in enumerate(fs) if f is fn)]
                if not fs:
                    del self._hooks[name]

    def run_with_cache(
        self, idx: Tensor, sites: Sequence[str] | None = None, last_pos: Tensor | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Forward pass returning (logits, {site: value [B, T, W]}) for `sites` (default: all node sites).

        Values are the tensors of the forward pass itself (detach them, or call under
        torch.no_grad(), if you do not need gradients). Interventions already active apply.
        """
        cache: dict[str, Tensor] = {}
        names = self.site_names() if sites is None else list(sites)
        with self.intervene({name: _Recorder(name, cache) for name in names}):
            logits = self(idx, last_pos=last_pos)
        return logits, cache

    # -- bookkeeping ---------------------------------------------------------------------------

    def num_params(self, include_bigram: bool = True) -> int:
        """Number of parameters (buffers excluded); include_bigram=False leaves out the dense bigram table."""
        return sum(
            p.numel()
            for name, p in self.named_parameters()
            if include_bigram or name != "bigram_table"
        )

    def num_nonzero_params(self, include_bigram: bool = False) -> int:
        """Number of nonzero parameter entries (the bigram table, dense by design, left out by default)."""
        return sum(
            int(torch.count_nonzero(p))
            for name, p in self.named_parameters()
            if include_bigram or name != "bigram_table"
        )

    def load_weights(
        self, state_dict: Mapping[str, Tensor], source: str = "the checkpoint"
    ) -> None:
        """Load a state dict strictly; a missing, unexpected or mis-shaped key raises UserError naming it."""
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        wrong = [
            f"{k} {tuple(state_dict[k].shape)} (model expects {tuple(v.shape)})"
            for k, v in own.items()
            if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)
        ]
        problems = []
        if missing:
            problems.append("missing keys " + ", ".join(missing))
        if unexpected:
            problems.append("unexpected keys " + ", ".join(unexpected))
        if wrong:
            problems.append("wrong shapes " + ", ".join(wrong))
        if problems:
            raise UserError(
                f"{source} does not match the model config ({'; '.join(problems)}); use the config the weights were saved with."
            )
        self.load_state_dict(dict(state_dict), strict=True)


class _Recorder:
    """An intervention that stores the site's value and leaves it unchanged."""

    def __init__(self, name: str, cache: dict[str, Tensor]) -> None:
        self.name, self.cache = name, cache

    def __call__(self, x: Tensor) -> Tensor:
        self.cache[self.name] = x
        return x
