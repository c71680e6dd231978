"""Circuit extraction: mask training, bisection, edges, calibration, and the hyperparameter search."""

from sparsecircuits.lazy import lazy_exports

_EXPORTS = {
    "PruneConfig": "config",
    "count_edges": "edges",
    "TargetUnreachable": "pipeline",
    "find_circuit": "pipeline",
    "prune_task": "pipeline",
}
__all__ = sorted(_EXPORTS)
# Lazy: `sparsecircuits --help` imports prune.cli, which must not pull in torch.
__getattr__ = lazy_exports(__name__, _EXPORTS)
