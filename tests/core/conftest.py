"""Fixtures for the circuit-core tests: a tiny random SparseGPT."""

import pytest
import torch


@pytest.fixture
def tiny_model():
    """A 2-layer, d_model 16 SparseGPT with random weights and AbsTopK on."""
    from sparsecircuits.model import ModelConfig, SparseGPT

    cfg = ModelConfig(vocab_size=32, block_size=16, n_layer=2, d_model=16, d_head=4, init_std=0.2)
    model = SparseGPT(cfg, seed=0).eval()
    with torch.no_grad():
        model.bigram_table.normal_(0, 0.1, generator=torch.Generator().manual_seed(1))
    return model
