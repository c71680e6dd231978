"""Benchmark: seconds to prune one task with 1 and with 2 threads, the machine idle or busy.

Run it once on an idle machine and once while another process keeps both cores busy (it
records the 1-minute load average, so the two are told apart); each run appends its rows to
--out. The default thread count of `prune` (1) comes from this measurement.

    .venv/bin/python benchmarks/bench_threads.py --label idle --out benchmarks/results/threads.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sparsecircuits.fileio import atomic_write_json


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", default="src/sparsecircuits/bundled/zoo-sparse")
    p.add_argument("--corpus", default="data/stdlib-zoo")
    p.add_argument("--task", default="single_double_quote")
    p.add_argument("--label", required=True, help="e.g. idle or busy")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    old = json.loads(args.out.read_text()) if args.out.is_file() else {"rows": []}
    for n in [int(x) for x in args.threads.split(",")]:
        with tempfile.TemporaryDirectory() as out:
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            cmd = ["prune", args.run, "--task", args.task, "--corpus", args.corpus, "--out", out]
            cmd += ["--threads", str(n), "--no-deltas"]
            subprocess.run(
                [sys.executable, "-m", "sparsecircuits", *cmd], check=True, capture_output=True
            )
            secs = time.perf_counter() - t0
            nodes = json.loads((Path(out) / f"{args.task}.json").read_text())["counts"]["nodes"]
        row = {
            "label": args.label,
            "threads": n,
            "seconds": round(secs, 1),
            "nodes": nodes,
            "load_average_1min_before": round(load, 2),
            "cpu_count": os.cpu_count(),
        }
        print(json.dumps(row), flush=True)
        old["rows"].append(row)
    old["command"] = "sparsecircuits prune RUN --task TASK --corpus CORPUS --threads N --no-deltas"
    old["run"], old["task"] = args.run, args.task
    atomic_write_json(args.out, old)


if __name__ == "__main__":
    main()
