"""Benchmark: import a random-sparse model shaped like the authors' csp_yolo1, then prune one task in it.

csp_yolo1's shape (reference: 12 layers, d_model 1024, 128 heads of 8, d_mlp 4096, vocab 2048;
136,192 nodes) with random weights at `--density`, written in their format by this script.
Each step runs the real CLI in a child process; its wall time and peak resident memory are
recorded (VmHWM of the child's own program, read at its exit: `ru_maxrss` would include this
parent's memory, which a child inherits), next to the peak of an interpreter that only imports
sparsecircuits and torch. A random model solves no task, so pruning runs with
a loose --target-loss: the time is what a user pays per task, the circuit means nothing.

    .venv/bin/python benchmarks/bench_import_openai.py --out benchmarks/results/import_openai_yolo1.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import torch

from sparsecircuits.fileio import atomic_write_json

YOLO1 = {
    "n_layer": 12,
    "d_model": 1024,
    "n_head": 128,
    "d_head": 8,
    "d_mlp": 4096,
    "vocab_size": 2048,
    "block_size": 1024,
    "rms_norm": True,
    "sink": True,
    "enable_bigram_table": True,
    "learnable_bigram_table": True,
    "afrac": 0.25,
    "afrac_loctypes": "attn_in,attn_out,mlp_in,mlp_out",
    "tied_unembed": False,
}
STDLIB_SAMPLE = ["argparse.py", "ast.py", "dataclasses.py", "csv.py", "functools.py", "typing.py"]


def write_yolo1(folder: Path, density: float, seed: int = 0) -> int:
    """The model folder, tensor by tensor; returns the file size in bytes."""
    c = YOLO1
    g = torch.Generator().manual_seed(seed)
    d, v, w, m = c["d_model"], c["vocab_size"], c["n_head"] * c["d_head"], c["d_mlp"]

    def sparse(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * 0.05 * (torch.rand(*shape, generator=g) < density)

    sd = {"transformer.wte.weight": sparse(v, d), "transformer.wpe.weight": torch.zeros(1024, d)}
    for i in range(c["n_layer"]):
        h = f"transformer.h.{i}"
        sd |= {
            f"{h}.ln_1.weight": torch.ones(d),
            f"{h}.attn.c_attn.weight": sparse(3 * w, d),
            f"{h}.attn.c_attn.bias": torch.zeros(3 * w),
            f"{h}.attn.c_proj.weight": sparse(d, w),
            f"{h}.attn.c_proj.bias": torch.zeros(d),
            f"{h}.attn.attn_imp.sink_logit": torch.zeros(c["n_head"]),
            f"{h}.ln_2.weight": torch.ones(d),
            f"{h}.mlp.c_fc.weight": sparse(m, d),
            f"{h}.mlp.c_fc.bias": torch.zeros(m),
            f"{h}.mlp.c_proj.weight": sparse(d, m),
            f"{h}.mlp.c_proj.bias": torch.zeros(d),
        }
    sd |= {
        "transformer.ln_f.weight": torch.ones(d),
        "lm_head.weight": sparse(v, d),
        "final_logits_bias": torch.zeros(v),
        "bigram_table": torch.randn(v, v, generator=g) * 0.01,
    }
    folder.mkdir(parents=True)
    (folder / "beeg_config.json").write_text(json.dumps(c))
    torch.save(sd, folder / "final_model.pt")
    return (folder / "final_model.pt").stat().st_size


# Runs the CLI, then writes the program's peak resident memory (kB) to the file named by $PEAK.
_WRAPPER = """
import os, sys
import torch
from sparsecircuits.cli import main
try:
    main(sys.argv[1:]) if sys.argv[1:] else None
except SystemExit as e:
    code = e.code
else:
    code = 0
hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))
open(os.environ['PEAK'], 'w').write(hwm.split()[1])
sys.exit(code)
"""


def timed(args: list[str], log: Path) -> dict:
    """Run `sparsecircuits ARGS` in a child; its seconds and peak resident memory (MiB)."""
    peak = log.parent / "peak.txt"
    t0 = time.perf_counter()
    with open(log, "ab") as f:
        code = subprocess.call(
            [sys.executable, "-c", _WRAPPER, *args],
            stdout=f,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PEAK": str(peak)},
        )
    if code != 0:
        sys.exit(f"sparsecircuits {' '.join(args)} failed; see {log}")
    return {
        "command": "sparsecircuits " + " ".join(args),
        "seconds": round(time.perf_counter() - t0, 1),
        "peak_rss_mib": round(int(peak.read_text()) / 1024, 1),
    }


def prune_settings(run: Path, corpus: Path, steps: int) -> list[str]:
    """`prune` of single_double_quote at reduced settings (few mask steps, 4096 mean tokens)."""
    return [
        "prune",
        str(run),
        "--corpus",
        str(corpus),
        "--task",
        "single_double_quote",
        "--steps",
        str(steps),
        "--no-deltas",
        "--no-calibrate",
        "--set",
        "mean_tokens=4096",
        "--set",
        "mean_seq_len=128",
        "--set",
        "mean_split=train",
        "--set",
        "n_train=64",
        "--set",
        "n_heldout=32",
    ]


def prepare_imported(work: Path, density: float) -> dict:
    """Write the csp_yolo1-shaped model, import it and build a small corpus with its tokenizer,
    all under `work`; returns what was measured, and the paths as `run`, `corpus`, `log`."""
    from sparsecircuits.corpus import Tokenizer

    log = work / "log.txt"
    work.mkdir(parents=True, exist_ok=True)
    std = Path(sysconfig.get_paths()["stdlib"])
    src_code = work / "code"
    src_code.mkdir(exist_ok=True)
    for name in STDLIB_SAMPLE:
        shutil.copy(std / name, src_code / name)
    tok = Tokenizer.train([(src_code / n).read_text() for n in STDLIB_SAMPLE], vocab_size=2048)
    tok.save_gpt2(work / "tok")

    size = write_yolo1(work / "src", density)
    result = {
        "model": {**YOLO1, "weight_density": density},
        "file_bytes": size,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_1min_before": os.getloadavg()[0],
    }
    run, corpus = work / "run", work / "corpus"
    result["import"] = timed(
        [
            "import",
            "openai",
            str(work / "src"),
            "--out",
            str(run),
            "--tokenizer",
            str(work / "tok"),
        ],
        log,
    )
    baseline = timed([], log)["peak_rss_mib"]  # the interpreter with torch, doing nothing
    result["import"]["interpreter_baseline_rss_mib"] = baseline
    result["import"]["peak_rss_above_baseline_over_file_size"] = round(
        (result["import"]["peak_rss_mib"] - baseline) * 2**20 / size, 2
    )
    result["corpus"] = timed(
        [
            "corpus",
            "build",
            "--tokenizer",
            str(run),
            "--source",
            str(src_code),
            "--out",
            str(corpus),
            "--val-fraction",
            "0.34",
        ],
        log,
    )
    return {**result, "run": run, "corpus": corpus, "log": log}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--density", type=float, default=1 / 64)
    p.add_argument("--prune-steps", type=int, default=10)
    p.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp one)")
    args = p.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-import-"))
    result = prepare_imported(work, args.density)
    log = result.pop("log")
    run, corpus = result.pop("run"), result.pop("corpus")
    result["prune"] = timed(
        [
            *prune_settings(run, corpus, args.prune_steps),
            "--target-loss",
            "50",
            "--out",
            str(work / "circuits"),
        ],
        log,
    )
    circuit = json.loads((work / "circuits" / "single_double_quote.json").read_text())
    result["prune"]["circuit_nodes"] = circuit["counts"]["nodes"]
    result["prune"]["note"] = (
        "reduced settings (10 mask steps, 4096 mean tokens); a random model solves no task, so "
        "--target-loss 50 only makes the pipeline run through"
    )
    atomic_write_json(args.out, result)
    print(json.dumps(result, indent=2))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
