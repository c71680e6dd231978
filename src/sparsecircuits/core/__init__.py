"""The circuit core every later stage shares: node ids, node sets, ablation, the evaluator, task data,
activation statistics, circuit files and the run a circuit belongs to (docs/architecture.md)."""

from sparsecircuits.lazy import lazy_exports

# What a removed node is replaced by (torch-free here, so configs and `--help` can name them).
ABLATIONS: tuple[str, ...] = ("mean", "zero", "resample")

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
