"""Benchmark: where a training step's time goes (torch profiler), by operator, in one precision.

The model's forward, loss, backward and AdamW on random tokens of a config's batch shape, after
warm-up, on both cores; records each operator's share of the self CPU time.

    .venv/bin/python benchmarks/profile_step.py --config configs/zoo2-sparse.toml --precision bf16
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from sparsecircuits.fileio import atomic_write_json
from sparsecircuits.train import precision as prec
from sparsecircuits.train.config import load_config
from sparsecircuits.train.loop import build_model

MATMULS = ("aten::mm", "aten::addmm", "aten::bmm")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/zoo2-sparse.toml")
    ap.add_argument("--precision", choices=["bf16", "fp32"], default="bf16")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/profile_step.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    model = build_model(cfg)
    t = cfg.train
    x = torch.randint(0, cfg.model.vocab_size, (t.batch_size, t.seq_len + 1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    cpu = torch.device("cpu")

    def step() -> None:
        with prec.autocast(cpu, args.precision):
            logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.float().flatten(0, 1), x[:, 1:].flatten())
        loss.backward()
        opt.step()
        opt.zero_grad()

    for _ in range(3):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as p:
        for _ in range(args.steps):
            step()
    rows = sorted(p.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in rows)
    shares = {e.key: round(e.self_cpu_time_total / total, 4) for e in rows[:20]}
    matmul = round(sum(e.self_cpu_time_total for e in rows if e.key in MATMULS) / total, 4)
    atomic_write_json(
        args.out,
        {
            "benchmark": "profile_step",
            "command": " ".join(["python", "benchmarks/profile_step.py", *sys.argv[1:]]),
            "config": args.config,
            "precision": args.precision,
            "ms_per_step": round(total / 1000 / args.steps, 1),
            "matmul_share": matmul,
            "self_cpu_share_top20": shares,
            "load_average_1_5_15": list(os.getloadavg()),
        },
    )
    print(f"{total / 1000 / args.steps:.1f} ms/step; matrix products {matmul:.0%}")
    for k, v in list(shares.items())[:8]:
        print(f"  {k:40s} {v:.1%}")


if __name__ == "__main__":
    main()
