"""Task loss (METHOD.md section 4), accuracy, batching of pairs, and a batched evaluator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm import tqdm

from sparsecircuits.tasks.base import Pair


@dataclass
class TaskBatch:
    """Prompts of pairs as one right-padded batch: rows 2i / 2i+1 are pair i's positive / negative."""

    tokens: Tensor  # [N, T] int64, right-padded
    last_pos: Tensor  # [N] index of each prompt's last token
    target: Tensor  # [N] the correct next token
    other: Tensor  # [N] the other token of the pair

    @classmethod
    def from_pairs(cls, pairs: Sequence[Pair], pad_id: int) -> TaskBatch:
        """Batch `pairs` (positive then negative prompt of each pair) padded with `pad_id`."""
        if not pairs:
            raise ValueError("TaskBatch.from_pairs needs at least one pair")
        rows, target, other = [], [], []
        for p in pairs:
            rows += [p.prompt_pos, p.prompt_neg]
            target += [p.target_pos, p.target_neg]
            other += [p.target_neg, p.target_pos]
        width = max(len(r) for r in rows)
        tokens = torch.full((len(rows), width), int(pad_id), dtype=torch.long)
        for i, r in enumerate(rows):
            tokens[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        return cls(
            tokens=tokens,
            last_pos=torch.tensor([len(r) - 1 for r in rows], dtype=torch.long),
            target=torch.tensor(target, dtype=torch.long),
            other=torch.tensor(other, dtype=torch.long),
        )

    def __len__(self) -> int:
        return int(self.tokens.shape[0])

    def to(self, device: torch.device | str) -> TaskBatch:
        """The same batch on `device`."""
        return TaskBatch(
            *(t.to(device) for t in (self.tokens, self.last_pos, self.target, self.other))
        )


def _pair_logits(logits_last: Tensor, target: Tensor, other: Tensor) -> Tensor:
    """[N, 2] logits of (target, other)."""
    return torch.stack(
        [logits_last.gather(1, target[:, None])[:, 0], logits_last.gather(1, other[:, None])[:, 0]],
        dim=1,
    )


def task_losses(logits_last: Tensor, target: Tensor, other: Tensor) -> Tensor:
    """Per-prompt binary cross-entropy [N] of the softmax restricted to {target, other}."""
    two = _pair_logits(logits_last.float(), target, other)
    return -F.log_softmax(two, dim=1)[:, 0]


def task_loss(logits_last: Tensor, target: Tensor, other: Tensor) -> Tensor:
    """Mean binary cross-entropy over prompts (chance = ln 2); differentiable scalar."""
    return task_losses(logits_last, target, other).mean()


def task_accuracy(logits_last: Tensor, target: Tensor, other: Tensor) -> Tensor:
    """Fraction of prompts whose target logit beats the other token's logit (ties count as wrong)."""
    two = _pair_logits(logits_last, target, other)
    return (two[:, 0] > two[:, 1]).float().mean()


def context_length(model: Any, default: int = 256) -> int:
    """The model's context (config.block_size), or `default` if it does not say."""
    cfg = getattr(model, "config", None)
    return int(getattr(cfg, "block_size", default) or default)


@torch.no_grad()
def evaluate_task(
    model: Any,
    task: Any,
    tokenizer: Any,
    n: int = 512,
    split: str = "heldout",
    seed: int = 0,
    batch_size: int = 64,
    max_len: int | None = None,
    progress: bool = False,
) -> dict[str, float]:
    """Task loss and accuracy of `model` on `n` pairs of `task` (a Task or a name)."""
    if isinstance(task, str):
        from sparsecircuits.tasks.registry import get_task

        task = get_task(task)
    max_len = max_len or context_length(model)
    pairs = task.pairs(tokenizer, n, split=split, seed=seed, max_len=max_len)
    try:
        device = next(model.parameters()).device
    except (AttributeError, StopIteration):
        device = torch.device("cpu")
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    try:
        starts = range(0, len(pairs), batch_size)
        for i in tqdm(starts, desc=f"eval {task.name}", disable=not progress, leave=False):
            batch = TaskBatch.from_pairs(pairs[i : i + batch_size], tokenizer.eot_id).to(device)
            width = int(batch.last_pos.max()) + 1
            logits = model(batch.tokens[:, :width], last_pos=batch.last_pos)
            loss_sum += float(task_losses(logits, batch.target, batch.other).sum())
            two = _pair_logits(logits, batch.target, batch.other)
            correct += int((two[:, 0] > two[:, 1]).sum())
            count += len(batch)
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    return {
        "loss": loss_sum / max(count, 1),
        "accuracy": correct / max(count, 1),
        "n_pairs": len(pairs),
    }
