"""Training precision: bf16 autocast where the hardware multiplies bf16 natively, else fp32.

Measured on this project's 2-core CPU (avx512_bf16, torch 2.13.0, 2 threads, shapes of our
models): fp32 matmuls 160-183 GFLOP/s, bf16 393-432 GFLOP/s. Without native bf16 instructions
torch emulates bf16 on a CPU, slower than fp32, so such a CPU trains in fp32.
Master weights, optimizer state, the weights' top-k projection, attention scores and softmax and
the loss stay fp32 in both; under bf16 AbsTopK selects on the bf16 activations it is given.
"""

from __future__ import annotations

import contextlib
from functools import cache
from pathlib import Path
from typing import Literal

import torch

Precision = Literal["bf16", "fp32"]
# CPU flags that mean native bf16 matrix products (AVX-512 BF16 dot products, AMX tiles).
_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU advertises bf16 matrix instructions (Linux /proc/cpuinfo flags)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return bool(_BF16_FLAGS & set(line.split(":", 1)[-1].split()))
    return False


def resolve(device: torch.device, want_bf16: bool) -> tuple[Precision, str]:
    """(precision, why) for training on `device` with `train.autocast_bf16 = want_bf16`."""
    if not want_bf16:
        return "fp32", "train.autocast_bf16 is false"
    if device.type == "cuda":
        return "bf16", "bf16 autocast on the GPU"
    if cpu_has_native_bf16():
        return "bf16", "this CPU multiplies bf16 natively (avx512_bf16/amx_bf16)"
    return (
        "fp32",
        "this CPU has no native bf16 matrix instructions (no avx512_bf16 or amx_bf16 flag)",
    )


def autocast(device: torch.device, precision: Precision) -> contextlib.AbstractContextManager:
    """The context a forward pass runs in at `precision` on `device`."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
