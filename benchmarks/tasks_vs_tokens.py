"""Benchmark: how the tasks a model solves grow with its training tokens (a curve, a PNG).

Evaluates snapshots of one training run (folders holding model.safetensors, config.toml and
tokenizer.json, named stepN) on all twenty tasks (held-out, pruning's 32-token prompts) and
records per snapshot the tokens seen, the mean task loss and the tasks at <= 0.15.

    .venv/bin/python benchmarks/tasks_vs_tokens.py runs/zoo2-snap/step* runs/zoo2-sparse
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import matplotlib

from sparsecircuits.core.evaluate import evaluate_task
from sparsecircuits.fileio import atomic_write_json
from sparsecircuits.tasks import get_task, task_names
from sparsecircuits.train import load_run

matplotlib.use("Agg")  # files only
import matplotlib.pyplot as plt  # noqa: E402

TARGET = 0.15


def step_of(run: Path) -> int:
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]
    return max(r["step"] for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--pairs", type=int, default=256)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/tasks_vs_tokens.json"))
    args = ap.parse_args()
    rows = []
    for run_dir in args.runs:
        run = load_run(run_dir)
        t = run.config.train
        step = int(run_dir.name[4:]) if run_dir.name.startswith("step") else step_of(run_dir)
        losses = {
            n: evaluate_task(run.model, get_task(n), run.tokenizer, n=args.pairs, max_len=32)[
                "loss"
            ]
            for n in task_names()
        }
        rows.append(
            {
                "run": str(run_dir),
                "step": step,
                "tokens": step * t.batch_size * t.seq_len,
                "mean_task_loss": round(sum(losses.values()) / len(losses), 4),
                "tasks_at_target": sorted(k for k, v in losses.items() if v <= TARGET),
                "task_losses": {k: round(v, 4) for k, v in losses.items()},
            }
        )
        print(
            f"{run_dir}: {rows[-1]['tokens']:,} tokens, {len(rows[-1]['tasks_at_target'])} tasks",
            flush=True,
        )
    rows.sort(key=lambda r: r["tokens"])
    png = args.out.with_suffix(".png")
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [r["tokens"] / 1e6 for r in rows]
    ax.plot(xs, [len(r["tasks_at_target"]) for r in rows], "o-", color="tab:blue")
    ax.set_xlabel("training tokens (millions)")
    ax.set_ylabel(f"tasks at held-out loss <= {TARGET} (of 20)", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(xs, [r["mean_task_loss"] for r in rows], "s--", color="tab:orange")
    ax2.set_ylabel("mean task loss", color="tab:orange")
    ax.set_title("Tasks solved vs training tokens (zoo v2 sparse)")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    atomic_write_json(
        args.out,
        {
            "benchmark": "tasks_vs_tokens",
            "command": "python benchmarks/tasks_vs_tokens.py " + " ".join(map(str, args.runs)),
            "pairs_per_task": args.pairs,
            "prompt_tokens": 32,
            "plot": str(png),
            "load_average_1_5_15": list(os.getloadavg()),
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
