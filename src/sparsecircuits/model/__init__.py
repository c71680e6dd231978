"""The model: ModelConfig, SparseGPT and its node sites (see docs/sites.md)."""

from sparsecircuits.model.gpt import (
    RESID_SITES,
    RESID_TOPK_SITES,
    SITES,
    ModelConfig,
    SparseGPT,
    abs_topk,
)

__all__ = ["RESID_SITES", "RESID_TOPK_SITES", "SITES", "ModelConfig", "SparseGPT", "abs_topk"]
