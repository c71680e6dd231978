"""Node ids and node sets: `"{layer}.{attn|mlp}.{site}:{index}"` <-> `NodeId`, and per-site keep masks.

The one parser of node ids: prune, validate and report all read them through `parse_node_id`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from sparsecircuits.errors import UserError
from sparsecircuits.model.gpt import SITES

if TYPE_CHECKING:
    from sparsecircuits.model import SparseGPT

Keep = dict[str, torch.Tensor]
"""Kept nodes: site name -> bool tensor of the site's width (True = kept). A missing site is fully kept."""

_NODE_ID = re.compile(r"^(\d+)\.([a-z_]+\.[a-z_]+):(\d+)$")


@dataclass(frozen=True, order=True)
class NodeId:
    """One node: channel `index` of site `site` (e.g. `"attn.q"`) in layer `layer`."""

    layer: int
    site: str
    index: int

    @property
    def site_name(self) -> str:
        """The model's name of the node's site, e.g. `"3.attn.q"`."""
        return f"{self.layer}.{self.site}"

    def __str__(self) -> str:
        return f"{self.layer}.{self.site}:{self.index}"


def parse_node_id(text: str) -> NodeId:
    """`"3.attn.q:5"` -> `NodeId(3, "attn.q", 5)`; UserError naming the text if it is not a node id."""
    m = _NODE_ID.match(text) if isinstance(text, str) else None
    if m is None or m.group(2) not in SITES:
        raise UserError(
            f"{text!r} is not a node id; node ids look like '3.attn.q:17' (sites: {', '.join(SITES)})."
        )
    return NodeId(int(m.group(1)), m.group(2), int(m.group(3)))


def node_id(site_name: str, index: int) -> str:
    """The public id of channel `index` of the site `site_name` (e.g. `"3.attn.q:5"`)."""
    return f"{site_name}:{index}"


def site_widths(model: SparseGPT) -> dict[str, int]:
    """Every node site of `model` in forward order with its width (the one site-width table)."""
    return {s: int(model.site_width(s)) for s in model.site_names()}


def check_node_ids(widths: Mapping[str, int], ids: Iterable[str], source: str) -> list[NodeId]:
    """Parse `ids` and check each names a node of a model with these site widths; UserError naming the first bad one."""
    out = []
    for text in ids:
        nid = parse_node_id(text)
        width = widths.get(nid.site_name)
        if width is None or nid.index >= width:
            where = (
                f"site {nid.site_name} has {width} nodes"
                if width is not None
                else f"the model has layers 0..{max(int(s.split('.')[0]) for s in widths)}"
            )
            raise UserError(
                f"{source} names node {text!r}, which this model does not have ({where}); "
                "pass the run the circuit was pruned from."
            )
        out.append(nid)
    return out


def keep_from_ids(
    widths: Mapping[str, int], ids: Iterable[str], source: str = "the circuit"
) -> Keep:
    """Boolean keep masks for every site, True exactly at the given node ids."""
    keep = {s: torch.zeros(w, dtype=torch.bool) for s, w in widths.items()}
    for nid in check_node_ids(widths, ids, source):
        keep[nid.site_name][nid.index] = True
    return keep


def ids_from_keep(keep: Mapping[str, torch.Tensor]) -> list[str]:
    """Node ids of all kept nodes, in site order then index order."""
    out: list[str] = []
    for site, mask in keep.items():
        out.extend(node_id(site, int(i)) for i in torch.nonzero(mask).flatten().tolist())
    return out


def all_keep(widths: Mapping[str, int], value: bool = True) -> Keep:
    """Keep masks with every node kept (or every node removed when `value` is False)."""
    return {s: torch.full((w,), value, dtype=torch.bool) for s, w in widths.items()}


def flat_to_keep(widths: Mapping[str, int], flat: torch.Tensor) -> Keep:
    """Cut a flat bool vector over all nodes (site order) into per-site keep masks."""
    out: Keep = {}
    start = 0
    for site, w in widths.items():
        out[site] = flat[start : start + w].clone()
        start += w
    return out


def count(keep: Mapping[str, torch.Tensor]) -> int:
    """Number of nodes in a node set."""
    return int(sum(int(m.sum()) for m in keep.values()))


def complement(keep: Mapping[str, torch.Tensor]) -> Keep:
    """Every node not in the set."""
    return {s: ~m.bool() for s, m in keep.items()}


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
