"""Node ids and site names: `"{layer}.{attn|mlp}.{site}:{index}"` <-> (site name, index)."""

from __future__ import annotations

from collections.abc import Iterable

import torch

Keep = dict[str, torch.Tensor]
"""Kept nodes: site name -> bool tensor of the site's width (True = kept). A missing site is fully kept."""


def node_id(site: str, index: int) -> str:
    """The public id of channel `index` of `site` (e.g. `"3.attn.q:5"`)."""
    return f"{site}:{index}"


def parse_node_id(nid: str) -> tuple[str, int]:
    """Split a node id into (site name, index)."""
    site, _, index = nid.rpartition(":")
    if not site or not index.isdigit():
        raise ValueError(f"not a node id: {nid!r}")
    return site, int(index)


def split_site(site: str) -> tuple[int, str]:
    """Split a site name `"3.attn.q"` into (layer, `"attn.q"`)."""
    layer, _, rest = site.partition(".")
    return int(layer), rest


def site_widths(model: torch.nn.Module) -> dict[str, int]:
    """Every site of `model` in forward order with its width."""
    return {s: int(model.site_width(s)) for s in model.site_names()}


def keep_from_ids(widths: dict[str, int], ids: Iterable[str]) -> Keep:
    """Boolean keep masks for every site, True exactly at the given node ids."""
    keep = {s: torch.zeros(w, dtype=torch.bool) for s, w in widths.items()}
    for nid in ids:
        site, index = parse_node_id(nid)
        if site not in keep or index >= widths[site]:
            raise ValueError(f"node {nid!r} does not exist in this model")
        keep[site][index] = True
    return keep


def ids_from_keep(keep: Keep) -> list[str]:
    """Node ids of all kept nodes, in site order then index order."""
    out: list[str] = []
    for site, mask in keep.items():
        out.extend(node_id(site, int(i)) for i in torch.nonzero(mask).flatten().tolist())
    return out


def all_keep(widths: dict[str, int], value: bool = True) -> Keep:
    """Keep masks with every node kept (or every node removed when `value` is False)."""
    return {s: torch.full((w,), value, dtype=torch.bool) for s, w in widths.items()}


def flat_to_keep(widths: dict[str, int], flat: torch.Tensor) -> Keep:
    """Cut a flat bool vector over all nodes (site order) into per-site keep masks."""
    out: Keep = {}
    start = 0
    for site, w in widths.items():
        out[site] = flat[start : start + w].clone()
        start += w
    return out
