"""Task data for circuit work: one prompt-length rule, and a task's train and held-out pairs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sparsecircuits.tasks.base import PROMPT_LEN, Pair
from sparsecircuits.tasks.loss import TaskBatch

if TYPE_CHECKING:
    from sparsecircuits.corpus.tokenizer import Tokenizer
    from sparsecircuits.model import SparseGPT
    from sparsecircuits.tasks.base import TaskLike


def prompt_length(model: SparseGPT, max_len: int | None = None) -> int:
    """The longest task prompt, in tokens: `max_len` (default pruning's 32), never past the model's context.

    Every command that builds task prompts (prune, validate, report, demo, `tasks eval`) uses
    this rule, so the numbers they print are about the same prompts.
    """
    return min(int(max_len or PROMPT_LEN), int(model.config.block_size))


@dataclass(frozen=True)
class TaskData:
    """A task's train and held-out pairs for one model, at the rule's prompt length."""

    task: TaskLike
    train: list[Pair]
    heldout: list[Pair]
    pad_id: int
    max_len: int
    seed: int

    def batch(self, split: str = "heldout", n: int | None = None) -> TaskBatch:
        """The first `n` (default all) pairs of `split` as one cropped batch."""
        pairs = self.heldout if split == "heldout" else self.train
        return TaskBatch.from_pairs(
            pairs[: max(1, n) if n is not None else None], self.pad_id
        ).crop()


def task_data(
    task: TaskLike,
    tokenizer: Tokenizer,
    model: SparseGPT,
    *,
    n_train: int,
    n_heldout: int,
    seed: int = 0,
    max_len: int | None = None,
) -> TaskData:
    """`n_train` train and `n_heldout` held-out pairs of `task` (deterministic in the seed)."""
    length = prompt_length(model, max_len)
    return TaskData(
        task=task,
        train=task.pairs(tokenizer, n_train, split="train", seed=seed, max_len=length),
        heldout=task.pairs(tokenizer, n_heldout, split="heldout", seed=seed, max_len=length),
        pad_id=tokenizer.eot_id,
        max_len=length,
        seed=seed,
    )
