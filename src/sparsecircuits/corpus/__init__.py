"""Corpus stage: Python-code sources, byte-level BPE tokenizer, uint16 token shards and batches."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sparsecircuits.lazy import lazy_exports

if TYPE_CHECKING:
    from sparsecircuits.corpus.build import BuildConfig, build_corpus
    from sparsecircuits.corpus.data import BatchSampler, TokenData, unigram_loss
    from sparsecircuits.corpus.manifest import load_manifest
    from sparsecircuits.corpus.tokenizer import Tokenizer

__all__ = [
    "BatchSampler",
    "BuildConfig",
    "TokenData",
    "Tokenizer",
    "build_corpus",
    "load_manifest",
    "unigram_loss",
]

# Lazy so that `sparsecircuits --help` does not import torch or tokenizers.
__getattr__ = lazy_exports(
    __name__,
    {
        "BatchSampler": "data",
        "TokenData": "data",
        "unigram_loss": "data",
        "Tokenizer": "tokenizer",
        "BuildConfig": "build",
        "build_corpus": "build",
        "load_manifest": "manifest",
    },
)
