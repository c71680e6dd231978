"""Two gloo processes with the same global batch train the same weights as one process."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.multiprocessing as mp
from ddp_helpers import become_rank, free_port
from safetensors.torch import load_file

from sparsecircuits.train.config import RunConfig
from sparsecircuits.train.loop import train


def _worker(rank: int, world: int, port: int, cfg_dict: dict, out: str) -> None:
    become_rank(rank, world, port)
    train(RunConfig.from_dict(cfg_dict), out)


def test_two_processes_match_one(tiny_corpus: Path, tmp_path: Path) -> None:
    from train_helpers import tiny_config_dict

    # fp32: bf16 products of half batches round differently from the whole batch's
    cfg = tiny_config_dict(
        tiny_corpus, steps=4, batch_size=4, eval_every=2, checkpoint_every=4, autocast_bf16=False
    )
    train(RunConfig.from_dict(cfg), tmp_path / "one")
    mp.start_processes(
        _worker,
        args=(2, free_port(), cfg, str(tmp_path / "two")),
        nprocs=2,
        join=True,
        start_method="fork",
    )
    a = load_file(str(tmp_path / "one" / "model.safetensors"))
    b = load_file(str(tmp_path / "two" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-6, msg=k)
        # The projection picked the same entries on both.
        assert torch.equal(a[k].ne(0), b[k].ne(0)) or "bigram" in k, k
