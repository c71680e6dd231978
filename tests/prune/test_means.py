"""The activation-statistics cache: correct means, a real bank, reuse, invalidation, never in the run."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from sparsecircuits.core.stats import StatsSettings, _windows, load_or_compute_stats
from sparsecircuits.errors import UserError


def _corpus(tmp_path, n=3000):
    d = tmp_path / "corpus"
    d.mkdir()
    toks = np.random.default_rng(0).integers(0, 32, n).astype(np.uint16)
    toks.tofile(d / "val_000.bin")
    manifest = {
        "format_version": 1,
        "vocab_size": 32,
        "eot_id": 31,
        "shards": {"val": [{"file": "val_000.bin", "tokens": n}]},
        "tokenizer_sha256": "tok",
    }
    (d / "manifest.json").write_text(json.dumps(manifest))
    return d


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _run(tmp_path, model, sha="abc"):
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    return SimpleNamespace(
        path=run_dir,
        model=model,
        tokenizer=SimpleNamespace(content_hash=lambda: "tok"),
        weights_sha256=sha,
        corpus_dir=_corpus(tmp_path) if not (tmp_path / "corpus").exists() else tmp_path / "corpus",
    )


def test_means_match_direct_computation(tmp_path, tiny_model):
    run = _run(tmp_path, tiny_model)
    stats = load_or_compute_stats(run, StatsSettings(n_tokens=256, seed=3, seq_len=16, bank_size=8))
    from sparsecircuits.corpus import TokenData

    data = TokenData(run.corpus_dir, "val")
    win = torch.from_numpy(_windows(data.tokens, data.n_tokens, 256, 16, 3))
    assert win.shape == (16, 16)
    with torch.no_grad():
        _, cache = tiny_model.run_with_cache(win)
    for site, acts in cache.items():
        flat = acts.reshape(-1, acts.shape[-1])
        assert torch.allclose(stats.means[site], flat.mean(0), atol=1e-6)
        # every bank row is one real position's activation vector
        for row in stats.bank[site]:
            assert (flat == row).all(1).any()
    assert stats.bank["0.attn.q"].shape == (8, 16)


def test_cache_reused_and_invalidated(tmp_path, tiny_model):
    run = _run(tmp_path, tiny_model)
    settings = StatsSettings(n_tokens=128, seq_len=16, bank_size=4)
    s1 = load_or_compute_stats(run, settings)
    files = sorted((tmp_path / "cache" / "sparsecircuits" / "stats").iterdir())
    assert len(files) == 1 and not list(run.path.iterdir())  # in the user cache, not the run
    mtime = files[0].stat().st_mtime_ns
    s2 = load_or_compute_stats(run, settings)
    assert files[0].stat().st_mtime_ns == mtime  # a hit is read, not recomputed
    assert all(torch.equal(s1.means[k], s2.means[k]) for k in s1.means)
    run.weights_sha256 = "other"  # new weights -> a new entry
    load_or_compute_stats(run, settings)
    load_or_compute_stats(run, StatsSettings(n_tokens=64, seq_len=16, bank_size=4))
    assert len(list(files[0].parent.iterdir())) == 3
    run.corpus_dir = None
    with pytest.raises(UserError, match="corpus"):
        load_or_compute_stats(run, settings)
