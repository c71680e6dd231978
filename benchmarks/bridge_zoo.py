"""Collect the bridged zoo model's measurements into benchmarks/results/bridge_zoo.json.

It reads what the commands in COMMANDS wrote (the two runs' metrics.jsonl, `bridge eval --out`,
`bridge steer`, `tasks eval`) and records them with the machine; it trains nothing itself (the
two trainings take about an hour on this project's 2-core machine):

    python benchmarks/bridge_zoo.py --eval runs/bridge-eval.json \
        --steer circuits-bridge/steer/single_double_quote_NODE.json --out benchmarks/results/bridge_zoo.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from pathlib import Path

COMMANDS = [
    "OMP_NUM_THREADS=1 nice -n 10 sparsecircuits bridge train configs/bridge-zoo.toml "
    "--dense src/sparsecircuits/bundled/zoo-dense-d32 --out runs/bridge-zoo --threads 1",
    "OMP_NUM_THREADS=1 nice -n 10 sparsecircuits train configs/bridge-zoo.toml "
    "--out runs/bridge-zoo-unbridged --threads 1",
    "sparsecircuits bridge eval runs/bridge-zoo --baseline runs/bridge-zoo-unbridged "
    "--batches 16 --out runs/bridge-eval.json",
    "sparsecircuits tasks eval runs/bridge-zoo --task single_double_quote --n 512",
]


def _metrics(run: Path) -> dict:
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]
    last_val = [r for r in rows if "val_loss" in r][-1]
    speeds = [r["tokens_per_s"] for r in rows if "tokens_per_s" in r]
    out = {
        "steps": rows[-1]["step"],
        "val_loss": last_val["val_loss"],
        "val_curve": [[r["step"], round(r["val_loss"], 4)] for r in rows if "val_loss" in r],
        "tokens_per_s_median": round(statistics.median(speeds), 1) if speeds else None,
    }
    last = rows[-1]
    terms = {k: round(v, 4) for k, v in last.items() if k.startswith("loss_")}
    if terms:
        out["last_train_terms"] = terms
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bridged", default="runs/bridge-zoo")
    p.add_argument("--unbridged", default="runs/bridge-zoo-unbridged")
    p.add_argument("--eval", required=True, help="JSON written by `bridge eval --out`")
    p.add_argument("--steer", required=True, action="append", help="JSON of `bridge steer`")
    p.add_argument(
        "--extra", default=None, help="JSON of other facts to record (task losses, notes)"
    )
    p.add_argument("--out", default="benchmarks/results/bridge_zoo.json")
    args = p.parse_args()
    result = {
        "what": "a weight-sparse model trained beside the frozen zoo-dense-d32 with bridges "
        "(docs/bridges.md), against its unbridged twin (same config, steps and seed)",
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "note": "2 cores shared with two other engineers' jobs; each training on one "
            "thread at nice 10, both at once",
        },
        "commands": COMMANDS,
        "bridged": _metrics(Path(args.bridged)),
        "unbridged": _metrics(Path(args.unbridged)),
        "eval": json.loads(Path(args.eval).read_text()),
        "steer": [json.loads(Path(s).read_text()) for s in args.steer],
    }
    if args.extra:
        result.update(json.loads(Path(args.extra).read_text()))
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
