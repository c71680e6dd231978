"""Connected circuits: drop kept nodes that no path through kept nodes joins to the input and the logits.

Paths run along the circuit's edges (nonzero weights between kept nodes, `count_edges`) and
the residual stream. Every `resid_delta` reaches the logits (the final residual is never
ablated) and every `act_in` is reached from the input (the embedding writes the residual). In
between, a node must feed a node that reaches the logits and be fed by one the input reaches;
q and k act through their head's attention pattern, so they count as reaching the logits when
a v node of their head does. A dropped node can disconnect others, so the rule is applied
until nothing changes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from sparsecircuits.core.nodes import keep_from_ids, parse_node_id, site_widths
from sparsecircuits.prune.edges import count_edges

if TYPE_CHECKING:
    from sparsecircuits.model import SparseGPT


def _head(node: str, d_head: int) -> tuple[int, int]:
    nid = parse_node_id(node)
    return nid.layer, nid.index // d_head


def connected_nodes(model: SparseGPT, ids: list[str]) -> list[str]:
    """The nodes of `ids` that lie on an input-to-logits path of kept nodes (in the order given)."""
    d_head = model.config.d_head
    alive = list(ids)
    while True:
        keep = keep_from_ids(site_widths(model), alive)
        edges = count_edges(model, keep)
        succ: dict[str, set[str]] = defaultdict(set)
        pred: dict[str, set[str]] = defaultdict(set)
        for s, d, _ in edges:
            succ[s].add(d)
            pred[d].add(s)
        site = {n: parse_node_id(n).site for n in alive}
        # forward order within a block is the site order, so one pass each way settles a block
        to_out: set[str] = set()
        for n in reversed(alive):
            if site[n].endswith("resid_delta") or succ[n] & to_out:
                to_out.add(n)
        heads_out = {_head(n, d_head) for n in to_out if site[n] == "attn.v"}
        for n in alive:
            if site[n] in ("attn.q", "attn.k") and _head(n, d_head) in heads_out:
                to_out.add(n)
        for n in reversed(alive):  # act_in nodes that feed a q/k just admitted
            if site[n] == "attn.act_in" and succ[n] & to_out:
                to_out.add(n)
        from_in: set[str] = set()
        for n in alive:
            if site[n].endswith("act_in") or pred[n] & from_in:
                from_in.add(n)
        kept = [n for n in alive if n in to_out and n in from_in]
        if len(kept) == len(alive):
            return kept
        alive = kept
