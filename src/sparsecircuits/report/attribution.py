"""What the report's graph shows beyond the circuit file: logit attribution, attention, prompt traces.

Computed once at report-build time on a few held-out pairs of the circuit's own task (at the
prompt length it was pruned at), in the full model's forward pass (nothing ablated), so the
viewer needs no model.

Direct contribution to the logit difference (the viewer's "direct A-B"). The final norm is
linearised at each prompt's last token: with the final residual x (d_model) and its RMS r,
logit(t) = sum_c x_c * g_c / r * W_U[t, c] + bias + bigram. So the direction
d = g * (W_U[A] - W_U[B]) / r turns any residual write w into its share w . d of
logit(A) - logit(B). A node's direct contribution is its own write along d:
- `resid_delta` channel c: activation * d_c (these add up, with the embedding's share and the
  bias and bigram terms, to the logit difference exactly);
- `mlp.post_act` neuron i: activation * (c_proj[:, i] . d), its write before the block output's
  AbsTopK;
- `attn.v` channel j of head h: (sum_s a_h(s) v_j(s)) * (c_proj[:, j] . d), the value it moves to
  the last token through head h's attention a_h, again before the block output's AbsTopK.
- `act_in`, `q` and `k` nodes write nothing into the residual: no direct contribution (None);
  their effect runs through later nodes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from sparsecircuits.core.nodes import parse_node_id
from sparsecircuits.report.activations import pad_prompts

if TYPE_CHECKING:
    from sparsecircuits.corpus.tokenizer import Tokenizer
    from sparsecircuits.model import SparseGPT
    from sparsecircuits.tasks.base import Pair

N_TRACE_PAIRS = 8  # held-out pairs traced per circuit (16 prompts)
N_INPUT_TOKENS = 5  # tokens shown per embedding channel, each way


def _r(x: float, digits: int = 3) -> float:
    """`x` to `digits` significant digits (the page stays small for 400-node circuits)."""
    if not math.isfinite(x) or x == 0.0:
        return 0.0
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


@dataclass(frozen=True)
class PromptTrace:
    """One prompt at its last token: the model's A-B logit difference and each node's part in it."""

    cls: str  # "pos" (should continue with A) or "neg" (with B)
    tokens: list[str]
    logit_diff: float  # logit(A) - logit(B) of the full model
    acts: dict[str, float]  # node id -> activation at the last token
    direct: dict[str, float]  # node id -> direct contribution to logit(A) - logit(B)


@dataclass(frozen=True)
class HeadPattern:
    """Where one attention head looks from the last token: a weight per earlier token, and the sink."""

    layer: int
    head: int
    weights: list[list[float]]  # per traced prompt: weight on each position 0..last
    sink: list[float]  # per traced prompt: weight on the attention sink (reads nothing)


@dataclass(frozen=True)
class Trace:
    """Everything the viewer's trace, attention and logit views need for one circuit."""

    target_a: str  # the tokens of the first traced pair (a task's pairs usually share them)
    target_b: str
    same_targets: bool  # every traced pair has these two targets
    prompts: list[PromptTrace]  # pos, neg, pos, neg, ... (pairs in order)
    heads: list[HeadPattern]
    logit_weights: dict[str, list[float]]  # resid_delta node -> [g_c W_U[A, c], g_c W_U[B, c]]
    inputs: dict[int, dict[str, list[list[str | float]]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """The payload form (lists and dicts only)."""
        return {
            "target_a": self.target_a,
            "target_b": self.target_b,
            "same_targets": self.same_targets,
            "prompts": [p.__dict__ for p in self.prompts],
            "heads": [h.__dict__ for h in self.heads],
            "logit_weights": self.logit_weights,
            "inputs": {str(k): v for k, v in self.inputs.items()},
        }


def _final_norm_direction(model: SparseGPT, final: Tensor, a: Tensor, b: Tensor) -> Tensor | None:
    """`[N, d_model]` directions d with w . d = w's share of logit(A) - logit(B); None without RMSNorm."""
    ln_f = model.transformer.ln_f
    if not isinstance(ln_f, torch.nn.RMSNorm):
        return None
    eps = ln_f.eps if ln_f.eps is not None else torch.finfo(final.dtype).eps
    rms = torch.sqrt(final.pow(2).mean(-1, keepdim=True) + eps)
    w_u = model.transformer.wte.weight if model.lm_head is None else model.lm_head.weight
    return ln_f.weight * (w_u[a] - w_u[b]) / rms


def _head_weights(
    model: SparseGPT, layer: int, q: Tensor, k: Tensor, last: Tensor
) -> tuple[Tensor, Tensor]:
    """Attention of every head from each prompt's last token: `([N, H, T], sink [N, H])`."""
    attn = model.transformer.h[layer].attn
    n, t, _ = q.shape
    h, dh = attn.n_head, attn.d_head
    rows = torch.arange(n)
    ql = q[rows, last].view(n, h, dh)
    scores = torch.einsum("nhd,nthd->nht", ql, k.view(n, t, h, dh)) * attn.scale
    visible = torch.arange(t)[None, :] <= last[:, None]  # causal: up to the last token
    scores = scores.masked_fill(~visible[:, None, :], -math.inf)
    sink = (
        attn.attn_imp.sink_logit.view(1, h, 1).expand(n, h, 1)
        if attn.attn_imp is not None
        else torch.full((n, h, 1), -math.inf)
    )
    probs = torch.softmax(torch.cat([sink, scores], dim=-1), dim=-1)
    return probs[..., 1:], probs[..., 0]


def _input_tokens(model: SparseGPT, tokenizer: Tokenizer, channels: Sequence[int]) -> dict:
    """Per residual channel, the tokens whose embedding writes the most and the least into it."""
    wte = model.transformer.wte.weight
    out = {}
    for c in sorted(set(channels)):
        col = wte[:, c]
        k = min(N_INPUT_TOKENS, col.numel())
        top, bottom = torch.topk(col, k), torch.topk(-col, k)
        out[c] = {
            "top": [
                [tokenizer.token_text(int(i)), _r(float(v))] for v, i in zip(*top, strict=True)
            ],
            "bottom": [
                [tokenizer.token_text(int(i)), _r(-float(v))] for v, i in zip(*bottom, strict=True)
            ],
        }
    return out


@torch.no_grad()
def trace_circuit(
    model: SparseGPT,
    tokenizer: Tokenizer,
    pairs: Sequence[Pair],
    node_ids: Sequence[str],
    n_pairs: int = N_TRACE_PAIRS,
) -> Trace | None:
    """Attribution, attention patterns and per-prompt traces of `node_ids` on the first `n_pairs`."""
    pairs = list(pairs[:n_pairs])
    if not pairs:
        return None
    prompts, cls = [], []
    for p in pairs:
        prompts += [p.prompt_pos, p.prompt_neg]
        cls += ["pos", "neg"]
    tok_a = torch.tensor([p.target_pos for p in pairs for _ in (0, 1)])
    tok_b = torch.tensor([p.target_neg for p in pairs for _ in (0, 1)])
    tokens, last = pad_prompts(prompts, tokenizer.eot_id)
    device = next(model.parameters()).device
    parsed = [parse_node_id(n) for n in node_ids]
    qkv = ("attn.q", "attn.k", "attn.v")
    heads = sorted({(p.layer, p.index // model.config.d_head) for p in parsed if p.site in qkv})
    v_layers = {p.layer for p in parsed if p.site == "attn.v"}
    attn_layers = sorted({layer for layer, _ in heads} | v_layers)
    final = f"{model.config.n_layer}.resid_pre"
    sites = {p.site_name for p in parsed} | {final}
    for layer in attn_layers:
        sites |= {f"{layer}.attn.q", f"{layer}.attn.k", f"{layer}.attn.v"}
    logits, cache = model.run_with_cache(tokens.to(device), sites=sorted(sites))
    cache = {k: v.float().cpu() for k, v in cache.items()}
    rows = torch.arange(len(prompts))
    logits = logits.float().cpu()[rows, last]
    diff = logits[rows, tok_a] - logits[rows, tok_b]
    d = _final_norm_direction(model, cache[final][rows, last], tok_a, tok_b)
    patterns = {
        layer: _head_weights(model, layer, cache[f"{layer}.attn.q"], cache[f"{layer}.attn.k"], last)
        for layer in attn_layers
    }
    acts: list[dict[str, float]] = [{} for _ in prompts]
    direct: list[dict[str, float]] = [{} for _ in prompts]
    for text, p in zip(node_ids, parsed, strict=True):
        value = cache[p.site_name][rows, last, p.index]
        write = None
        if d is not None and p.site.endswith("resid_delta"):
            write = value * d[:, p.index]
        elif d is not None and p.site == "mlp.post_act":
            col = model.transformer.h[p.layer].mlp.c_proj.weight[:, p.index].float().cpu()
            write = value * (d @ col)
        elif d is not None and p.site == "attn.v":
            h = p.index // model.config.d_head
            w, _ = patterns[p.layer]
            moved = (w[:, h, :] * cache[p.site_name][:, :, p.index]).sum(-1)
            col = model.transformer.h[p.layer].attn.c_proj.weight[:, p.index].float().cpu()
            write = moved * (d @ col)
        for i in range(len(prompts)):
            acts[i][text] = _r(float(value[i]))
            if write is not None:
                direct[i][text] = _r(float(write[i]))
    traces = [
        PromptTrace(
            cls=cls[i],
            tokens=[tokenizer.token_text(t) for t in prompts[i]],
            logit_diff=_r(float(diff[i]), 4),
            acts=acts[i],
            direct=direct[i],
        )
        for i in range(len(prompts))
    ]
    head_patterns = []
    for layer, h in heads:
        w, sink = patterns[layer]
        head_patterns.append(
            HeadPattern(
                layer=layer,
                head=h,
                weights=[
                    [_r(float(x)) for x in w[i, h, : int(last[i]) + 1]] for i in range(len(prompts))
                ],
                sink=[_r(float(sink[i, h])) for i in range(len(prompts))],
            )
        )
    ln_f = model.transformer.ln_f
    w_u = model.transformer.wte.weight if model.lm_head is None else model.lm_head.weight
    g = ln_f.weight.float().cpu() if getattr(ln_f, "weight", None) is not None else None
    a0, b0 = pairs[0].target_pos, pairs[0].target_neg
    logit_weights = {}
    for text, p in zip(node_ids, parsed, strict=True):
        if p.site.endswith("resid_delta") and g is not None:
            logit_weights[text] = [
                _r(float(g[p.index] * w_u[a0, p.index])),
                _r(float(g[p.index] * w_u[b0, p.index])),
            ]
    # act_in channels past d_model are position inputs (positions = "cat"): no embedding there
    d_model = model.config.d_model
    reads = [p.index for p in parsed if p.site.endswith("act_in") and p.index < d_model]
    inputs = _input_tokens(model, tokenizer, reads)
    return Trace(
        target_a=tokenizer.token_text(a0),
        target_b=tokenizer.token_text(b0),
        same_targets=all(p.target_pos == a0 and p.target_neg == b0 for p in pairs),
        prompts=traces,
        heads=head_patterns,
        logit_weights=logit_weights,
        inputs=inputs,
    )
