"""What the DDP tests share: a free local port, and a child's process-group environment."""

from __future__ import annotations

import os
import socket
import sys

import torch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def become_rank(rank: int, world: int, port: int) -> None:
    """In a spawned child: one thread, the gloo rendezvous variables, quiet progress bars."""
    torch.set_num_threads(1)
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
    )
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115  (quiet progress bars from the children)
