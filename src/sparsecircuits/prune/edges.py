"""Circuit edges from the model's weights and the kept nodes (METHOD section 6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from sparsecircuits.core.nodes import Keep, node_id, site_widths

if TYPE_CHECKING:
    from sparsecircuits.model import SparseGPT


def _pairs(
    weight: torch.Tensor, src_keep: torch.Tensor, dst_keep: torch.Tensor
) -> list[tuple[int, int, float]]:
    """Nonzero entries weight[dst, src] with both endpoints kept, as (src, dst, value)."""
    w = weight.detach()[:, : src_keep.numel()]
    sel = (w != 0) & dst_keep[:, None] & src_keep[None, :]
    dst, src = torch.nonzero(sel, as_tuple=True)
    vals = w[dst, src].tolist()
    return list(zip(src.tolist(), dst.tolist(), vals, strict=True))


def count_edges(model: SparseGPT, kept: Keep) -> list[tuple[str, str, float]]:
    """Every edge of the circuit `kept`: (src node id, dst node id, weight), in layer order.

    Edges are nonzero weights between kept nodes: attn.act_in -> attn.q/k/v (c_attn),
    attn.v -> attn.resid_delta (c_proj; the v channel's column lies in its own head),
    mlp.act_in -> mlp.post_act (c_fc), mlp.post_act -> mlp.resid_delta (c_proj).
    As everywhere in prune, a site missing from `kept` is fully kept.
    """
    widths = site_widths(model)

    def k(site: str) -> torch.Tensor:
        m = kept.get(site)
        return m.bool() if m is not None else torch.ones(widths[site], dtype=torch.bool)

    edges: list[tuple[str, str, float]] = []
    n_layer = len({s.split(".")[0] for s in widths})
    for i in range(n_layer):
        block = model.transformer.h[i]
        qkv = block.attn.c_attn.weight
        w_q = widths[f"{i}.attn.q"]
        for j, part in enumerate(("q", "k", "v")):
            rows = qkv[j * w_q : (j + 1) * w_q]
            for s, d, v in _pairs(rows, k(f"{i}.attn.act_in"), k(f"{i}.attn.{part}")):
                edges.append((node_id(f"{i}.attn.act_in", s), node_id(f"{i}.attn.{part}", d), v))
        for s, d, v in _pairs(
            block.attn.c_proj.weight, k(f"{i}.attn.v"), k(f"{i}.attn.resid_delta")
        ):
            edges.append((node_id(f"{i}.attn.v", s), node_id(f"{i}.attn.resid_delta", d), v))
        for s, d, v in _pairs(block.mlp.c_fc.weight, k(f"{i}.mlp.act_in"), k(f"{i}.mlp.post_act")):
            edges.append((node_id(f"{i}.mlp.act_in", s), node_id(f"{i}.mlp.post_act", d), v))
        for s, d, v in _pairs(
            block.mlp.c_proj.weight, k(f"{i}.mlp.post_act"), k(f"{i}.mlp.resid_delta")
        ):
            edges.append((node_id(f"{i}.mlp.post_act", s), node_id(f"{i}.mlp.resid_delta", d), v))
    return edges
