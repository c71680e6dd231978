"""Circuit extraction: mean-activation cache, node masks, mask training, bisection, edges, Circuit files."""

from sparsecircuits.prune.ablation import Ablator, ablated_forward, evaluate_nodes
from sparsecircuits.prune.circuit import SCHEMA_VERSION, Circuit, load_circuit, save_circuit
from sparsecircuits.prune.config import PruneConfig
from sparsecircuits.prune.edges import count_edges
from sparsecircuits.prune.means import ActivationStats, load_or_compute_means, load_or_compute_stats
from sparsecircuits.prune.nodes import Keep, ids_from_keep, keep_from_ids, node_id, parse_node_id
from sparsecircuits.prune.pipeline import TargetUnreachable, find_circuit, prune_task

__all__ = [
    "SCHEMA_VERSION",
    "ActivationStats",
    "Ablator",
    "Circuit",
    "Keep",
    "PruneConfig",
    "TargetUnreachable",
    "ablated_forward",
    "count_edges",
    "evaluate_nodes",
    "find_circuit",
    "ids_from_keep",
    "keep_from_ids",
    "load_circuit",
    "load_or_compute_means",
    "load_or_compute_stats",
    "node_id",
    "parse_node_id",
    "prune_task",
    "save_circuit",
]
