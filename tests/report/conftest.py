"""Report test fixtures: one thread, a tiny corpus and trained run, and a circuit of that run."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)
sys.path.insert(0, str(Path(__file__).parent))

from helpers import XSS, example_circuit  # noqa: E402

_NAMES = ["total", "count", "items", "value", "result", "path", "data", "index", "name", "line"]


def _module(rng: random.Random, n_funcs: int) -> str:
    """A small valid-looking Python file; every file carries the script-injection string."""
    out = [f'import os\n\nBANNER = "{XSS}"\n\n']
    for i in range(n_funcs):
        a, b = rng.sample(_NAMES, 2)
        out.append(
            f"def func_{i}({a}, {b}=None):\n"
            f"    if {b} is None:\n        {b} = []\n"
            f"    for x in range({a}):\n        {b}.append([x, {rng.randint(1, 9)}])\n"
            f'    print("{a}", len({b}))\n    return {b}\n\n'
        )
    return "".join(out)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder trained for a few steps by the real trainer on a tiny real corpus."""
    from sparsecircuits.corpus import BuildConfig, build_corpus
    from sparsecircuits.train import train
    from sparsecircuits.train.config import RunConfig

    root = tmp_path_factory.mktemp("report_run")
    src = root / "src"
    src.mkdir()
    rng = random.Random(0)
    for i in range(30):
        (src / f"mod_{i:02d}.py").write_text(_module(rng, rng.randint(2, 6)))
    corpus = root / "corpus"
    build_corpus(
        BuildConfig(
            sources=[str(src)], out=corpus, vocab_size=300, val_fraction=0.3, progress=False
        )
    )
    cfg = RunConfig.from_dict(
        {
            "model": {
                "vocab_size": 300,
                "block_size": 64,
                "n_layer": 2,
                "d_model": 16,
                "d_head": 4,
            },
            "train": {
                "corpus": str(corpus),
                "steps": 4,
                "batch_size": 4,
                "seq_len": 16,
                "lr": 0.01,
                "target_fraction": 0.25,
                "eval_every": 4,
                "eval_batches": 1,
                "checkpoint_every": 4,
                "log_every": 2,
                "device": "cpu",
            },
        }
    )
    run = root / "run"
    train(cfg, run)
    return run


def circuit_of_run(run_dir: Path, task: str = "single_double_quote") -> dict:
    """A circuit file dict naming `run_dir`, with nodes chosen by hand and edges from the weights."""
    from sparsecircuits.core.nodes import keep_from_ids, site_widths
    from sparsecircuits.prune import count_edges
    from sparsecircuits.train import load_run

    run = load_run(run_dir)
    ids = [
        "0.attn.act_in:1", "0.attn.act_in:3", "0.attn.q:2", "0.attn.k:5", "0.attn.v:1", "0.attn.v:6",
        "0.attn.resid_delta:4", "0.mlp.act_in:4", "0.mlp.post_act:7", "0.mlp.post_act:20",
        "0.mlp.resid_delta:1", "1.attn.act_in:1", "1.mlp.post_act:3",
    ]  # fmt: skip
    widths = site_widths(run.model)
    edges = count_edges(run.model, keep_from_ids(widths, ids))
    circuit = example_circuit(run=str(run_dir), weights_sha256=run.weights_sha256, task=task)
    circuit["model"]["config"] = run.config.model.to_dict()
    circuit["nodes"] = []
    for i, nid in enumerate(ids):
        site, index = nid.rsplit(":", 1)
        layer, kind = site.split(".", 1)
        circuit["nodes"].append(
            {
                "id": nid,
                "layer": int(layer),
                "site": kind,
                "index": int(index),
                "tau": 0.1 + 0.01 * i,
                "ablation_delta": 0.3 - 0.02 * i,
            }
        )
    circuit["edges"] = [{"src": s, "dst": d, "weight": w} for s, d, w in edges]
    circuit["counts"] = {
        "nodes": len(ids),
        "edges": len(edges),
        "model_nodes": sum(widths.values()),
    }
    return circuit


@pytest.fixture(scope="session")
def run_circuit(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A circuit JSON file of the tiny run, in its own folder."""
    folder = tmp_path_factory.mktemp("circuits")
    path = folder / "single_double_quote.json"
    path.write_text(json.dumps(circuit_of_run(tiny_run)))
    return path
