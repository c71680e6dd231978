"""A hand-built SparseGPT whose toy task is carried by a known set of 7 nodes (6 edges).

Task: prompts `[X, fillers...]` with X in {A_IN, B_IN}; the model must answer OUT_A after
A_IN and OUT_B after B_IN. Both prompts of a pair end with the same filler, so the answer
must be copied from the first position. Path: attn.act_in:0 (X's sign) -> attn.v:0 ->
uniform causal attention -> attn.resid_delta:2 -> mlp.act_in:2 -> mlp.post_act:0 and :1
(a GELU pair) -> mlp.resid_delta:3 -> unembedding. Every other node is zero or unread.
"""

import random

import torch

from sparsecircuits.model import ModelConfig, SparseGPT
from sparsecircuits.tasks import Pair

A_IN, B_IN, OUT_A, OUT_B = 1, 2, 4, 5
FILLERS = (3, 6, 7)
PLANTED = [
    "0.attn.act_in:0",
    "0.attn.v:0",
    "0.attn.resid_delta:2",
    "0.mlp.act_in:2",
    "0.mlp.post_act:0",
    "0.mlp.post_act:1",
    "0.mlp.resid_delta:3",
]
PLANTED_EDGES = 6


def planted_model() -> SparseGPT:
    """The hand-set model (no AbsTopK, no biases, no sink, no bigram table)."""
    cfg = ModelConfig(
        vocab_size=8, block_size=16, n_layer=1, d_model=8, d_head=4, d_mlp=8, afrac=None,
        bias=False, sink=False, bigram_table=False,
    )  # fmt: skip
    m = SparseGPT(cfg)
    blk = m.transformer.h[0]
    with torch.no_grad():
        for p in m.parameters():
            if p.dim() == 2:
                p.zero_()
        wte = m.transformer.wte.weight
        wte[A_IN, 0], wte[B_IN, 0] = 1.0, -1.0  # channel 0: which class
        for j, f in enumerate(FILLERS):
            wte[f, 1 + 3 * j if j else 1] = 1.0  # fillers on channels 1, 4, 7
        wte[OUT_A, 5], wte[OUT_B, 6] = 1.0, 1.0
        w = cfg.n_head * cfg.d_head
        blk.attn.c_attn.weight[2 * w + 0, 0] = 1.0  # act_in:0 -> v:0 (q, k zero: uniform attention)
        blk.attn.c_proj.weight[2, 0] = 1.0  # v:0 -> resid_delta:2
        blk.mlp.c_fc.weight[0, 2] = 3.0  # mlp.act_in:2 -> post_act:0 (fires for A)
        blk.mlp.c_fc.weight[1, 2] = -3.0  # mlp.act_in:2 -> post_act:1 (fires for B)
        blk.mlp.c_proj.weight[3, 0] = 1.0  # post_act:0 -> resid_delta:3
        blk.mlp.c_proj.weight[3, 1] = -1.0  # post_act:1 -> resid_delta:3
        m.lm_head.weight[OUT_A, 3], m.lm_head.weight[OUT_B, 3] = (
            0.6,
            -0.6,
        )  # loss ~0.04: not saturated
    return m.eval()


def planted_pairs(n: int, seed: int) -> list[Pair]:
    """`n` toy pairs: [A_IN or B_IN] followed by 2..7 fillers."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        fill = [rng.choice(FILLERS) for _ in range(rng.randint(2, 7))]
        out.append(Pair([A_IN, *fill], [B_IN, *fill], OUT_A, OUT_B))
    return out


def corpus_windows(n_seq: int = 32, seq_len: int = 16, seed: int = 0):
    """Random token windows standing in for held-out corpus text (for mean activations)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 8, (n_seq, seq_len), generator=g).numpy()


# ---- the trap: a circuit that works only against a constant background -----------------------
# Two extra tokens, NOISE_P and NOISE_N, occur only in corpus text; each writes its own residual
# channel d8 / d9, and the GELU pair reads +-W * (d8 - d9): since gelu(y) - gelu(-y) = y, that
# adds W * (d8 - d9) to the A-vs-B logit difference. On task prompts (no noise tokens) it is 0;
# with both channels mean-ablated it is W * (mean_8 - mean_9) = 0 too (the corpus holds both
# tokens equally), so the planted 7 nodes suffice under mean ablation and keeping one guard
# alone only hurts. Resampled, a random corpus position makes it +-W * 3.2: half the prompts
# flip, and the planted circuit fails. A faithful circuit keeps both mlp.act_in:8 and :9.
NOISE_P, NOISE_N = 8, 9
TRAP_GUARDS = ["0.mlp.act_in:8", "0.mlp.act_in:9"]


def trap_model(w: float = 5.0) -> SparseGPT:
    """The planted model on 10 channels and 10 tokens, plus the noise channels' pull on the MLP."""
    base = planted_model()
    cfg = ModelConfig(
        vocab_size=10, block_size=16, n_layer=1, d_model=10, d_head=4, n_head=2, d_mlp=8,
        afrac=None, bias=False, sink=False, bigram_table=False,
    )  # fmt: skip
    m = SparseGPT(cfg)
    with torch.no_grad():
        for name, p in m.named_parameters():
            src = dict(base.named_parameters()).get(name)
            if p.dim() == 2:
                p.zero_()
                if src is not None:
                    p[: src.shape[0], : src.shape[1]] = src
        m.transformer.wte.weight[NOISE_P, NOISE_P] = 1.0
        m.transformer.wte.weight[NOISE_N, NOISE_N] = 1.0
        fc = m.transformer.h[0].mlp.c_fc.weight
        fc[0, NOISE_P], fc[0, NOISE_N] = w, -w
        fc[1, NOISE_P], fc[1, NOISE_N] = -w, w
    return m.eval()


def noise_windows(n_seq: int = 32, seq_len: int = 16, seed: int = 0):
    """Corpus stand-in for the trap: only the two noise tokens, exactly half each per window (so
    their channels' means are equal and the mean background adds no offset)."""
    g = torch.Generator().manual_seed(seed)
    half = torch.tensor([NOISE_P, NOISE_N]).repeat_interleave(seq_len // 2)
    return torch.stack([half[torch.randperm(seq_len, generator=g)] for _ in range(n_seq)]).numpy()
