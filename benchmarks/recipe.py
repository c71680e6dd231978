"""Benchmark: which corpus teaches code best, at one small shape and one equal token budget.

Trains `configs/recipe.toml` on each candidate corpus (same tokenizer, same steps and tokens) and
records, per recipe: the held-out loss on one validation shard every recipe shares (the
code-dense real code's val split: the same documents, stripped, in every mix), the mean held-out
task loss over the twenty tasks and the tasks at <= 0.15 (pruning's 32-token prompts, 512 pairs).

    .venv/bin/python benchmarks/recipe.py --recipe real=data/real --recipe code=data/code \
        --recipe code+syn25=data/mix --recipe code+syn50=data/mix50 --shared-val data/code
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from sparsecircuits.core.evaluate import evaluate_task
from sparsecircuits.corpus import BatchSampler, TokenData
from sparsecircuits.fileio import atomic_write_json
from sparsecircuits.tasks import get_task, task_names
from sparsecircuits.train import checkpoint as ckpt
from sparsecircuits.train import load_run
from sparsecircuits.train.config import load_config
from sparsecircuits.train.distributed import DistInfo
from sparsecircuits.train.loop import EVAL_SEED_OFFSET, evaluate, train

TARGET = 0.15


def shared_val_loss(run_dir: Path, corpus: Path, batches: int) -> float:
    """Held-out loss of a run on the val split of `corpus`, on the trainer's fixed eval batches."""
    run = load_run(run_dir)
    t = run.config.train
    data = TokenData(corpus, "val")
    sampler = BatchSampler(data, t.batch_size, t.seq_len, t.seed + EVAL_SEED_OFFSET, 0, 1)
    info = DistInfo(0, 1, 0, torch.device("cpu"), initialized_here=False)
    return evaluate(run.model, sampler, batches, torch.device("cpu"), info, "fp32")[0]


def task_losses(run_dir: Path, n: int) -> dict[str, float]:
    run = load_run(run_dir)
    return {
        name: evaluate_task(run.model, get_task(name), run.tokenizer, n=n, max_len=32)["loss"]
        for name in task_names()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", action="append", required=True, metavar="NAME=CORPUS")
    ap.add_argument(
        "--shared-val", type=Path, required=True, help="corpus whose val split all share"
    )
    ap.add_argument("--config", default="configs/recipe.toml")
    ap.add_argument("--runs", type=Path, default=Path("runs/recipe"))
    ap.add_argument("--pairs", type=int, default=512)
    ap.add_argument("--val-batches", type=int, default=64)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/recipe.json"))
    args = ap.parse_args()
    rows = []
    for spec in args.recipe:
        name, corpus = spec.split("=", 1)
        config = load_config(args.config, [f"train.corpus={corpus}"])
        out = args.runs / name
        t0 = time.perf_counter()
        if not ckpt.is_finished(out, config.train.steps):
            train(config, out, resume=out.exists())  # an interrupted run continues
        seconds = time.perf_counter() - t0
        losses = task_losses(out, args.pairs)
        row = {
            "recipe": name,
            "corpus": corpus,
            "train_tokens": config.train.steps * config.train.batch_size * config.train.seq_len,
            "shared_val_loss": round(shared_val_loss(out, args.shared_val, args.val_batches), 4),
            "mean_task_loss": round(sum(losses.values()) / len(losses), 4),
            "tasks_at_target": sorted(k for k, v in losses.items() if v <= TARGET),
            "task_losses": {k: round(v, 4) for k, v in losses.items()},
            "train_seconds": round(seconds, 1),
        }
        rows.append(row)
        print(
            f"{name:<14} val {row['shared_val_loss']:.4f}  mean task loss "
            f"{row['mean_task_loss']:.4f}  tasks <= {TARGET}: {len(row['tasks_at_target'])}",
            flush=True,
        )
    atomic_write_json(
        args.out,
        {
            "benchmark": "recipe",
            "command": "python benchmarks/recipe.py "
            + " ".join(f"--recipe {r}" for r in args.recipe)
            + f" --shared-val {args.shared_val}",
            "config": args.config,
            "shared_val": f"{args.shared_val} (val split)",
            "pairs_per_task": args.pairs,
            "prompt_tokens": 32,
            "load_average_1_5_15": list(os.getloadavg()),
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
