"""Benchmark: sparse execution vs dense, same process, same weights (docs/sparse-exec.md).

Part 1, `passes`: a frozen random-sparse model at each density (every Linear weight keeps that
fraction, at random), on the bundled zoo-sparse shape and on the authors' csp_yolo1 shape
(12 layers, d_model 1024, 128 heads of 8, d_mlp 4096). Timed over one batch of `--prompts`
prompts of 32 tokens (pruning's length): the forward pass under no_grad; forward + backward to
the activation gradient at the model's input residual (through every layer); and the same
with a ones mask on every node site, as pruning's masks (whose elementwise products and
reductions cost both paths alike). Dense and sparse runs alternate; each time is the median of
`--reps`. The largest logit and gradient differences between the two paths are recorded.

Part 2 (skip with --no-prune): single_double_quote pruned end to end, once with
`--sparse-exec off` and once with `on`, 2 threads: seconds, and whether the circuits are the
same. On a csp_yolo1-shaped model at 1/64 (bench_import_openai.py's writer and importer); and,
with --zoo-corpus, on the bundled zoo-sparse model.

    .venv/bin/python benchmarks/bench_sparse_exec.py --zoo-corpus data/stdlib-zoo \
        --out benchmarks/results/sparse_exec.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from bench_import_openai import YOLO1, prepare_imported, prune_settings, timed

from sparsecircuits import kernels
from sparsecircuits.fileio import atomic_write_json
from sparsecircuits.interop.openai_format import config_from_openai
from sparsecircuits.memory import reuse_freed_memory
from sparsecircuits.model import SITES, ModelConfig, SparseGPT
from sparsecircuits.model.sparse_exec import csr as to_csr
from sparsecircuits.train.checkpoint import load_run_config

BUNDLED = Path(__file__).resolve().parents[1] / "src/sparsecircuits/bundled/zoo-sparse"
DENSITIES = (1 / 2, 1 / 4, 1 / 8, 1 / 64, 1 / 512)


def shapes() -> dict[str, ModelConfig]:
    return {
        "zoo-sparse": load_run_config(BUNDLED).model,
        "csp_yolo1": config_from_openai(YOLO1, False, True, "csp_yolo1").model,
    }


def frozen_model(config: ModelConfig, density: float, seed: int = 0) -> SparseGPT:
    """A random model whose Linear weights keep `density` of their entries, frozen."""
    model = SparseGPT(config, seed=seed).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2 and name.endswith(".weight") and "wte" not in name:
                p.mul_(torch.rand(p.shape, generator=g) < density)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def forward(model: SparseGPT, idx: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(idx)


def forward_backward(model: SparseGPT, idx: torch.Tensor) -> list[torch.Tensor]:
    """The gradient of the summed logits with respect to the residual stream entering layer 0:
    back through every layer, activations only."""
    leaf: list[torch.Tensor] = []

    def as_leaf(x: torch.Tensor) -> torch.Tensor:
        leaf.append(x.detach().requires_grad_(True))
        return leaf[0]

    with model.intervene({"0.resid_pre": as_leaf}):
        model(idx).sum().backward()
    return [leaf[0].grad]


def masked_forward_backward(model: SparseGPT, idx: torch.Tensor) -> list[torch.Tensor]:
    """Gradients of the summed logits with respect to a ones mask on every node site, as
    pruning's masks: their products and reductions add the same time to both paths."""
    masks: list[torch.Tensor] = []

    def masked(x: torch.Tensor) -> torch.Tensor:
        m = torch.ones(x.shape[-1], requires_grad=True)
        masks.append(m)
        return x * m

    sites = [f"{i}.{s}" for i in range(model.config.n_layer) for s in SITES]
    with model.intervene(dict.fromkeys(sites, masked)):
        model(idx).sum().backward()
    return [m.grad for m in masks]


def seconds(fn, model: SparseGPT, idx: torch.Tensor) -> float:
    return _times(lambda: fn(model, idx), 1)[0]


def time_passes(config: ModelConfig, density: float, prompts: int, reps: int) -> dict:
    model = frozen_model(config, density)
    idx = torch.randint(
        0, config.vocab_size, (prompts, 32), generator=torch.Generator().manual_seed(1)
    )
    out: dict[str, object] = {"density": density, "one_in": round(1 / density)}
    passes = {
        "forward": forward,
        "forward_backward": forward_backward,
        "masked_forward_backward": masked_forward_backward,
    }
    for name, fn in passes.items():
        results = {}
        for mode in ("off", "on"):  # one untimed warm-up each (packing, page faults)
            model.set_sparse_execution(mode)
            results[mode] = fn(model, idx)
        dense_t, sparse_t = [], []
        for _ in range(reps):  # alternate, so a burst of load hits both
            model.set_sparse_execution("off")
            dense_t.append(seconds(fn, model, idx))
            model.set_sparse_execution("on")
            sparse_t.append(seconds(fn, model, idx))
        d, s = statistics.median(dense_t), statistics.median(sparse_t)
        a, b = results["off"], results["on"]
        if isinstance(a, list):
            diff = max(float((x - y).abs().max()) for x, y in zip(a, b, strict=True))
            scale = max(float(x.abs().max()) for x in a)
        else:
            diff, scale = float((a - b).abs().max()), float(a.abs().max())
        out[name] = {
            "dense_s": round(d, 4),
            "sparse_s": round(s, 4),
            "speedup": round(d / s, 2),
            "max_abs_diff": diff,
            "max_abs_value": scale,
        }
        print(
            f"  1/{out['one_in']:<4} {name:16} dense {d:8.3f} s  sparse {s:8.3f} s  {d / s:6.2f}x",
            flush=True,
        )
    return out


def time_kernels(tokens: int, reps: int) -> list[dict]:
    """One product x W^T per csp_yolo1 matrix shape: dense (MKL), torch.sparse CSR, our kernel."""
    out = []
    g = torch.Generator().manual_seed(0)
    for d_out, d_in in ((3072, 1024), (1024, 1024), (4096, 1024), (1024, 4096)):
        x = torch.randn(tokens, d_in, generator=g)
        for density in (1 / 8, 1 / 64, 1 / 512):
            keep = torch.rand(d_out, d_in, generator=g) < density
            row = {"shape": [d_out, d_in], "one_in": round(1 / density)}
            row |= _kernel_times(x, torch.randn(d_out, d_in, generator=g) * keep, reps)
            out.append(row)
            times = "  ".join(f"{k} {v}" for k, v in row.items() if k.endswith("_ms"))
            print(f"  {d_out}x{d_in} 1/{row['one_in']:<4} {times}", flush=True)
    return out


def _kernel_times(x: torch.Tensor, w: torch.Tensor, reps: int) -> dict[str, float]:
    w_csr, csr = w.to_sparse_csr(), to_csr(w)
    runs = {
        "dense": lambda: torch.nn.functional.linear(x, w),
        "torch_sparse_csr": lambda: torch.sparse.mm(w_csr, x.t()).t().contiguous(),
        "ours": lambda: kernels.spmm(x, *csr, w.shape[0]),
    }
    row = {}
    for name, fn in runs.items():
        fn()
        row[f"{name}_ms"] = round(1e3 * statistics.median(_times(fn, reps)), 2)
    return row


def _times(fn, reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def prune_off_and_on(args: list[str], work: Path, log: Path) -> dict:
    """`prune ARGS` with sparse execution off, then on (2 threads): seconds and both circuits."""
    result: dict[str, object] = {}
    circuits = {}
    for mode in ("off", "on"):
        out = work / f"circuits-{mode}"
        cmd = [*args, "--out", str(out), "--sparse-exec", mode, "--threads", "2"]
        result[mode] = timed(cmd, log)
        (path,) = out.glob("*.json")
        circuits[mode] = json.loads(path.read_text())
        result[mode] |= {
            "circuit_nodes": circuits[mode]["counts"]["nodes"],
            "circuit_edges": circuits[mode]["counts"]["edges"],
            "full_model_loss": circuits[mode]["losses"]["full_model"],
            "circuit_loss": circuits[mode]["losses"]["circuit"],
        }
    off, on = circuits["off"], circuits["on"]
    result["speedup"] = round(result["off"]["seconds"] / result["on"]["seconds"], 2)
    result["same_nodes"] = [n["id"] for n in off["nodes"]] == [n["id"] for n in on["nodes"]]
    result["same_edges"] = off["edges"] == on["edges"]
    return result


def prune_yolo1(work: Path) -> dict:
    """single_double_quote on the imported csp_yolo1-shaped model at 1/64. A random model's task
    loss is near ln 2 whatever is kept, so the target is put halfway between the full model's
    loss and the empty circuit's, measured by a first quick pass."""
    prepared = prepare_imported(work, density=1 / 64)
    base = prune_settings(prepared["run"], prepared["corpus"], steps=10)
    probe = [*base, "--out", str(work / "probe"), "--target-loss", "1e6", "--set", "curves=false"]
    timed(probe, prepared["log"])
    c = json.loads((work / "probe" / "single_double_quote.json").read_text())
    full, empty = c["losses"]["full_model"], c["losses"]["circuit"]  # any target: the empty circuit
    target = round((full + empty) / 2, 4)
    result = {"full_model_loss": full, "empty_circuit_loss": empty, "target_loss": target}
    return result | prune_off_and_on([*base, "--target-loss", str(target)], work, prepared["log"])


def prune_zoo(corpus: Path, work: Path) -> dict:
    """single_double_quote on the bundled zoo-sparse model (trained, 1/8), `prune`'s defaults."""
    work.mkdir(parents=True, exist_ok=True)
    args = ["prune", str(BUNDLED), "--task", "single_double_quote", "--corpus", str(corpus)]
    return prune_off_and_on(args, work, work / "log.txt")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--prompts", type=int, default=32)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--no-prune", action="store_true")
    p.add_argument(
        "--zoo-corpus",
        type=Path,
        default=None,
        help="the stdlib corpus in the zoo's tokenizer (README: data/stdlib-zoo): also prune zoo-sparse",
    )
    args = p.parse_args()
    reuse_freed_memory()  # as every command does
    result: dict[str, object] = {
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_1min_before": os.getloadavg()[0],
        "batch": f"{args.prompts} prompts x 32 tokens",
        "passes": {},
    }
    print("kernels", flush=True)
    result["kernels"] = time_kernels(args.prompts * 32, max(args.reps, 5))
    for name, config in shapes().items():
        print(name, flush=True)
        result["passes"][name] = [
            time_passes(config, d, args.prompts, args.reps) for d in DENSITIES
        ]
    if not args.no_prune:
        with tempfile.TemporaryDirectory(prefix="bench-sparse-") as tmp:
            if args.zoo_corpus:
                result["prune_zoo_sparse"] = prune_zoo(args.zoo_corpus, Path(tmp) / "zoo")
            result["prune_csp_yolo1"] = prune_yolo1(Path(tmp) / "yolo1")
    result["load_average_1min_after"] = os.getloadavg()[0]
    atomic_write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k.startswith("prune")}, indent=2))


if __name__ == "__main__":
    main()
