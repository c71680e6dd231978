"""The one evaluator: a model's task loss, accuracy and last-position logits with some nodes ablated.

Every stage that scores a node set (pruning's bisection, validation's checks, the controls,
`tasks eval`, the demo) calls `evaluate`; it owns chunking, cropping and ablation.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor
from tqdm import tqdm

from sparsecircuits.core.ablation import Ablator, Fn, keep_interventions
from sparsecircuits.core.nodes import Keep
from sparsecircuits.tasks.loss import TaskBatch, task_accuracy, task_loss

if TYPE_CHECKING:
    from sparsecircuits.corpus.tokenizer import Tokenizer
    from sparsecircuits.model import SparseGPT
    from sparsecircuits.tasks.base import TaskLike

EVAL_CHUNK = 128  # prompts per forward pass


@dataclass(frozen=True)
class Evaluation:
    """Task loss (mean over prompts), accuracy, and the logits [N, V] at each prompt's last token."""

    loss: float
    accuracy: float
    logits: Tensor


@torch.no_grad()
def evaluate(
    model: SparseGPT,
    batch: TaskBatch,
    keep: Keep | None = None,
    ablator: Ablator | None = None,
    *,
    chunk: int = EVAL_CHUNK,
    transforms: Mapping[str, Fn] | None = None,
    progress: str | None = None,
) -> Evaluation:
    """Score `batch` with every node outside `keep` replaced by `ablator`'s value.

    `keep=None` (or a site left out of it) keeps everything: the plain forward. `transforms` are
    applied to their sites before the ablation (binarisation's step functions). Chunks hold whole
    pairs and are cropped to their longest prompt; a resample ablator draws once per chunk. A
    mixture ablator's loss and accuracy are the means over its passes (logits: the first pass's).
    `progress` names a progress bar over the chunks.
    """
    ablator = ablator or Ablator("zero")
    results = [
        _evaluate_pass(model, batch, keep, a, chunk, transforms, progress) for a in ablator.passes()
    ]
    if len(results) == 1:
        return results[0]
    return Evaluation(
        loss=sum(r.loss for r in results) / len(results),
        accuracy=sum(r.accuracy for r in results) / len(results),
        logits=results[0].logits,
    )


def _evaluate_pass(
    model: SparseGPT,
    batch: TaskBatch,
    keep: Keep | None,
    ablator: Ablator,
    chunk: int,
    transforms: Mapping[str, Fn] | None,
    progress: str | None,
) -> Evaluation:
    removed = keep_interventions(keep or {}, ablator)
    parts = []
    chunks = list(batch.chunks(chunk))
    for part in tqdm(chunks, desc=progress, disable=progress is None, leave=False):
        ablator.draw(*part.tokens.shape)
        with ExitStack() as stack:
            stack.enter_context(model.intervene(dict(transforms or {})))
            stack.enter_context(model.intervene(removed))
            parts.append(model(part.tokens, last_pos=part.last_pos))
    logits = torch.cat(parts)
    return Evaluation(
        loss=float(task_loss(logits, batch.target, batch.other)),
        accuracy=float(task_accuracy(logits, batch.target, batch.other)),
        logits=logits,
    )


def evaluate_task(
    model: SparseGPT,
    task: TaskLike | str,
    tokenizer: Tokenizer,
    n: int = 512,
    split: str = "heldout",
    seed: int = 0,
    batch_size: int = 64,
    max_len: int | None = None,
    progress: bool = False,
) -> dict[str, float]:
    """Task loss and accuracy of the whole `model` on `n` pairs of `task` (a task or a name/path).

    Prompts follow the one prompt-length rule (`core.data.prompt_length`): pruning's 32 tokens
    unless `max_len` says otherwise, never more than the model's context.
    """
    from sparsecircuits.core.data import prompt_length
    from sparsecircuits.tasks.registry import get_task

    task = get_task(task) if isinstance(task, str) else task
    pairs = task.pairs(tokenizer, n, split=split, seed=seed, max_len=prompt_length(model, max_len))
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        batch = TaskBatch.from_pairs(pairs, tokenizer.eot_id).to(device)
        res = evaluate(
            model, batch, chunk=2 * batch_size, progress=f"eval {task.name}" if progress else None
        )
    finally:
        model.train(was_training)
    return {"loss": res.loss, "accuracy": res.accuracy, "n_pairs": len(pairs)}
