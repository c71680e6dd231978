"""Node activations agree with the model's own site values, and padding does not change them."""

from __future__ import annotations

import pytest
import torch

from sparsecircuits.errors import UserError
from sparsecircuits.report.activations import (
    last_position_activations,
    node_activations,
    pad_prompts,
)


@pytest.fixture
def model():
    from sparsecircuits.model import ModelConfig, SparseGPT

    cfg = ModelConfig(vocab_size=40, block_size=16, n_layer=2, d_model=16, d_head=4, init_std=0.2)
    return SparseGPT(cfg, seed=0).eval()


def test_node_activations_match_cache(model) -> None:
    tokens = torch.randint(0, 40, (5, 9), generator=torch.Generator().manual_seed(0))
    ids = ["1.mlp.post_act:7", "0.attn.q:3", "1.mlp.post_act:2", "0.attn.resid_delta:0"]
    acts = node_activations(model, tokens, ids, batch_size=2)
    assert acts.shape == (5, 9, 4)
    with torch.no_grad():
        _, cache = model.run_with_cache(
            tokens, sites=["1.mlp.post_act", "0.attn.q", "0.attn.resid_delta"]
        )
    torch.testing.assert_close(acts[..., 0], cache["1.mlp.post_act"][..., 7])
    torch.testing.assert_close(acts[..., 1], cache["0.attn.q"][..., 3])
    torch.testing.assert_close(acts[..., 2], cache["1.mlp.post_act"][..., 2])
    torch.testing.assert_close(acts[..., 3], cache["0.attn.resid_delta"][..., 0])


def test_last_position_ignores_padding(model) -> None:
    prompts = [[1, 2, 3], [4, 5, 6, 7, 8, 9], [10]]
    ids = ["0.mlp.post_act:5", "1.attn.v:2"]
    batch = last_position_activations(model, prompts, ids, pad_id=0)
    for i, p in enumerate(prompts):
        alone = node_activations(model, torch.tensor([p]), ids)[0, -1]
        torch.testing.assert_close(batch[i], alone)
    tokens, last = pad_prompts(prompts, pad_id=0)
    assert tokens.shape == (3, 6) and last.tolist() == [2, 5, 0]


def test_bad_node_ids(model) -> None:
    tokens = torch.zeros(1, 3, dtype=torch.long)
    with pytest.raises(UserError, match="not a node id"):
        node_activations(model, tokens, ["0.attn.zz:1"])
    with pytest.raises(UserError, match="outside site"):
        node_activations(model, tokens, ["0.mlp.post_act:9999"])
