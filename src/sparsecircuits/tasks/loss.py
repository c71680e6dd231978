"""Task loss (METHOD.md section 4), accuracy, and batching of pairs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

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

    def rows(self, lo: int, hi: int) -> TaskBatch:
        """Prompts lo:hi, with the padding past their longest prompt cropped off (a new batch)."""
        last = self.last_pos[lo:hi]
        width = int(last.max()) + 1
        return TaskBatch(self.tokens[lo:hi, :width], last, self.target[lo:hi], self.other[lo:hi])

    def crop(self) -> TaskBatch:
        """The batch without padding columns past its longest prompt (same result, less compute)."""
        return self.rows(0, len(self))

    def chunks(self, size: int) -> Iterator[TaskBatch]:
        """Cropped chunks of at most `size` prompts holding whole pairs (positive and negative together)."""
        step = max(2, size - size % 2)
        for lo in range(0, len(self), step):
            yield self.rows(lo, min(len(self), lo + step))

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
