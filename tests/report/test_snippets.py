"""Corpus snippets: the right peaks, deterministic, cached by weights hash."""

from __future__ import annotations

from pathlib import Path

import torch

from sparsecircuits.report.activations import node_activations
from sparsecircuits.report.snippets import SnippetConfig, cache_path, corpus_snippets, window_starts

CFG = SnippetConfig(
    n_windows=48, window_len=24, k=3, context_before=6, context_after=2, batch_size=16
)
IDS = ["0.mlp.post_act:7", "0.attn.resid_delta:4", "1.attn.q:2"]


def test_snippets_are_true_peaks_and_cached(tiny_run: Path) -> None:
    from sparsecircuits.corpus import TokenData
    from sparsecircuits.train import load_run

    run = load_run(tiny_run)
    data = TokenData(run.corpus_dir, "val")
    path = cache_path(run, run.corpus_dir, data.n_tokens, CFG)
    path.unlink(missing_ok=True)
    first = corpus_snippets(run, IDS, CFG)
    assert path.is_file() and not str(path).startswith(str(tiny_run))  # the user cache, not the run
    assert corpus_snippets(run, IDS, CFG) == first  # from the cache
    assert (
        corpus_snippets(run, IDS, CFG, use_cache=False) == first
    )  # recomputed: same seed, same result

    # Brute force over the same windows: the best top value is the node's maximum.
    starts, length = window_starts(data.n_tokens, CFG)
    windows = torch.stack([torch.from_numpy(data.tokens(int(s), int(s) + length)) for s in starts])
    acts = node_activations(run.model, windows, IDS)
    for col, nid in enumerate(IDS):
        top, bottom = first[nid]["top"], first[nid]["bottom"]
        assert len(top) <= 3 and len(bottom) <= 3
        hi, lo = acts[..., col].max().item(), acts[..., col].min().item()
        if hi > 0:
            assert abs(top[0]["value"] - hi) <= 1e-3 * max(1.0, abs(hi))
        if lo < 0:
            assert abs(bottom[0]["value"] - lo) <= 1e-3 * max(1.0, abs(lo))
        assert [s["value"] for s in top] == sorted((s["value"] for s in top), reverse=True)
        for s in top + bottom:
            assert len(s["tokens"]) == len(s["acts"]) and 0 <= s["focus"] < len(s["tokens"])
            assert abs(s["acts"][s["focus"]] - s["value"]) <= 2e-3 * max(1.0, abs(s["value"]))
            assert all(isinstance(t, str) for t in s["tokens"])
