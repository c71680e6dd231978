"""Trainer test fixtures: one thread, a tiny corpus built once, tiny run configs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from train_helpers import tiny_config_dict

torch.set_num_threads(1)

_NAMES = ["total", "count", "items", "value", "result", "path", "data", "index", "name", "line"]


def _fake_module(rng: random.Random, n_funcs: int) -> str:
    """A small, varied, valid-looking Python file."""
    out = ["import os\nimport sys\n\n"]
    for i in range(n_funcs):
        a, b = rng.sample(_NAMES, 2)
        out.append(
            f"def func_{i}({a}, {b}=None):\n"
            f"    if {b} is None:\n        {b} = []\n"
            f"    for x in range({a}):\n        {b}.append(x * {rng.randint(1, 9)})\n"
            f'    print("{a}", len({b}))\n    return {b}\n\n'
        )
    return "".join(out)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus folder (manifest, tokenizer, train/val shards) built with the corpus stage's API."""
    from sparsecircuits.corpus import BuildConfig, build_corpus

    root = tmp_path_factory.mktemp("corpus")
    src = root / "src"
    src.mkdir()
    rng = random.Random(0)
    for i in range(40):
        (src / f"mod_{i:02d}.py").write_text(_fake_module(rng, rng.randint(3, 8)))
    out = root / "corpus"
    build_corpus(
        BuildConfig(sources=[str(src)], out=out, vocab_size=300, val_fraction=0.25, progress=False)
    )
    return out


@pytest.fixture
def tiny_run_config(tiny_corpus: Path):
    """A RunConfig for the tiny corpus."""
    from sparsecircuits.train.config import RunConfig

    def make(**train):
        return RunConfig.from_dict(tiny_config_dict(tiny_corpus, **train))

    return make
