"""Mean vs faithful pruning objectives on one model: every check's value and verdict per circuit.

For each task and objective: `prune` (400 mask steps, k_coef per objective), then `validate`
(every check), then one row of the table: nodes, edges, the connectivity pass, the areas under
the faithfulness curves and each check's number and verdict.
Resumable: finished circuit files and checks are reused (pass --fresh to redo them).

    .venv/bin/python benchmarks/faithful_table.py --run src/sparsecircuits/bundled/zoo-sparse \\
        --corpus data/stdlib-zoo --tasks single_double_quote,indent_for,while_return_true \\
        --out benchmarks/results/faithful_zoo-sparse.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sparsecircuits.fileio import atomic_write_json

CHECK_VALUE = {
    "sufficiency": ("loss_mean", "loss_resample"),
    "necessity": ("loss",),
    "stochastic": ("mean", "worst"),
    "binarisation": ("loss",),
    "control_random_init": ("edges", "achieved_loss"),
    "control_shuffled": ("edges", "achieved_loss"),
}


def sh(args: list[str], log: Path) -> None:
    """Run `sparsecircuits ARGS`, output to the log; stop on failure."""
    with open(log, "ab") as f:
        f.write(f"\n$ sparsecircuits {' '.join(args)}\n".encode())
        f.flush()
        code = subprocess.call(
            [sys.executable, "-m", "sparsecircuits", *args], stdout=f, stderr=subprocess.STDOUT
        )
    if code != 0:
        raise SystemExit(f"sparsecircuits {' '.join(args)} failed ({code}); see {log}")


def row(path: Path) -> dict:
    """The table row of one validated circuit file."""
    c = json.loads(path.read_text())
    checks = (c.get("validation") or {}).get("checks", {})
    out = {
        "task": c["task"]["name"],
        "objective": c["ablation"],
        "nodes": c["counts"]["nodes"],
        "edges": c["counts"]["edges"],
        "circuit_loss": round(c["losses"]["circuit"], 4),
        "full_model_loss": round(c["losses"]["full_model"], 4),
        "verdict": (c.get("validation") or {}).get("verdict"),
        "connectivity": c.get("connectivity"),
        "area": (c.get("faithfulness") or {}).get("area"),
        "deviation": (c.get("faithfulness") or {}).get("deviation"),
        "seconds_prune": c["time_seconds"],
    }
    for name, keys in CHECK_VALUE.items():
        rec = checks.get(name)
        if rec is not None:
            out[name] = {"passed": rec["passed"], **{k: rec.get(k) for k in keys}}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--tasks", required=True, help="comma list")
    p.add_argument(
        "--objectives",
        default="mean:0.001,mixture:0.0001",
        help="comma list of OBJECTIVE:K_COEF (default mean:0.001,mixture:0.0001: the faithful "
        "objective needs more nodes, so a smaller node penalty)",
    )
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--work", type=Path, default=None, help="circuit folder (default: beside --out)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--fresh", action="store_true")
    p.add_argument(
        "--binarise-up-to",
        type=int,
        default=400,
        help="run the binarisation check only on circuits of at most this many nodes (it costs "
        "3 forward passes per node: ~1 hour for 1,300 nodes on one CPU thread)",
    )
    args = p.parse_args()
    work = args.work or args.out.with_suffix("")
    work.mkdir(parents=True, exist_ok=True)
    log = work / "log.txt"
    rows = []
    t0 = time.perf_counter()
    objectives = dict(o.split(":") for o in args.objectives.split(","))
    for objective, k_coef in objectives.items():
        folder = work / objective
        for task in args.tasks.split(","):
            prune = [
                "prune",
                args.run,
                "--task",
                task,
                "--out",
                str(folder),
                "--corpus",
                args.corpus,
            ]
            prune += [
                "--ablation",
                objective,
                "--steps",
                str(args.steps),
                "--k-coef",
                k_coef,
            ]
            prune += ["--no-deltas"] + (["--force"] if args.fresh else [])
            sh(prune, log)
            path = folder / f"{task}.json"
            validate = ["validate", str(path), "--corpus", args.corpus]
            nodes = json.loads(path.read_text())["counts"]["nodes"]
            if nodes > args.binarise_up_to:
                validate += ["--checks", "sufficiency,necessity,stochastic,controls"]
            sh(validate + (["--fresh"] if args.fresh else []), log)
            rows.append(row(path))
            if "binarisation" not in rows[-1]:
                rows[-1]["binarisation"] = {
                    "passed": None,
                    "not_run": f"{nodes} nodes > --binarise-up-to {args.binarise_up_to}",
                }
            print(json.dumps(rows[-1]), flush=True)
    atomic_write_json(
        args.out,
        {
            "run": args.run,
            "corpus": args.corpus,
            "prune": {"steps": args.steps, "k_coef": objectives, "node_deltas": False},
            "threads": os.environ.get("OMP_NUM_THREADS"),
            "seconds": round(time.perf_counter() - t0, 1),
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
