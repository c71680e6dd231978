"""Benchmark: seconds to prune one task on a trained run (goal: < 60 s on the tiny-sparse model, 2 cores).

Also measures how stable the mean-activation cache is: the largest change of any node's
mean between two independent samples of the same size, for several sizes.

    .venv/bin/python benchmarks/bench_prune.py --run runs/tiny-sparse --task single_double_quote
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from sparsecircuits.fileio import atomic_write_json


def machine() -> dict:
    """Where the numbers were taken."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": sys.version.split()[0],
    }


def mean_stability(run, sizes: list[int], seq_len: int) -> list[dict]:
    """Max |mean_a - mean_b| over all nodes for two independent samples of each size."""
    from sparsecircuits.corpus import TokenData
    from sparsecircuits.prune.means import _windows, compute_stats

    data = TokenData(run.corpus_dir, "val")
    out = []
    for n in sizes:
        t0 = time.perf_counter()
        m = [
            compute_stats(
                run.model, _windows(data.tokens, data.n_tokens, n, seq_len, s), bank_size=0
            )[0]
            for s in (101, 202)
        ]
        diff = max(float((m[0][k] - m[1][k]).abs().max()) for k in m[0])
        scale = max(float(v.abs().max()) for v in m[0].values())
        out.append(
            {
                "n_tokens": n,
                "max_abs_diff": diff,
                "max_abs_mean": scale,
                "seconds_per_sample": (time.perf_counter() - t0) / 2,
            }
        )
        print(f"means n={n}: max |diff| {diff:.5f} (largest |mean| {scale:.3f})", file=sys.stderr)
    return out


def main() -> None:
    """Run the benchmark and record it in benchmarks/results/prune.json."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", default="runs/tiny-sparse")
    p.add_argument("--task", action="append", default=[])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument(
        "--stability",
        default="16384,65536,131072,262144",
        help="mean sample sizes to compare ('' = skip)",
    )
    p.add_argument("--out", default="benchmarks/results/prune.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from sparsecircuits.prune import PruneConfig
    from sparsecircuits.prune.means import CACHE_NAME
    from sparsecircuits.prune.pipeline import load_stats, prune_task
    from sparsecircuits.train import load_run

    run = load_run(args.run)
    cfg = PruneConfig().with_overrides(args.set)
    result: dict = {
        "machine": machine(),
        "run": args.run,
        "weights_sha256": run.weights_sha256,
        "config": cfg.to_dict(),
    }
    result["model_nodes"] = sum(run.model.site_width(s) for s in run.model.site_names())
    if args.stability:
        sizes = [int(s) for s in args.stability.split(",")]
        result["mean_stability"] = mean_stability(run, sizes, cfg.mean_seq_len)
    cache = Path(args.run) / CACHE_NAME
    if cache.exists():
        cache.unlink()  # time a cold cache once
    t0 = time.perf_counter()
    stats = load_stats(run, cfg)
    result["means_seconds_cold"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    stats = load_stats(run, cfg)
    result["means_seconds_cached"] = round(time.perf_counter() - t0, 3)
    tasks = []
    for name in args.task or ["single_double_quote"]:
        t0 = time.perf_counter()
        try:
            c = prune_task(run, name, cfg, stats=stats)
        except Exception as e:  # record why a task could not be pruned
            tasks.append({"task": name, "error": str(e)})
            print(f"{name}: {e}", file=sys.stderr)
            continue
        secs = time.perf_counter() - t0
        row = {
            "task": name,
            "seconds": round(secs, 2),
            "nodes": c.counts["nodes"],
            "edges": c.counts["edges"],
            **{k: v for k, v in c.losses.items() if k != "calibration"},
            "curve": c.curve,
        }
        tasks.append(row)
        print(
            f"{name}: {secs:.1f} s, {row['nodes']} nodes, {row['edges']} edges, loss {row['circuit']:.4f} (full {row['full_model']:.4f})",
            file=sys.stderr,
        )
    result["tasks"] = tasks
    ok = [t["seconds"] for t in tasks if "seconds" in t]
    result["median_seconds"] = float(np.median(ok)) if ok else None
    result["goal_seconds"] = 60
    result["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    atomic_write_json(args.out, result)
    print(json.dumps({k: result[k] for k in ("median_seconds", "means_seconds_cold")}))


if __name__ == "__main__":
    main()
