"""Two gloo processes with the same global batch train the same weights as one process."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file

from sparsecircuits.train.config import RunConfig
from sparsecircuits.train.loop import train


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, cfg_dict: dict, out: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
    )
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115  (quiet progress bars from the children)
    train(RunConfig.from_dict(cfg_dict), out)


def test_two_processes_match_one(tiny_corpus: Path, tmp_path: Path) -> None:
    from train_helpers import tiny_config_dict

    cfg = tiny_config_dict(tiny_corpus, steps=4, batch_size=4, eval_every=2, checkpoint_every=4)
    train(RunConfig.from_dict(cfg), tmp_path / "one")
    mp.start_processes(
        _worker,
        args=(2, _free_port(), cfg, str(tmp_path / "two")),
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
