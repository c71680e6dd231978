"""Benchmark: one training step of sparse training (projection + AbsTopK) vs dense, same shape.

Usage: .venv/bin/python benchmarks/bench_train_step.py [--config configs/tiny-sparse.toml]
       [--steps 60] [--threads 2] [--batch-size B] [--seq-len T] [--repeats 5]
       [--malloc-defaults] [--out benchmarks/results/train_step.json]
--batch-size/--seq-len override the config's (e.g. to time the paper-1x shape on a CPU).
Both variants run in the same process, interleaved step by step, on random tokens; the
reported time is the median per step. A step is forward, backward, gradient RMS clip, AdamW,
and (sparse only) the weight projection at the target fraction. A third variant, dense weights
with AbsTopK on, separates the projection's cost from AbsTopK's. The whole measurement runs in
--repeats fresh processes, one after another; the ratio recorded is their median. Like the
trainer on a CPU, it first makes glibc keep freed memory for reuse (--malloc-defaults: do not).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from sparsecircuits import kernels
from sparsecircuits.fileio import atomic_write_json
from sparsecircuits.memory import reuse_freed_memory
from sparsecircuits.model import SparseGPT
from sparsecircuits.train.config import load_config
from sparsecircuits.train.loop import make_optimizer
from sparsecircuits.train.sparsity import project_to_sparsity

LIMIT = 1.15  # issue 3: sparse/dense step time on this machine


def make_variant(config, sparse: bool, topk: bool | None = None):
    """(model, step function) for the sparse or dense variant of `config` (AbsTopK follows `sparse`
    unless `topk` says otherwise)."""
    from dataclasses import replace

    topk = sparse if topk is None else topk
    mcfg = replace(config.model, afrac=config.model.afrac if topk else None)
    rcfg = replace(config, model=mcfg)
    model = SparseGPT(mcfg, seed=0)
    opt = make_optimizer(model, rcfg)
    params = list(model.parameters())
    max_norm = config.train.grad_rms_clip * math.sqrt(sum(p.numel() for p in params))
    fraction = config.train.target_fraction if sparse else 1.0
    if sparse:
        project_to_sparsity(model, fraction, config.train.min_row_nonzeros, config.train)

    def step(x, y) -> tuple[float, float, float, int]:
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        c0 = time.process_time()
        t0 = time.perf_counter()
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, max_norm, foreach=True)
        opt.step()
        t1 = time.perf_counter()
        project_to_sparsity(model, fraction, config.train.min_row_nonzeros, config.train)
        t2 = time.perf_counter()
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
        return t2 - t0, t2 - t1, time.process_time() - c0, faults

    return model, step


def main() -> None:
    """Run the benchmark and record the result."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/tiny-sparse.toml")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=None, help="override train.batch_size")
    ap.add_argument("--seq-len", type=int, default=None, help="override train.seq_len")
    ap.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="separate processes to run; the ratio recorded is their median (run-to-run spread "
        "on a shared 2-core machine is about +-0.015)",
    )
    ap.add_argument(
        "--malloc-defaults",
        action="store_true",
        help="leave glibc's allocator as it is (the trainer raises its thresholds on a CPU: "
        "sparsecircuits.memory.reuse_freed_memory)",
    )
    ap.add_argument("--out", default="benchmarks/results/train_step.json")
    args = ap.parse_args()
    if args.repeats > 1:
        return _repeat(args)
    torch.set_num_threads(args.threads)
    if not args.malloc_defaults:
        reuse_freed_memory()  # as the trainer does on a CPU
    load_at_start = round(os.getloadavg()[0], 2)
    config = load_config(args.config)
    if args.batch_size is not None:
        config.train.batch_size = args.batch_size
    if args.seq_len is not None:
        config.train.seq_len = args.seq_len
    config.train.validate(config.model.block_size)
    t = config.train
    gen = torch.Generator().manual_seed(0)
    _, sparse_step = make_variant(config, sparse=True)
    _, dense_step = make_variant(config, sparse=False)
    _, topk_step = make_variant(config, sparse=False, topk=True)
    per_rank_batch = t.batch_size
    times = {"sparse": [], "dense": [], "dense_abstopk": [], "projection": []}
    cpu = {"sparse": [], "dense": [], "dense_abstopk": []}
    faults = {"sparse": [], "dense": [], "dense_abstopk": []}
    for i in range(args.warmup + args.steps):
        x = torch.randint(0, config.model.vocab_size, (per_rank_batch, t.seq_len), generator=gen)
        y = torch.randint(0, config.model.vocab_size, (per_rank_batch, t.seq_len), generator=gen)
        # Alternate the order so that neither variant always runs on a "warm" machine.
        order = [("sparse", sparse_step), ("dense", dense_step), ("dense_abstopk", topk_step)]
        if i % 2:
            order.reverse()
        for name, fn in order:
            total, proj, cpu_s, page_faults = fn(x, y)
            if i >= args.warmup:
                times[name].append(total)
                cpu[name].append(cpu_s)
                faults[name].append(page_faults)
                if name == "sparse":
                    times["projection"].append(proj)
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    ratio = med["sparse"] / med["dense"]
    result = {
        "benchmark": "train_step",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "config": args.config,
        "shape": {
            "n_layer": config.model.n_layer,
            "d_model": config.model.d_model,
            "d_head": config.model.d_head,
            "vocab_size": config.model.vocab_size,
            "afrac": config.model.afrac,
            "batch_size": t.batch_size,
            "seq_len": t.seq_len,
            "target_fraction": t.target_fraction,
        },
        "steps_timed": args.steps,
        "threads": args.threads,
        # Whether AbsTopK and the projection ran on the C kernels (sparsecircuits/kernels.py).
        "c_kernels": kernels.usable(torch.zeros(1)),
        "median_step_s": {k: round(v, 5) for k, v in med.items()},
        "sparse_over_dense": round(ratio, 4),
        # Process CPU time per step: less sensitive than wall time to other jobs on a shared machine.
        "median_step_cpu_s": {k: round(v, 5) for k, v in med_cpu.items()},
        "sparse_over_dense_cpu": round(med_cpu["sparse"] / med_cpu["dense"], 4),
        # Minor page faults per step: freed memory mapped again by the OS (see --malloc-defaults).
        "median_page_faults": {k: statistics.median(v) for k, v in faults.items()},
        "malloc_defaults": args.malloc_defaults,
        "dense_abstopk_over_dense_cpu": round(med_cpu["dense_abstopk"] / med_cpu["dense"], 4),
        "limit": LIMIT,
        "passes": ratio <= LIMIT,
        # The weight projection's own cost: sparse vs dense weights, AbsTopK on in both.
        "sparse_over_dense_abstopk": round(med["sparse"] / med["dense_abstopk"], 4),
        # AbsTopK's own cost: dense weights with vs without AbsTopK.
        "dense_abstopk_over_dense": round(med["dense_abstopk"] / med["dense"], 4),
        "tokens_per_s": {
            k: round(t.batch_size * t.seq_len / med[k])
            for k in ("sparse", "dense", "dense_abstopk")
        },
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "load_avg_1m_at_start": load_at_start,
            "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    atomic_write_json(args.out, result)
    print(json.dumps(result, indent=2))


def _repeat(args: argparse.Namespace) -> None:
    """Run the benchmark in `args.repeats` fresh processes one after another; record the median
    sparse/dense ratio, every run's figures, and the spread."""
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            out = Path(tmp) / f"run{r}.json"
            child, skip = [], False
            for a in sys.argv[1:]:  # this command line without --repeats/--out and their values
                if not skip and not a.startswith(("--repeats", "--out")):
                    child.append(a)
                skip = a in ("--repeats", "--out")
            cmd = [sys.executable, __file__, *child, "--repeats", "1", "--out", str(out)]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            runs.append(json.loads(out.read_text()))
            print(
                f"run {r + 1}/{args.repeats}: sparse/dense {runs[-1]['sparse_over_dense']}",
                file=sys.stderr,
            )
    ratios = [run["sparse_over_dense"] for run in runs]
    result = dict(runs[len(runs) // 2])  # machine, shape and config of any run
    result.update(
        command=" ".join([Path(sys.executable).name, *sys.argv]),
        repeats=args.repeats,
        sparse_over_dense=round(statistics.median(ratios), 4),
        sparse_over_dense_runs=ratios,
        sparse_over_dense_min=min(ratios),
        sparse_over_dense_max=max(ratios),
        dense_abstopk_over_dense=round(
            statistics.median(run["dense_abstopk_over_dense"] for run in runs), 4
        ),
        passes=statistics.median(ratios) <= LIMIT,
        per_run=[
            {k: run[k] for k in ("median_step_s", "sparse_over_dense", "date")} for run in runs
        ],
    )
    result["machine"]["load_avg_1m_at_start"] = runs[0]["machine"]["load_avg_1m_at_start"]
    atomic_write_json(args.out, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
