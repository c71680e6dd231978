"""The model: ModelConfig, SparseGPT and its node sites (see docs/sites.md)."""

from sparsecircuits.model import sparse_exec
from sparsecircuits.model.gpt import (
    RESID_SITES,
    RESID_TOPK_SITES,
    SITES,
    ModelConfig,
    SparseGPT,
    abs_topk,
)

__all__ = [
    "sparse_exec",
    "RESID_SITES",
    "RESID_TOPK_SITES",
    "SITES",
    "ModelConfig",
    "SparseGPT",
    "abs_topk",
]
