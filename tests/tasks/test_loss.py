"""Task loss, accuracy, TaskBatch, and `evaluate_task` (the core evaluator on a task's pairs)."""

from __future__ import annotations

import math
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import torch

from sparsecircuits.core.evaluate import evaluate_task
from sparsecircuits.tasks import Pair, TaskBatch, get_task, task_accuracy, task_loss


def test_loss_is_binary_cross_entropy_over_the_two_tokens():
    logits = torch.randn(6, 50, generator=torch.Generator().manual_seed(0))
    target = torch.tensor([1, 2, 3, 4, 5, 6])
    other = torch.tensor([7, 8, 9, 10, 11, 12])
    a, b = logits[torch.arange(6), target], logits[torch.arange(6), other]
    expected = torch.log1p(torch.exp(b - a)).mean()
    assert torch.allclose(task_loss(logits, target, other), expected, atol=1e-6)
    assert float(task_accuracy(logits, target, other)) == float((a > b).float().mean())


def test_chance_and_confident_values_and_gradient():
    logits = torch.zeros(4, 10, requires_grad=True)
    t, o = torch.tensor([0, 1, 2, 3]), torch.tensor([4, 5, 6, 7])
    loss = task_loss(logits, t, o)
    assert math.isclose(loss.item(), math.log(2), rel_tol=1e-6)
    loss.backward()
    assert logits.grad[0, 0] < 0 < logits.grad[0, 4]  # raise the target, lower the other
    sure = torch.zeros(4, 10)
    sure[torch.arange(4), t] = 20.0
    assert float(task_loss(sure, t, o)) < 1e-6 and float(task_accuracy(sure, t, o)) == 1.0
    assert float(task_accuracy(torch.zeros(4, 10), t, o)) == 0.0  # ties are not correct


def test_task_batch_interleaves_and_right_pads():
    pairs = [Pair([1, 2, 3], [4, 5], 10, 11), Pair([6], [7, 8, 9, 1], 12, 13)]
    b = TaskBatch.from_pairs(pairs, pad_id=0)
    assert b.tokens.tolist() == [[1, 2, 3, 0], [4, 5, 0, 0], [6, 0, 0, 0], [7, 8, 9, 1]]
    assert b.last_pos.tolist() == [2, 1, 0, 3]
    assert b.target.tolist() == [10, 11, 12, 13]
    assert b.other.tolist() == [11, 10, 13, 12]
    assert len(b) == 4 and b.tokens.dtype == torch.long


class Oracle(torch.nn.Module):
    """Knows the right answer of every prompt it was shown; checks the evaluator's bookkeeping."""

    config = SimpleNamespace(block_size=256)

    def __init__(self, pairs: list[Pair], vocab: int) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.vocab = vocab
        self.answer = {}
        for p in pairs:
            self.answer[tuple(p.prompt_pos)] = p.target_pos
            self.answer[tuple(p.prompt_neg)] = p.target_neg

    @contextmanager
    def intervene(self, fns):
        assert not fns
        yield self

    def forward(self, idx: torch.Tensor, last_pos: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(idx.shape[0], self.vocab)
        for i in range(idx.shape[0]):
            out[i, self.answer[tuple(idx[i, : int(last_pos[i]) + 1].tolist())]] = 30.0
        return out


def test_evaluate_task_with_an_oracle_and_its_inverse(tokenizer):
    task = get_task("var_if")
    pairs = task.pairs(tokenizer, 24, "heldout", seed=0, max_len=96)
    oracle = Oracle(pairs, tokenizer.vocab_size)
    res = evaluate_task(oracle, task, tokenizer, n=24, seed=0, batch_size=5, max_len=96)
    assert res["accuracy"] == 1.0 and res["loss"] < 1e-6 and res["n_pairs"] == 24
    shuffled = get_task("var_if__shuffled")
    res = evaluate_task(oracle, shuffled, tokenizer, n=24, seed=0, batch_size=7, max_len=96)
    assert 0.2 < res["accuracy"] < 0.8  # the oracle is right only where the labels were kept


def test_evaluate_task_with_a_tiny_sparse_gpt(tokenizer):
    from sparsecircuits.model import ModelConfig, SparseGPT

    cfg = ModelConfig(
        vocab_size=tokenizer.vocab_size, block_size=64, n_layer=1, d_model=32, d_head=16
    )
    model = SparseGPT(cfg, seed=0)
    res = evaluate_task(model, "for_while", tokenizer, n=16, batch_size=8, max_len=64)
    assert 0.0 <= res["accuracy"] <= 1.0 and math.isfinite(res["loss"])
    # the batched evaluator agrees with one unpadded forward pass per prompt
    pairs = get_task("for_while").pairs(tokenizer, 16, "heldout", seed=0, max_len=64)
    losses = []
    with torch.no_grad():
        for p in pairs:
            for prompt, t, o in (
                (p.prompt_pos, p.target_pos, p.target_neg),
                (p.prompt_neg, p.target_neg, p.target_pos),
            ):
                logits = model(torch.tensor([prompt]))[:, -1]
                losses.append(float(task_loss(logits, torch.tensor([t]), torch.tensor([o]))))
    assert math.isclose(res["loss"], sum(losses) / len(losses), rel_tol=1e-4, abs_tol=1e-5)
    again = evaluate_task(model, "for_while", tokenizer, n=16, batch_size=3, max_len=64)
    assert again["accuracy"] == res["accuracy"] and again["loss"] == pytest.approx(
        res["loss"], abs=1e-6
    )
    # the default prompt length is pruning's 32 tokens
    short = get_task("for_while").pairs(tokenizer, 16, "heldout", seed=0, max_len=32)
    assert max(len(p.prompt_pos) for p in short) <= 32
