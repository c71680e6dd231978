"""The one evaluator: chunking and cropping change nothing, ablation does what it says."""

import pytest
import torch

from sparsecircuits.core.ablation import Ablator
from sparsecircuits.core.evaluate import evaluate
from sparsecircuits.core.nodes import all_keep, site_widths
from sparsecircuits.tasks import Pair, TaskBatch


def _batch():
    pairs = [
        Pair([1, 2, 3, 4, 5], [6, 7, 8], 9, 10),
        Pair([11, 12], [13, 14, 15, 16, 17, 18], 19, 20),
        Pair([3, 3, 3], [4], 1, 2),
    ]
    return TaskBatch.from_pairs(pairs, pad_id=0)


def test_chunks_hold_whole_pairs_and_are_cropped():
    b = _batch()
    parts = list(b.chunks(3))  # rounded down to 2 prompts: one pair per chunk
    assert [len(p) for p in parts] == [2, 2, 2]
    assert [p.tokens.shape[1] for p in parts] == [5, 6, 3]
    assert b.crop().tokens.shape[1] == 6 and b.tokens.shape[1] == 6


def test_chunk_size_does_not_change_the_result(tiny_model):
    b = _batch()
    ab = Ablator("zero")
    keep = all_keep(site_widths(tiny_model))
    keep["0.mlp.post_act"][::2] = False
    a = evaluate(tiny_model, b, keep, ab, chunk=2)
    c = evaluate(tiny_model, b, keep, ab, chunk=128)
    torch.testing.assert_close(a.logits, c.logits)
    assert a.loss == pytest.approx(c.loss) and a.accuracy == c.accuracy


def test_keep_everything_is_the_plain_forward(tiny_model):
    b = _batch()
    plain = evaluate(tiny_model, b)
    kept = evaluate(tiny_model, b, all_keep(site_widths(tiny_model)), Ablator("zero"))
    assert torch.equal(plain.logits, kept.logits)
    removed = evaluate(tiny_model, b, all_keep(site_widths(tiny_model), False), Ablator("zero"))
    assert not torch.allclose(plain.logits, removed.logits)


def test_transforms_apply_before_ablation(tiny_model):
    b = _batch()
    zero = {"0.mlp.post_act": torch.zeros_like}
    assert not torch.equal(
        evaluate(tiny_model, b, transforms=zero).logits, evaluate(tiny_model, b).logits
    )
