"""Benchmark: bf16 and fp32 training of one config agree (held-out loss after 1,000 steps).

Trains `configs/recipe.toml` on --corpus twice, with train.autocast_bf16 true (bf16 on a CPU
with native bf16) and false (fp32), and records both runs' held-out loss curves and the
relative difference at the end (the goal: within 2%).

    .venv/bin/python benchmarks/precision_agreement.py --corpus data/code
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from sparsecircuits.fileio import atomic_write_json
from sparsecircuits.train import checkpoint as ckpt
from sparsecircuits.train.config import load_config
from sparsecircuits.train.loop import train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/recipe.toml")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--runs", type=Path, default=Path("runs/precision"))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/precision_agreement.json"))
    args = ap.parse_args()
    result = {}
    for name, bf16 in (("bf16", True), ("fp32", False)):
        cfg = load_config(
            args.config, [f"train.corpus={args.corpus}", f"train.autocast_bf16={str(bf16).lower()}"]
        )
        out = args.runs / name
        t0 = time.perf_counter()
        if not ckpt.is_finished(out, cfg.train.steps):
            train(cfg, out, resume=out.exists())  # an interrupted run continues
        rows = [
            json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()
        ]
        result[name] = {
            "precision": load_config(out / "config.toml").train.precision,
            "steps": cfg.train.steps,
            "val_loss": [(r["step"], round(r["val_loss"], 4)) for r in rows if "val_loss" in r],
            "seconds": round(time.perf_counter() - t0, 1),
        }
    a, b = result["bf16"]["val_loss"][-1][1], result["fp32"]["val_loss"][-1][1]
    atomic_write_json(
        args.out,
        {
            "benchmark": "precision_agreement",
            "command": f"python benchmarks/precision_agreement.py --corpus {args.corpus}",
            "config": args.config,
            "final_val_loss": {"bf16": a, "fp32": b},
            "relative_difference": round(abs(a - b) / b, 4),
            "within_2_percent": abs(a - b) / b <= 0.02,
            "load_average_1_5_15": list(os.getloadavg()),
            "runs": result,
        },
    )
    print(f"bf16 {a:.4f}  fp32 {b:.4f}  relative difference {abs(a - b) / b:.2%}")


if __name__ == "__main__":
    main()
