"""Circuit extraction: mean-activation cache, node masks, mask training, bisection, edges, Circuit files."""

from sparsecircuits.lazy import lazy_exports

_EXPORTS = {
    "Ablator": "ablation",
    "ablated_forward": "ablation",
    "evaluate_nodes": "ablation",
    "SCHEMA_VERSION": "circuit",
    "Circuit": "circuit",
    "load_circuit": "circuit",
    "save_circuit": "circuit",
    "PruneConfig": "config",
    "count_edges": "edges",
    "ActivationStats": "means",
    "load_or_compute_means": "means",
    "load_or_compute_stats": "means",
    "Keep": "nodes",
    "ids_from_keep": "nodes",
    "keep_from_ids": "nodes",
    "node_id": "nodes",
    "parse_node_id": "nodes",
    "TargetUnreachable": "pipeline",
    "find_circuit": "pipeline",
    "prune_task": "pipeline",
}
__all__ = sorted(_EXPORTS)
# Lazy: `sparsecircuits --help` imports prune.cli, which must not pull in torch.
__getattr__ = lazy_exports(__name__, _EXPORTS)
