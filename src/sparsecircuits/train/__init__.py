"""Weight-sparse training: config, sparsity projection, schedules, loop, checkpoints, `load_run`."""

from sparsecircuits.lazy import lazy_exports

# Lazy: `sparsecircuits --help` imports train.cli, which must not pull in torch.
_EXPORTS = {
    "Run": "checkpoint",
    "load_run": "checkpoint",
    "RunConfig": "config",
    "TrainConfig": "config",
    "load_config": "config",
    "project_to_sparsity": "sparsity",
    "train": "loop",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
