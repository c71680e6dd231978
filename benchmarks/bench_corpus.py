"""Benchmark: time `sparsecircuits corpus build --source stdlib` and record it in benchmarks/results/.

Usage: .venv/bin/python benchmarks/bench_corpus.py [--out-json benchmarks/results/corpus_build.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sparsecircuits.fileio import atomic_write_json

HERE = Path(__file__).resolve().parent
LIMIT_S = 60.0
MIN_TRAIN_TOKENS = 5_000_000


def main() -> int:
    """Run the build once in a fresh temporary folder and write the result JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-json", type=Path, default=HERE / "results" / "corpus_build.json")
    args = ap.parse_args()

    exe = Path(sys.executable).with_name("sparsecircuits")
    tmp = Path(tempfile.mkdtemp(prefix="bench_corpus_"))
    out = tmp / "c"
    cmd = [str(exe), "corpus", "build", "--source", "stdlib", "--out", str(out)]
    load_before = os.getloadavg()
    cpu0 = os.times()
    t0 = time.perf_counter()
    try:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        cpu1 = os.times()
        manifest = json.loads((out / "manifest.json").read_text())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "benchmark": "corpus_build",
        "command": "sparsecircuits corpus build --source stdlib --out <tmp>",
        "recorded_by": "python benchmarks/bench_corpus.py",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(
            (cpu1.children_user - cpu0.children_user)
            + (cpu1.children_system - cpu0.children_system),
            2,
        ),
        "phase_seconds": manifest.get("timings"),
        "limit_seconds": LIMIT_S,
        "under_limit": wall < LIMIT_S,
        "note": "wall_seconds depends on other processes sharing the CPU (see load_average); cpu_seconds (user+system of the build process) does not",
        "tokens": manifest["tokens"],
        "documents": manifest["documents"],
        "skipped": manifest["skipped"],
        "duplicates": manifest["duplicates"],
        "vocab_size": manifest["vocab_size"],
        "tokenizer_sha256": manifest["tokenizer_sha256"],
        "enough_train_tokens": manifest["tokens"]["train"] >= MIN_TRAIN_TOKENS,
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "load_average_1_5_15_before": [round(x, 2) for x in load_before],
            "load_average_1_5_15_after": [round(x, 2) for x in os.getloadavg()],
        },
    }
    atomic_write_json(args.out_json, result)
    print(json.dumps(result, indent=2))
    return 0 if result["under_limit"] and result["enough_train_tokens"] else 1


if __name__ == "__main__":
    sys.exit(main())
