"""Text generation from a trained model (greedy or temperature sampling)."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def generate(
    model: nn.Module,
    prompt_ids: list[int],
    n_tokens: int,
    block_size: int,
    temperature: float = 0.0,
    seed: int = 0,
    stop_id: int | None = None,
) -> list[int]:
    """Continue `prompt_ids` by up to `n_tokens` tokens (temperature 0 = greedy); returns new ids."""
    device = next(model.parameters()).device
    gen = torch.Generator(device="cpu").manual_seed(seed)
    ids = list(prompt_ids)
    out: list[int] = []
    for _ in range(n_tokens):
        ctx = torch.tensor([ids[-block_size:]], dtype=torch.long, device=device)
        logits = model(ctx)[0, -1].float().cpu()
        if temperature <= 0:
            nxt = int(logits.argmax())
        else:
            probs = torch.softmax(logits / temperature, dim=-1)
            nxt = int(torch.multinomial(probs, 1, generator=gen))
        if stop_id is not None and nxt == stop_id:
            break
        ids.append(nxt)
        out.append(nxt)
    return out
