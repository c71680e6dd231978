"""Weight-sparse training: config, sparsity projection, schedules, loop, checkpoints, `load_run`."""

from __future__ import annotations

import importlib
from typing import Any

# Lazy exports: `sparsecircuits --help` imports train.cli, which must not pull in torch.
_EXPORTS = {
    "Run": "sparsecircuits.train.checkpoint",
    "load_run": "sparsecircuits.train.checkpoint",
    "RunConfig": "sparsecircuits.train.config",
    "TrainConfig": "sparsecircuits.train.config",
    "load_config": "sparsecircuits.train.config",
    "project_to_sparsity": "sparsecircuits.train.sparsity",
    "train": "sparsecircuits.train.loop",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sparsecircuits.train' has no attribute {name!r}")
