"""benchmarks/gpu_zoo.sh, dry-run on the CPU: a tiny shape, a few steps, the output-folder limits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import gpu_export  # noqa: E402

# the two tasks a 300-token vocabulary expresses (the GPU run evaluates all twenty)
TASKS = ("single_double_quote", "final_kwarg")


def test_gpu_zoo_script_on_cpu_fits_the_output_limits(tmp_path: Path) -> None:
    out, work = tmp_path / "out", tmp_path / "work"
    out.mkdir()
    src = tmp_path / "src"
    src.mkdir()
    for i in range(30):
        (src / f"m{i}.py").write_text(f"def f_{i}(x):\n    return [x, {i}]  # note\n" * 20)
    env = {
        **os.environ,
        "OUT": str(out),
        "WORK": str(work),
        "DEVICE": "cpu",
        "PY": sys.executable,
        "TRAIN_MINUTES": "0.05",
        "PAIRS": "8",
        "TASKS": " ".join(TASKS),
        "CORPUS_SOURCES": f"--source {src} --source synthetic:0.25 --vocab-size 300",
        "SETS": "model.vocab_size=300 model.n_layer=1 model.d_model=32 model.block_size=64 "
        "train.batch_size=2 train.seq_len=32 train.eval_batches=1 train.max_minutes=0.05",
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_zoo.sh")], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    files = sorted(out.iterdir())
    assert 0 < len(files) <= gpu_export.MAX_FILES
    assert all(f.stat().st_size <= gpu_export.MAX_BYTES for f in files)
    summary = json.loads((out / "gpu_zoo.json").read_text())
    assert summary["tokens_per_s_median"] > 0 and 0 < summary["mfu"] < 1
    rows = [json.loads(x) for x in (out / "tasks.jsonl").read_text().splitlines()]
    assert [r["task"] for r in rows] == [*TASKS, "mean"]
    # the packed weights are bf16, the sparse matrices stored as values and indices
    packed = {}
    for f in out.glob("weights-*.safetensors"):
        packed.update(load_file(str(f)))
    assert any(k.endswith("::indices") for k in packed)
    assert all(v.dtype in (torch.bfloat16, torch.int32, torch.int64) for v in packed.values())
    # and unpack into a run folder whose weights are the trained ones, rounded to bf16
    gpu_export.unpack(out, tmp_path / "run")
    a = load_file(str(work / "run" / "model.safetensors"))
    b = load_file(str(tmp_path / "run" / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k].bfloat16().float(), b[k]) for k in a)
