"""Informal micro-benchmark: SparseGPT forward with no interventions vs. a hook-free copy.

The hook-free ("plain") forward reuses the same modules and weights but its attention, MLP
and block forwards call no site modules at all, so the difference is the cost of the
parameter-free `Site` modules (one call each, an empty dict lookup) when nothing is active. Also times one identity intervention at every site, for scale.
Prints results and records them to benchmarks/results/intervene_overhead.json.

    .venv/bin/python benchmarks/bench_intervene.py [--threads 1] [--repeats 15]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import types
from pathlib import Path

import torch

from sparsecircuits.fileio import atomic_write_json
from sparsecircuits.model import ModelConfig, SparseGPT, abs_topk

BATCH, SEQ = 4, 128


def plain_attn_forward(self, x):
    """CausalSelfAttention.forward without site checks."""
    if self.k_act_in is not None:
        x = abs_topk(x, self.k_act_in)
    q, k, v = self.c_attn(x).split(self.n_head * self.d_head, dim=-1)
    if self.k_q is not None:
        q = abs_topk(q, self.k_q)
    if self.k_k is not None:
        k = abs_topk(k, self.k_k)
    if self.k_v is not None:
        v = abs_topk(v, self.k_v)
    B, T, _ = q.shape
    q, k, v = (t.view(B, T, self.n_head, self.d_head).transpose(1, 2) for t in (q, k, v))
    y = self.attn_imp(q, k, v, self.scale)
    y = self.c_proj(y.transpose(1, 2).reshape(B, T, self.n_head * self.d_head))
    if self.k_out is not None:
        y = abs_topk(y, self.k_out)
    return y


def plain_mlp_forward(self, x):
    """MLP.forward without site checks."""
    if self.k_act_in is not None:
        x = abs_topk(x, self.k_act_in)
    x = self.act(self.c_fc(x))
    if self.k_post is not None:
        x = abs_topk(x, self.k_post)
    x = self.c_proj(x)
    if self.k_out is not None:
        x = abs_topk(x, self.k_out)
    return x


def plain_block_forward(self, x, pos=None):
    """Block.forward without site checks (no positions, identity residual activation)."""
    x = x + self.attn(self.ln_1(x))
    return x + self.mlp(self.ln_2(x))


def make_plain(model: SparseGPT) -> SparseGPT:
    """A copy of `model` sharing its weights whose sublayers skip every site check."""
    c = model.config
    assert c.positions == "none" and c.residual_activation == "identity" and c.sink
    plain = SparseGPT(c)
    plain.load_state_dict(model.state_dict())
    for block in plain.transformer.h:
        block.forward = types.MethodType(plain_block_forward, block)
        block.attn.forward = types.MethodType(plain_attn_forward, block.attn)
        block.mlp.forward = types.MethodType(plain_mlp_forward, block.mlp)
    return plain


def time_interleaved(cases: dict, repeats: int) -> dict[str, list[float]]:
    """Wall seconds per call of each case, calls interleaved so machine noise hits all alike."""
    for fn in cases.values():
        fn()  # warm-up
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            t = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t)
    return samples


def main() -> None:
    """Run the benchmark and record it."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "intervene_overhead.json")
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = ModelConfig(n_layer=4, d_model=128, block_size=128)
    model = SparseGPT(cfg, seed=0).eval()
    plain = make_plain(model).eval()
    idx = torch.randint(0, cfg.vocab_size, (BATCH, SEQ), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(model(idx), plain(idx))  # same math

    identity = {name: (lambda x: x) for name in model.site_names()}

    def hooked():
        with model.intervene(identity):
            model(idx)

    cases = {
        "plain": lambda: plain(idx),
        "no_interventions": lambda: model(idx),
        "identity_at_every_site": hooked,
    }
    with torch.no_grad():
        samples = time_interleaved(cases, args.repeats)
    medians = {k: statistics.median(v) * 1000 for k, v in samples.items()}
    overhead = 100 * (medians["no_interventions"] / medians["plain"] - 1)
    result = {
        "benchmark": "forward time (ms, median) of SparseGPT with no interventions vs a hook-free copy",
        "model": {
            "n_layer": 4,
            "d_model": 128,
            "batch": BATCH,
            "seq_len": SEQ,
            "afrac": cfg.afrac,
            "sink": cfg.sink,
        },
        "median_ms": {k: round(v, 3) for k, v in medians.items()},
        "no_intervention_overhead_percent": round(overhead, 2),
        "threads": args.threads,
        "repeats_per_case": args.repeats,
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}, torch {torch.__version__}",
    }
    for k, v in medians.items():
        print(f"{k:>24}: {v:8.3f} ms")
    print(f"overhead of the site checks with nothing active: {overhead:+.2f}%")
    atomic_write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
