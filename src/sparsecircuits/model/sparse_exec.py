"""Sparse execution: frozen weight-sparse matrices multiplied from a compressed copy.

Pruning, validation, activation statistics and snippet search never update weights: they need
the forward pass and, for the masks, gradients with respect to activations, never dense weight
gradients. So each Linear of a loaded run whose density is below `CROSSOVER` keeps a CSR copy
of W (for x W^T) and of W^T (for the activation gradient g W), built once on first use, and
multiplies them with the C kernel `kernels.spmm`; the dense weight stays the model's parameter
(state dict, hooks and training untouched).

When it applies (`SparseWeight.applies`): the input is a contiguous float32 CPU tensor, the C
kernels are built, and no weight gradient is wanted (autograd off, or the weight frozen with
`requires_grad_(False)`). Training therefore always runs dense. A weight changed in place after
packing (its version counter moved) is packed again before use, so a stale copy is never read.

The mode is global, like torch's thread count: "auto" (the default for `load_run`: matrices
below `CROSSOVER`), "on" (every matrix), "off". Commands take `--sparse-exec auto|on|off`;
Python code calls `set_mode`, or `model.set_sparse_execution(mode)` for one model.
docs/sparse-exec.md has the measurements (benchmarks/bench_sparse_exec.py).
"""

from __future__ import annotations

import os
from typing import Literal, get_args

import torch
from torch import Tensor

from sparsecircuits import kernels
from sparsecircuits.errors import UserError

Mode = Literal["auto", "on", "off"]
MODES: tuple[str, ...] = get_args(Mode)

# Below this fraction of nonzero weights a matrix runs sparse under "auto". The speed crossover
# measured on this project's 2-core AMD EPYC (AVX-512, 32 prompts x 32 tokens) is near 1/3: on
# the csp_yolo1 shape the kernel loses to MKL's dense product at 1/2 (0.8-1.0x per pass) and
# wins from 1/4 (1.7-2.0x); on the bundled d_model-256 shape it is 1.0-1.1x at 1/2, 1.9-2.1x at
# 1/8 (benchmarks/results/sparse_exec.json). "auto" starts lower, at 1/16, so that the bundled
# 1/8 models keep the dense path the README's results were computed on: the sparse sums round
# differently, and a pruning with masks near their threshold then keeps other nodes (zoo-sparse,
# single_double_quote, 100 mask steps: 1110 nodes dense, 1189 sparse). Sparser models (the
# paper's reach 1/1000; our csp_yolo1-shaped benchmark is 1/64) run sparse; `on` opts any in.
CROSSOVER = 1 / 16

_mode: Mode | None = None  # None: $SPARSECIRCUITS_SPARSE_EXEC, else auto


def set_mode(mode: str | None) -> None:
    """Set the mode models loaded from now on get (`load_run`); None restores the default."""
    global _mode
    _mode = None if mode is None else check_mode(mode)


def current_mode() -> Mode:
    """The mode `load_run` gives models: `set_mode`'s, else $SPARSECIRCUITS_SPARSE_EXEC, else auto."""
    if _mode is not None:
        return _mode
    env = os.environ.get("SPARSECIRCUITS_SPARSE_EXEC")
    return check_mode(env, "$SPARSECIRCUITS_SPARSE_EXEC") if env else "auto"


def check_mode(mode: str, source: str = "sparse execution mode") -> Mode:
    """`mode` as a Mode; UserError naming where it came from and the three for anything else."""
    if mode not in MODES:
        raise UserError(f"{source} {mode!r} is not one of auto, on, off; use one of those.")
    return mode  # type: ignore[return-value]


def density(weight: Tensor) -> float:
    return float(torch.count_nonzero(weight)) / max(weight.numel(), 1)


def wanted(weight: Tensor, mode: Mode) -> bool:
    """Whether `mode` runs this matrix sparse."""
    return mode == "on" or (mode == "auto" and density(weight) < CROSSOVER)


class SparseWeight:
    """The CSR copies of one frozen weight W [out, in] and of W^T: built on first use (a command
    that never runs the model pays nothing), rebuilt if W changes in place."""

    def __init__(self, weight: Tensor) -> None:
        self.enabled = True
        self.shape = tuple(weight.shape)
        self._version, self._ptr = -1, 0

    def _pack(self, weight: Tensor) -> None:
        w = weight.detach()
        self.forward_csr = csr(w)
        self.backward_csr = csr(w.t())
        self._version = weight._version
        self._ptr = w.data_ptr()

    def applies(self, x: Tensor, weight: Tensor) -> bool:
        """Whether x W^T can run sparse: see the module docstring."""
        return (
            not (torch.is_grad_enabled() and weight.requires_grad)
            and weight.device.type == "cpu"
            and weight.dtype == torch.float32
            and kernels.usable(x)
        )

    def linear(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        """x W^T + b from the compressed copy (call only where `applies`)."""
        if weight._version != self._version or weight.data_ptr() != self._ptr:
            self._pack(weight)
        y = _SparseMatmul.apply(x.reshape(-1, x.shape[-1]), self)
        y = y.view(*x.shape[:-1], self.shape[0])
        return y if bias is None else y + bias


def csr(w: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(indptr, indices, values) of a 2-D tensor: int32, int32, float32, contiguous."""
    rows, cols = torch.nonzero(w, as_tuple=True)  # row-major order: CSR order
    counts = torch.bincount(rows, minlength=w.shape[0])
    indptr = torch.zeros(w.shape[0] + 1, dtype=torch.int64)
    torch.cumsum(counts, 0, out=indptr[1:])
    return indptr.to(torch.int32), cols.to(torch.int32), w[rows, cols].contiguous()


class _SparseMatmul(torch.autograd.Function):
    """y = x W^T with dy/dx from W^T's CSR; no weight gradient (the weight is frozen)."""

    @staticmethod
    def forward(ctx, x: Tensor, packed: SparseWeight) -> Tensor:
        ctx.packed = packed
        return kernels.spmm(x.contiguous(), *packed.forward_csr, packed.shape[0])

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        packed: SparseWeight = ctx.packed
        return kernels.spmm(grad.contiguous(), *packed.backward_csr, packed.shape[1]), None
