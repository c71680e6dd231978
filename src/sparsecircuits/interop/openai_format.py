"""The public format of the paper's released models (`beeg_config.json` + `final_model.pt`).

Facts from ../shared/reference/openai_checkpoint_format.md. Two pure mappings live here, each
with its inverse: their config <-> `ModelConfig`, their state dict <-> `SparseGPT`'s. Parameter
names already agree (gpt.py follows their layout), so the state-dict mapping is only about
what one side stores and the other does not: the all-zero position table of a model without
positions, the duplicate `lm_head.weight` of a tied model, a zero `final_logits_bias`, and the
causal-mask buffers of non-flash models.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from sparsecircuits.errors import UserError
from sparsecircuits.model import ModelConfig, SparseGPT

CONFIG_FILE = "beeg_config.json"
WEIGHTS_FILE = "final_model.pt"
TOKENIZER_URL = "https://openaipublic.blob.core.windows.net/circuit-sparsity/tinypython"
# Their reader's environment variable for a local copy of the tokenizer folder.
TOKENIZER_ENV = "TINYPYTHON_TOK_DIR"

# The authors' defaults for a key absent from beeg_config.json (they differ from ours).
AUTHORS_DEFAULTS: dict[str, object] = {
    "block_size": 1024,
    "vocab_size": 50304,
    "n_layer": 12,
    "n_head": 12,
    "d_model": 768,
    "d_head": None,  # d_model // n_head
    "d_mlp": None,  # 4 * d_model; old files call it n_mlp
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
}
# Switches of their training/inference code that do not change what the model computes.
RUNTIME_KEYS = (
    "dropout",
    "flash",
    "grad_checkpointing",
    "debug_nans",
    "tokenizer_name",
    "enable_sparse_kernels",
    "dropout_cat_pos_emb",
)
# Their AbsTopK location names -> ours.
LOCTYPES: dict[str, str] = {
    "attn_in": "attn.act_in",
    "attn_q": "attn.q",
    "attn_k": "attn.k",
    "attn_v": "attn.v",
    "attn_out": "attn.resid_delta",
    "mlp_in": "mlp.act_in",
    "mlp_neuron": "mlp.post_act",
    "mlp_out": "mlp.resid_delta",
    "resid_post_attn": "resid_post_attn",
    "resid_post_mlp": "resid_post_mlp",
}
_MASK_KEY = re.compile(r"transformer\.h\.(\d+)\.attn\.bias")
WPE, WTE, LM_HEAD, LOGITS_BIAS = (
    "transformer.wpe.weight",
    "transformer.wte.weight",
    "lm_head.weight",
    "final_logits_bias",
)


@dataclass(frozen=True)
class ImportedConfig:
    """Their config read into ours, plus what had no place in ours (kept as provenance)."""

    model: ModelConfig
    ignored: dict[str, object]  # keys with no effect on the math, as the file had them
    warnings: list[str]


def _typed(raw: Mapping[str, object], key: str, kind: type, source: str) -> object:
    value = raw.get(key, AUTHORS_DEFAULTS.get(key))
    if value is None:
        return None
    ok = (
        isinstance(value, bool)
        if kind is bool
        else isinstance(value, kind) and not isinstance(value, bool)
    )
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if not ok:
        raise UserError(
            f"{source}: {key} is {value!r}, not a {kind.__name__}; fix the file or re-download it."
        )
    return value


def config_from_openai(
    raw: Mapping[str, object], has_positions: bool, has_logits_bias: bool, source: str
) -> ImportedConfig:
    """Our ModelConfig for their `beeg_config.json` content.

    `has_positions`: the position table is not all zeros (their models without positions
    store zeros); `has_logits_bias`: the state dict has a nonzero `final_logits_bias`.
    """
    if not isinstance(raw, Mapping):
        raise UserError(f"{source} is not a JSON object of model settings; re-download it.")
    warnings: list[str] = []
    raw = dict(raw)
    if "n_mlp" in raw:  # older files' name for d_mlp
        n_mlp = raw.pop("n_mlp")
        if raw.get("d_mlp") not in (None, n_mlp):
            raise UserError(
                f"{source} sets both d_mlp = {raw['d_mlp']!r} and n_mlp = {n_mlp!r}; keep one."
            )
        raw["d_mlp"] = n_mlp
    ints = (
        "block_size",
        "vocab_size",
        "n_layer",
        "n_head",
        "d_model",
        "d_head",
        "d_mlp",
        "d_pos_emb",
    )
    bools = (
        "bias",
        "ln_bias",
        "rms_norm",
        "tied_unembed",
        "enable_bigram_table",
        "learnable_bigram_table",
        "sinusoidal_cat_pos_emb",
        "sink",
    )
    v = {k: _typed(raw, k, int, source) for k in ints}
    v.update({k: _typed(raw, k, bool, source) for k in bools})
    for k in ("activation_type", "residual_activation_type", "afrac_loctypes"):
        v[k] = _typed(raw, k, str, source)
    v["afrac"] = _typed(raw, "afrac", float, source)
    for k in ("block_size", "vocab_size", "n_layer", "n_head", "d_model"):
        if v[k] < 1:
            raise UserError(f"{source}: {k} is {v[k]}; it must be a positive integer.")
    n_head, d_model = v["n_head"], v["d_model"]
    d_head = v["d_head"] if v["d_head"] is not None else d_model // n_head
    d_mlp = v["d_mlp"] if v["d_mlp"] is not None else 4 * d_model
    acts = {"gelu": "gelu", "relu": "relu"}
    if v["activation_type"] not in acts:
        raise UserError(
            f"{source}: activation_type {v['activation_type']!r} is not gelu or relu; this format has no other."
        )
    if v["residual_activation_type"] not in ("identity", "relu"):
        raise UserError(
            f"{source}: residual_activation_type {v['residual_activation_type']!r} is not identity or relu."
        )
    afrac = v["afrac"]
    if afrac is not None and not 0 < afrac <= 1:
        raise UserError(f"{source}: afrac is {afrac}; it must be in (0, 1] or null.")
    sites: list[str] = []
    for name in (s.strip() for s in str(v["afrac_loctypes"]).split(",")):
        if not name:
            continue
        if name in LOCTYPES:
            sites.append(LOCTYPES[name])
        else:  # their code matches names exactly, so an unknown one never applies
            warnings.append(f"afrac_loctypes names {name!r}, which no site has; it is ignored")
    d_pos = v["d_pos_emb"]
    positions = "cat" if d_pos else ("add" if has_positions else "none")
    model = ModelConfig(
        vocab_size=v["vocab_size"],
        block_size=v["block_size"],
        n_layer=v["n_layer"],
        d_model=d_model,
        d_head=d_head,
        n_head=n_head,
        d_mlp=d_mlp,
        norm="rms" if v["rms_norm"] else "layer",
        ln_bias=bool(v["ln_bias"]),
        bias=bool(v["bias"]),
        tied_embeddings=bool(v["tied_unembed"]),
        positions=positions,
        d_pos_emb=d_pos or None,
        sinusoidal_pos_emb=bool(v["sinusoidal_cat_pos_emb"]) and bool(d_pos),
        bigram_table=bool(v["enable_bigram_table"]),
        learnable_bigram=bool(v["learnable_bigram_table"]),
        final_logits_bias=has_logits_bias,
        sink=bool(v["sink"]),
        activation=acts[v["activation_type"]],
        residual_activation=v["residual_activation_type"],
        afrac=afrac,
        topk_sites=tuple(sites) if afrac is not None else (),
    )
    ignored = {k: val for k, val in raw.items() if k not in AUTHORS_DEFAULTS}
    unknown = sorted(k for k in ignored if k not in RUNTIME_KEYS)
    if unknown:
        warnings.append(
            "keys with no effect on the forward pass were kept in the run's provenance, not "
            f"used: {', '.join(unknown)}"
        )
    return ImportedConfig(model=model, ignored=ignored, warnings=warnings)


def config_to_openai(config: ModelConfig) -> dict[str, object]:
    """Their `beeg_config.json` content for our ModelConfig; UserError for what the format cannot hold."""
    if config.d_model % config.n_head:
        raise UserError(
            f"the authors' loader requires d_model ({config.d_model}) to be a multiple of n_head "
            f"({config.n_head}); this model cannot be exported to their format."
        )
    ours_to_theirs = {ours: theirs for theirs, ours in LOCTYPES.items()}
    return {
        "block_size": config.block_size,
        "vocab_size": config.vocab_size,
        "n_layer": config.n_layer,
        "n_head": config.n_head,
        "d_model": config.d_model,
        "d_head": config.d_head,
        "d_mlp": config.d_mlp,
        "bias": config.bias,
        "ln_bias": config.ln_bias,
        "rms_norm": config.norm == "rms",
        "activation_type": config.activation,
        "residual_activation_type": config.residual_activation,
        "afrac": config.afrac,
        "afrac_loctypes": ",".join(ours_to_theirs[s] for s in config.topk_sites),
        "tied_unembed": config.tied_embeddings,
        "enable_bigram_table": config.bigram_table,
        "learnable_bigram_table": config.learnable_bigram,
        "d_pos_emb": config.d_pos_emb,
        "sinusoidal_cat_pos_emb": config.sinusoidal_pos_emb,
        "sink": config.sink,
        "flash": True,
        "tokenizer_name": "tokenizer.json of the sparsecircuits run",
    }


def _all_zero(t: torch.Tensor) -> bool:
    return not bool(torch.count_nonzero(t))


def inspect_state(state: Mapping[str, torch.Tensor], d_pos_emb: object) -> tuple[bool, bool]:
    """(has positions, has a logits bias): what the config needs to know from the weights."""
    wpe = state.get(WPE)
    has_positions = wpe is not None and not d_pos_emb and not _all_zero(wpe)
    bias = state.get(LOGITS_BIAS)
    return has_positions, bias is not None and not _all_zero(bias)


def expected_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every key of our state dict for `config` and its shape (built on the meta device: no memory)."""
    with torch.device("meta"):
        model = SparseGPT(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def state_from_openai(
    state: Mapping[str, torch.Tensor], config: ModelConfig, source: str
) -> dict[str, torch.Tensor]:
    """Their state dict as ours (float32), strictly: every other missing, unexpected or
    mis-shaped key is named in one UserError. Tensors are converted one at a time and are
    views of the (memory-mapped) source wherever no conversion is needed."""
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(t, torch.Tensor) for k, t in state.items()
    ):
        raise UserError(
            f"{source} is not a plain state dict (a mapping of names to tensors); save the model's "
            "state_dict(), not the model object or a training checkpoint."
        )
    want = expected_shapes(config)
    problems: list[str] = []
    out: dict[str, torch.Tensor] = {}
    for key, t in state.items():
        if key in want and tuple(t.shape) != want[key]:
            problems.append(f"{key} has shape {tuple(t.shape)}, the config implies {want[key]}")
            out[key] = t  # present, so not also reported missing
            continue
        mask = _MASK_KEY.fullmatch(key)
        if mask and key not in want:  # the causal mask buffer of non-flash attention
            bs = config.block_size
            if int(mask.group(1)) >= config.n_layer or tuple(t.shape) != (1, 1, bs, bs):
                problems.append(f"{key} {tuple(t.shape)} is not a causal mask [1, 1, {bs}, {bs}]")
            continue
        if key == WPE and config.positions == "none":
            continue  # all zeros: a model without positions (inspect_state decided)
        if key == LM_HEAD and config.tied_embeddings:
            wte = state.get(WTE)
            if wte is None or wte.shape != t.shape or not torch.equal(wte, t):
                problems.append(f"{LM_HEAD} differs from {WTE} although tied_unembed is true")
            continue
        if key == LOGITS_BIAS and not config.final_logits_bias:
            continue  # all zeros, the same as no bias
        if key not in want:
            problems.append(f"unexpected key {key}")
            continue
        if not t.is_floating_point():
            problems.append(f"{key} holds {t.dtype}, not floating-point numbers")
        out[key] = t if t.dtype == torch.float32 else t.to(torch.float32)
    problems = [f"missing key {k}" for k in want if k not in out] + problems
    if problems:
        raise UserError(
            f"{source} does not match its config ({'; '.join(problems)}); re-download both files "
            "of the model, or fix beeg_config.json."
        )
    return {k: out[k] for k in want}  # our key order


def state_to_openai(model: SparseGPT) -> dict[str, torch.Tensor]:
    """Our model's state dict as theirs: what their loader builds for the exported config."""
    config = model.config
    ours = {
        k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()
    }
    out: dict[str, torch.Tensor] = {}
    for key, t in ours.items():
        out[key] = t
        if key == WTE and config.positions == "none":
            out[WPE] = torch.zeros(config.block_size, config.d_model)
    if config.tied_embeddings:
        out[LM_HEAD] = ours[WTE]
    if LOGITS_BIAS not in out:
        out[LOGITS_BIAS] = torch.zeros(config.vocab_size)
    return out
