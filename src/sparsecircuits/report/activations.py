"""Node activations of a model on token sequences: the small API other stages reuse."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from sparsecircuits.core.nodes import parse_node_id
from sparsecircuits.errors import UserError

if TYPE_CHECKING:
    from sparsecircuits.model import SparseGPT


def group_by_site(node_ids: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
    """`{site_name: [(column in node_ids, channel index), ...]}` in first-seen site order."""
    groups: dict[str, list[tuple[int, int]]] = {}
    for col, text in enumerate(node_ids):
        nid = parse_node_id(text)
        groups.setdefault(nid.site_name, []).append((col, nid.index))
    return groups


@torch.no_grad()
def node_activations(
    model: SparseGPT, tokens: Tensor, node_ids: Sequence[str], batch_size: int = 64
) -> Tensor:
    """Activations `[B, T, len(node_ids)]` (float32, CPU) of the named nodes at every position.

    `tokens` is `[B, T]` token ids; values are those of the model's forward pass at each node
    site (after AbsTopK), with whatever interventions are already active.
    """
    groups = group_by_site(node_ids)
    for site, cols in groups.items():
        width = model.site_width(site)
        bad = [i for _, i in cols if i >= width]
        if bad:
            raise UserError(
                f"node {site}:{bad[0]} is outside site {site} (width {width}); the circuit does not match this model"
            )
    device = next(model.parameters()).device
    B, T = tokens.shape
    out = torch.zeros(B, T, len(node_ids), dtype=torch.float32)
    for lo in range(0, B, batch_size):
        chunk = tokens[lo : lo + batch_size].to(device)
        _, cache = model.run_with_cache(chunk, sites=list(groups))
        for site, cols in groups.items():
            value = cache[site].float().cpu()
            idx = torch.tensor([i for _, i in cols])
            out[lo : lo + len(chunk), :, [c for c, _ in cols]] = value[:, :, idx]
    return out


def pad_prompts(prompts: Sequence[Sequence[int]], pad_id: int) -> tuple[Tensor, Tensor]:
    """Right-pad token lists into `(tokens [N, T], last_pos [N])` (causal attention ignores padding)."""
    if not prompts or any(len(p) == 0 for p in prompts):
        raise ValueError("every prompt needs at least one token")
    T = max(len(p) for p in prompts)
    tokens = torch.full((len(prompts), T), int(pad_id), dtype=torch.long)
    for i, p in enumerate(prompts):
        tokens[i, : len(p)] = torch.tensor(list(p), dtype=torch.long)
    last_pos = torch.tensor([len(p) - 1 for p in prompts], dtype=torch.long)
    return tokens, last_pos


def last_position_activations(
    model: SparseGPT,
    prompts: Sequence[Sequence[int]],
    node_ids: Sequence[str],
    pad_id: int,
    batch_size: int = 64,
) -> Tensor:
    """Activations `[N, len(node_ids)]` of the named nodes at each prompt's last token."""
    tokens, last_pos = pad_prompts(prompts, pad_id)
    acts = node_activations(model, tokens, node_ids, batch_size=batch_size)
    return acts[torch.arange(len(prompts)), last_pos]
