"""Benchmark: training tokens/s in fp32 and bf16 on this CPU, beside its measured matmul peaks.

One process, both cores, the trainer's own step (forward under the precision's autocast,
backward, RMS clip, AdamW, weight projection), on random tokens; the median of --steps steps
after --warmup. The same run times fp32 and bf16 matrix products at the shapes of the model
(tokens x d_model x 4 d_model and back), so each training rate reads as a fraction of this
machine's peak: model FLOPs per token (6 x the matmul weights, computed dense, + attention) x
tokens/s / matmul rate.

    .venv/bin/python benchmarks/bench_precision.py --out benchmarks/results/precision.json
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from sparsecircuits.fileio import atomic_write_json
from sparsecircuits.memory import reuse_freed_memory
from sparsecircuits.train import precision as prec
from sparsecircuits.train.config import load_config
from sparsecircuits.train.loop import build_model, make_optimizer
from sparsecircuits.train.sparsity import project_to_sparsity


def matmul_rate(m: int, k: int, n: int, dtype: torch.dtype, reps: int = 20) -> float:
    """GFLOP/s of an [m, k] x [k, n] product in `dtype` (median of `reps`)."""
    a, b = torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * m * k * n / statistics.median(times) / 1e9


def train_rate(config_path: str, precision: prec.Precision, steps: int, warmup: int) -> dict:
    cfg = load_config(config_path)
    t = cfg.train
    model = build_model(cfg)
    opt = make_optimizer(model, cfg)
    params = list(model.parameters())
    max_norm = t.grad_rms_clip * math.sqrt(sum(p.numel() for p in params))
    gen = torch.Generator().manual_seed(0)
    cpu = torch.device("cpu")
    times = []
    for i in range(warmup + steps):
        x = torch.randint(0, cfg.model.vocab_size, (t.batch_size, t.seq_len), generator=gen)
        y = torch.randint(0, cfg.model.vocab_size, (t.batch_size, t.seq_len), generator=gen)
        t0 = time.perf_counter()
        with prec.autocast(cpu, precision):
            logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, max_norm, foreach=True)
        opt.step()
        project_to_sparsity(model, t.target_fraction, t.min_row_nonzeros, t)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    m = cfg.model
    matmul = sum(
        p.numel() for n, p in model.named_parameters() if p.dim() == 2 and "bigram" not in n
    )
    flops = 6 * matmul + 12 * m.n_layer * t.seq_len * m.n_head * m.d_head
    rate = t.batch_size * t.seq_len / statistics.median(times)
    tokens = t.batch_size * t.seq_len
    peak = matmul_rate(
        tokens, m.d_model, 4 * m.d_model, torch.bfloat16 if precision == "bf16" else torch.float32
    )
    return {
        "tokens_per_s": round(rate, 1),
        "model_flops_per_token": flops,
        "model_gflops": round(rate * flops / 1e9, 1),
        "matmul_gflops_at_model_shape": round(peak, 1),
        "fraction_of_matmul_peak": round(rate * flops / 1e9 / peak, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", action="append", default=None)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/precision.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    reuse_freed_memory()
    load = list(os.getloadavg())
    rows = []
    for config in args.config or ["configs/zoo2-sparse.toml", "configs/precision-wide.toml"]:
        row = {"config": config}
        for p in ("fp32", "bf16"):
            row[p] = train_rate(config, p, args.steps, args.warmup)
        row["bf16_speedup"] = round(row["bf16"]["tokens_per_s"] / row["fp32"]["tokens_per_s"], 2)
        print(
            config,
            row["fp32"]["tokens_per_s"],
            row["bf16"]["tokens_per_s"],
            row["bf16_speedup"],
            flush=True,
        )
        rows.append(row)
    atomic_write_json(
        args.out,
        {
            "benchmark": "precision",
            "command": " ".join(["python", "benchmarks/bench_precision.py", *sys.argv[1:]]),
            "threads": args.threads,
            "native_bf16": prec.cpu_has_native_bf16(),
            "torch": torch.__version__,
            "load_average_1_5_15_before": load,
            "load_average_1_5_15_after": list(os.getloadavg()),
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
