"""Same seed, same circuits: prune the demo tasks with 1 and 2 threads, with the C kernels on and off.

Each variant prunes in a child process (`--threads N`, `SPARSECIRCUITS_KERNELS=0|1`); every
variant's circuit files are then compared with the first one's by `compare_circuits.compare`
(nodes, edges, losses, curve). Recorded in benchmarks/results/same_circuits_threads_kernels.json.

    .venv/bin/python benchmarks/same_circuits_threads_kernels.py --run src/sparsecircuits/bundled/tiny-sparse \\
        --corpus data/stdlib-tiny --tasks single_double_quote,indent_for,while_return_true \\
        --out benchmarks/results/same_circuits_threads_kernels.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from compare_circuits import compare

from sparsecircuits.fileio import atomic_write_json

VARIANTS = [(1, "1"), (2, "1"), (1, "0"), (2, "0")]  # (threads, SPARSECIRCUITS_KERNELS)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--tasks", required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="same-circuits-"))
    folders = {}
    for threads, kern in VARIANTS:
        name = f"threads{threads}-kernels{'on' if kern == '1' else 'off'}"
        folder = work / name
        cmd = [sys.executable, "-m", "sparsecircuits", "prune", args.run, "--corpus", args.corpus]
        cmd += ["--out", str(folder), "--threads", str(threads)]
        for t in args.tasks.split(","):
            cmd += ["--task", t]
        env = {**os.environ, "SPARSECIRCUITS_KERNELS": kern}
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        folders[name] = folder
        print(name, "done", flush=True)
    base_name = next(iter(folders))
    result: dict = {
        "run": args.run,
        "tasks": args.tasks.split(","),
        "baseline": base_name,
        "variants": {},
    }
    for name, folder in folders.items():
        per_task = {}
        for t in args.tasks.split(","):
            a = json.loads((folders[base_name] / f"{t}.json").read_text())
            b = json.loads((folder / f"{t}.json").read_text())
            c = compare(a, b)
            per_task[t] = {
                "same": all(c[k] for k in ("nodes", "edges", "losses", "curve")),
                "counts": b["counts"],
            }
        result["variants"][name] = per_task
    result["all_identical"] = all(
        v["same"] for per in result["variants"].values() for v in per.values()
    )
    atomic_write_json(args.out, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
