"""Helpers shared by the trainer tests."""

from pathlib import Path


def tiny_config_dict(corpus_dir: Path, **train) -> dict:
    """A [model]/[train] dict for a 2-layer, d_model 16 model that trains in a blink."""
    t = {
        "corpus": str(corpus_dir),
        "steps": 8,
        "batch_size": 4,
        "seq_len": 16,
        "lr": 0.01,
        "target_fraction": 0.25,
        "anneal_frac": 0.5,
        "eval_every": 4,
        "eval_batches": 1,
        "checkpoint_every": 4,
        "log_every": 2,
        "device": "cpu",
    }
    t.update(train)
    m = {"vocab_size": 300, "block_size": 32, "n_layer": 2, "d_model": 16, "d_head": 4}
    return {"model": m, "train": t}
