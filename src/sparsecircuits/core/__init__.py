"""The circuit core every later stage shares: node ids, node sets, ablation, the evaluator, task data,
activation statistics, circuit files and the run a circuit belongs to (docs/architecture.md)."""

from sparsecircuits.lazy import lazy_exports

# What a removed node is replaced by (torch-free here, so configs and `--help` can name them):
# its corpus mean, zero, its value at a random corpus position ("resample"), a random half of
# the removed nodes resampled and the rest at their means, redrawn every pass ("stochastic"),
# or the loss averaged over a mean-ablated and a resample-ablated pass ("mixture").
ABLATIONS: tuple[str, ...] = ("mean", "zero", "resample", "stochastic", "mixture")
# The objectives that score a circuit against a varied background, not one constant (Drori 2026).
FAITHFUL_ABLATIONS: tuple[str, ...] = ("resample", "stochastic", "mixture")

_EXPORTS = {
    "Ablator": "ablation",
    "keep_interventions": "ablation",
    "soft_interventions": "ablation",
    "Circuit": "circuit",
    "CheckRecord": "circuit",
    "EdgeRecord": "circuit",
    "NodeRecord": "circuit",
    "SCHEMA_VERSION": "circuit",
    "Validation": "circuit",
    "read_circuit": "circuit",
    "save_circuit": "circuit",
    "TaskData": "data",
    "prompt_length": "data",
    "task_data": "data",
    "Evaluation": "evaluate",
    "evaluate": "evaluate",
    "evaluate_task": "evaluate",
    "Keep": "nodes",
    "NodeId": "nodes",
    "all_keep": "nodes",
    "ids_from_keep": "nodes",
    "keep_from_ids": "nodes",
    "parse_node_id": "nodes",
    "site_widths": "nodes",
    "load_circuit_run": "run",
    "resolve_run_dir": "run",
    "ActivationStats": "stats",
    "StatsSettings": "stats",
    "load_or_compute_stats": "stats",
}
__all__ = sorted(_EXPORTS)
# Lazy: `sparsecircuits --help` must not import torch.
__getattr__ = lazy_exports(__name__, _EXPORTS)
