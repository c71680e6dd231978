"""Corpus stage: Python-code sources, byte-level BPE tokenizer, uint16 token shards and batches."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sparsecircuits.corpus.build import BuildConfig, build_corpus
    from sparsecircuits.corpus.data import BatchSampler, TokenData
    from sparsecircuits.corpus.manifest import load_manifest
    from sparsecircuits.corpus.tokenizer import Tokenizer

__all__ = ["BatchSampler", "BuildConfig", "TokenData", "Tokenizer", "build_corpus", "load_manifest"]

# Lazy so that `sparsecircuits --help` does not import torch or tokenizers.
_WHERE = {
    "BatchSampler": "data",
    "TokenData": "data",
    "Tokenizer": "tokenizer",
    "BuildConfig": "build",
    "build_corpus": "build",
    "load_manifest": "manifest",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"sparsecircuits.corpus.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'sparsecircuits.corpus' has no attribute {name!r}")
