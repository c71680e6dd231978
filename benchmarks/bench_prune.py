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
        "load_average_1min": os.getloadavg()[0],
        "torch": torch.__version__,
        "python": sys.version.split()[0],
    }


def mean_stability(run, sizes: list[int], seq_len: int, split: str) -> list[dict]:
    """How much node means move between two independent random samples of a split, per size."""
    from sparsecircuits.core.stats import _windows, compute_stats
    from sparsecircuits.corpus import TokenData

    data = TokenData(run.corpus_dir, split)
    out = []
    for n in sizes:
        if 2 * n > data.n_tokens:
            print(
                f"means n={n}: skipped, the split has only {data.n_tokens} tokens", file=sys.stderr
            )
            continue
        t0 = time.perf_counter()
        m = [
            compute_stats(
                run.model, _windows(data.tokens, data.n_tokens, n, seq_len, s), bank_size=0
            )[0]
            for s in (101, 202)
        ]
        d = torch.cat([(m[0][k] - m[1][k]).abs() for k in m[0]])
        row = {
            "n_tokens": n,
            "max_abs_diff": float(d.max()),
            "p99_abs_diff": float(d.quantile(0.99)),
            "median_abs_diff": float(d.median()),
            "frac_nodes_within_1e-3": float((d <= 1e-3).float().mean()),
            "seconds_per_sample": round((time.perf_counter() - t0) / 2, 2),
        }
        out.append(row)
        print(f"means n={n}: {row}", file=sys.stderr)
    return out


def components(run, stats, cfg, task: str) -> dict:
    """Median seconds of one mask-training step, one held-out evaluation and one node-delta evaluation."""
    from sparsecircuits.core.ablation import Ablator
    from sparsecircuits.core.evaluate import evaluate
    from sparsecircuits.core.nodes import site_widths
    from sparsecircuits.prune.optimize import train_masks
    from sparsecircuits.tasks import TaskBatch, get_task

    model, tok = run.model, run.tokenizer
    t = get_task(task)
    train_pairs = t.pairs(tok, cfg.n_train, "train", cfg.seed, cfg.max_len)
    held = t.pairs(tok, cfg.n_heldout, "heldout", cfg.seed, cfg.max_len)
    widths = site_widths(model)
    ab = Ablator.of(cfg.ablation, stats)
    train_masks(model, train_pairs, tok.eot_id, widths, ab, cfg.replace(steps=2), progress=False)
    t0 = time.perf_counter()  # after a warm-up, as in a real run
    train_masks(model, train_pairs, tok.eot_id, widths, ab, cfg.replace(steps=20), progress=False)
    step = (time.perf_counter() - t0) / 20
    half = {s: torch.arange(w) % 2 == 0 for s, w in widths.items()}

    def timed(pairs) -> float:
        b = TaskBatch.from_pairs(pairs, tok.eot_id).crop()
        ts = []
        evaluate(model, b, half, ab, chunk=cfg.eval_batch_size)  # warm-up
        for _ in range(3):
            t1 = time.perf_counter()
            evaluate(model, b, half, ab, chunk=cfg.eval_batch_size)
            ts.append(time.perf_counter() - t1)
        return float(np.median(ts))

    out = {
        "mask_step_seconds": round(step, 4),
        "heldout_eval_seconds": round(timed(held), 4),
        "delta_eval_seconds": round(timed(held[: cfg.delta_pairs]), 4),
        "mean_prompt_tokens": float(np.mean([len(p.prompt_pos) for p in held])),
    }
    # a bisection over ~5.6k nodes takes about 2 * log2(n) evaluations; deltas one per kept node
    out["estimate_seconds_100_node_circuit"] = round(
        cfg.steps * out["mask_step_seconds"]
        + 26 * out["heldout_eval_seconds"]
        + 100 * out["delta_eval_seconds"],
        1,
    )
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
        default="4096,16384",
        help="mean sample sizes to compare, drawn from disjoint val halves ('' = skip)",
    )
    p.add_argument("--out", default="benchmarks/results/prune.json")
    p.add_argument(
        "--note", default="", help="free text stored with the result (e.g. what the run is)"
    )
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from sparsecircuits.core.stats import cache_file
    from sparsecircuits.prune import PruneConfig
    from sparsecircuits.prune.pipeline import load_stats, prune_task
    from sparsecircuits.train import load_run

    run = load_run(args.run)
    cfg = PruneConfig().with_overrides(args.set)
    result: dict = {
        "note": args.note,
        "machine": machine(),
        "run": args.run,
        "weights_sha256": run.weights_sha256,
        "config": cfg.to_dict(),
    }
    result["model_nodes"] = sum(run.model.site_width(s) for s in run.model.site_names())
    if args.stability:
        sizes = [int(s) for s in args.stability.split(",")]
        result["mean_stability"] = {
            "split": cfg.mean_split,
            "rows": mean_stability(run, sizes, cfg.mean_seq_len, cfg.mean_split),
        }
    from sparsecircuits.core.stats import corpus_sha256

    assert run.corpus_dir is not None, "the benchmark needs the run's corpus"
    cache = cache_file(run.weights_sha256, corpus_sha256(run.corpus_dir), cfg.stats_settings())
    cache.unlink(missing_ok=True)  # time a cold cache once
    t0 = time.perf_counter()
    stats = load_stats(run, cfg)
    result["means_seconds_cold"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    stats = load_stats(run, cfg)
    result["means_seconds_cached"] = round(time.perf_counter() - t0, 3)
    names = args.task or ["single_double_quote"]
    result["components"] = components(run, stats, cfg, names[0])
    print(f"components: {result['components']}", file=sys.stderr)
    tasks = []
    for name in names:
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
            "nodes": c.counts.nodes,
            "edges": c.counts.edges,
            **{k: v for k, v in vars(c.losses).items() if k != "calibration"},
            "curve": [vars(p) for p in c.curve],
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
    result["machine"]["load_average_1min_end"] = os.getloadavg()[0]
    result["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    atomic_write_json(args.out, result)
    print(json.dumps({k: result[k] for k in ("median_seconds", "means_seconds_cold")}))


if __name__ == "__main__":
    main()
