"""The model: ModelConfig, SparseGPT and its node sites (see docs/sites.md)."""

from sparsecircuits.model.gpt import (
    LOCTYPE_TO_SITE,
    RESID_SITES,
    RESID_TOPK_SITES,
    SITES,
    ModelConfig,
    SparseGPT,
    abs_topk,
    parse_node_id,
)

__all__ = [
    "LOCTYPE_TO_SITE",
    "RESID_SITES",
    "RESID_TOPK_SITES",
    "SITES",
    "ModelConfig",
    "SparseGPT",
    "abs_topk",
    "parse_node_id",
]
