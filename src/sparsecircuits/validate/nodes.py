"""Node sets for validation: circuit masks from a circuit file, complements and random draws.

Masks are per-site bool tensors (`prune.nodes.Keep`); the id <-> mask helpers live in prune.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch

from sparsecircuits.errors import UserError
from sparsecircuits.prune.nodes import Keep, flat_to_keep, keep_from_ids


def circuit_keep(widths: dict[str, int], node_ids: Iterable[str]) -> Keep:
    """Masks of a circuit file's nodes, with a user-facing error if the model has no such node."""
    try:
        return keep_from_ids(widths, node_ids)
    except ValueError as e:
        raise UserError(
            f"{e}: the circuit was pruned from another model; pass --run with the run it came from."
        ) from None


def count(keep: Mapping[str, torch.Tensor]) -> int:
    """Number of nodes in a node set."""
    return int(sum(int(m.sum()) for m in keep.values()))


def complement(keep: Mapping[str, torch.Tensor]) -> Keep:
    """Every node not in the set."""
    return {s: ~m.bool() for s, m in keep.items()}


def union(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> Keep:
    """Nodes in either set."""
    return {s: a[s] | b[s] for s in a}


def _widths(keep: Mapping[str, torch.Tensor]) -> dict[str, int]:
    return {s: int(m.numel()) for s, m in keep.items()}


def random_subset(
    pool: Mapping[str, torch.Tensor], fraction: float, generator: torch.Generator
) -> Keep:
    """A uniformly random subset holding round(fraction x |pool|) of the pool's nodes."""
    flat = torch.cat([m.flatten().bool() for m in pool.values()])
    idx = torch.nonzero(flat).flatten()
    k = int(round(fraction * idx.numel()))
    pick = torch.zeros_like(flat)
    if k > 0:
        pick[idx[torch.randperm(idx.numel(), generator=generator)[:k]]] = True
    return flat_to_keep(_widths(pool), pick)


def random_like(keep: Mapping[str, torch.Tensor], seed: int) -> Keep:
    """A random node set of the same size as `keep`, drawn uniformly over all of the model's nodes."""
    everything = {s: torch.ones(int(m.numel()), dtype=torch.bool) for s, m in keep.items()}
    total = sum(int(m.numel()) for m in keep.values())
    g = torch.Generator().manual_seed(seed)
    return random_subset(everything, count(keep) / total if total else 0.0, g)


def stochastic_draws(
    circuit: Mapping[str, torch.Tensor], n_draws: int, fraction: float, seed: int
) -> list[Keep]:
    """Per draw, the random subset of non-circuit nodes to resample (never a circuit node)."""
    g = torch.Generator().manual_seed(seed)
    rest = complement(circuit)
    return [random_subset(rest, fraction, g) for _ in range(n_draws)]
