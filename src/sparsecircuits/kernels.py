"""CPU kernels (C, in kernels.c): exact top-k selection (AbsTopK's rows, the projection) and the
sparse-weight product of frozen models (`spmm`, used by model/sparse_exec.py).

Why: torch.topk on a CPU sorts (value, index) pairs row by row; at our widths (128-1024) AbsTopK
was a third of a training step and the projection another tenth. Both only need a threshold:
non-negative float32s order exactly like their bit patterns read as int32, so each kernel finds
the k-th largest |x| by bisection on those integers, without sorting.

- `abs_topk_rows`: per row, stopping as soon as exactly k entries are at or above the probe.
  Keeps exactly k per row; at a tie the lowest indices are kept.
- `project_`: the projection rule of `train.sparsity` (each row's top-j protected, then the
  global k-th largest kept, ties at the threshold kept).

Results equal the torch paths bit for bit where those are deterministic (tests/model/
test_kernels.py, tests/train/test_sparsity_select.py); where torch.topk breaks ties in its own
order, the kernels keep the lowest indices. Callers keep their torch path for tensors `usable`
rejects (GPU, other dtypes) and where the kernels cannot be built.

The C source is compiled on first use with the system's C compiler (`cc`, or $CC) into
$XDG_CACHE_HOME/sparsecircuits (default ~/.cache/sparsecircuits), once per source and machine;
about a second. Its OpenMP threads are torch's own (see kernels.c). Without a compiler, or with
SPARSECIRCUITS_KERNELS=0, everything runs on the torch paths, about 1.3x slower to train.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from pathlib import Path

import torch

from sparsecircuits import fileio

_SOURCE = Path(__file__).with_name("kernels.c")
_FLAGS = ["-O3", "-march=native", "-shared", "-fPIC"]
_PAR_MIN = 1 << 14  # below this many elements one thread is faster than waking the team

_forked = False  # GNU OpenMP thread pools do not survive fork(): a forked child runs serially.


def _after_fork() -> None:
    global _forked
    _forked = True


os.register_at_fork(after_in_child=_after_fork)


def _cpu_signature() -> bytes:
    """What -march=native compiles for: a library built on another CPU may not run here."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return sys.platform.encode()
    return next((line for line in lines if line.startswith(("flags", "Features"))), "").encode()


def _compile(source: bytes, cc: str, target: Path) -> bool:
    """Build the library at `target` (atomically: concurrent processes may race here)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        src = Path(tmp) / "kernels.c"
        src.write_bytes(source)
        out = Path(tmp) / target.name
        for openmp in (["-fopenmp"], []):  # Apple's clang has no OpenMP: serial, still exact
            cmd = [cc, *_FLAGS, *openmp, str(src), "-o", str(out), "-lm"]
            if subprocess.run(cmd, capture_output=True).returncode == 0:
                os.replace(out, target)
                return True
    return False


def _load() -> ctypes.CDLL | None:
    if os.environ.get("SPARSECIRCUITS_KERNELS", "1") == "0":
        return None
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    source = _SOURCE.read_bytes()
    tag = hashlib.sha256(source + " ".join([cc or "", *_FLAGS]).encode() + _cpu_signature())
    cache = fileio.user_cache_dir()
    target = cache / f"kernels-{tag.hexdigest()[:16]}.so"
    try:
        if not target.exists():
            if not cc:
                raise OSError("no C compiler found: install gcc or set CC")
            if not _compile(source, cc, target):
                raise OSError(f"{cc} could not build {_SOURCE.name}")
        lib = ctypes.CDLL(str(target))
    except OSError as err:
        warnings.warn(
            f"sparsecircuits: the CPU top-k kernels are unavailable ({err}); using torch's "
            "top-k instead, which trains about 1.3x slower.",
            stacklevel=4,  # the caller of usable(): the model or the projection
        )
        return None
    i64, i32, ptr = ctypes.c_int64, ctypes.c_int32, ctypes.c_void_p
    lib.sc_abs_topk.argtypes = lib.sc_abs_topk_bf16.argtypes = [ptr, ptr, ptr, i64, i32, i32, i32]
    lib.sc_mask_grad.argtypes = lib.sc_mask_grad_bf16.argtypes = [ptr, ptr, ptr, i64, i32]
    lib.sc_project.argtypes = [ptr, ptr, i64, i32, i32, i64, i32]
    lib.sc_spmm.argtypes = [ptr, i64, i32, ptr, ptr, ptr, i32, ptr, i32]
    for fn in (lib.sc_abs_topk, lib.sc_abs_topk_bf16, lib.sc_mask_grad, lib.sc_mask_grad_bf16):
        fn.restype = None
    lib.sc_project.restype = None
    lib.sc_spmm.restype = None
    return lib


_lib: ctypes.CDLL | None | bool = False  # False: not loaded yet
_lib_lock = threading.Lock()


def _library() -> ctypes.CDLL | None:
    global _lib
    if _lib is False:
        with _lib_lock:
            if _lib is False:
                _lib = _load()
    return _lib


# AbsTopK and its backward also take bf16 (CPU autocast training); the other kernels float32 only.
TOPK_DTYPES = (torch.float32, torch.bfloat16)


def usable(t: torch.Tensor, dtypes: tuple[torch.dtype, ...] = (torch.float32,)) -> bool:
    """Whether the kernels handle `t`: built, and `t` a contiguous CPU tensor of one of `dtypes`."""
    return (
        t.device.type == "cpu"
        and t.dtype in dtypes
        and t.is_contiguous()
        and _library() is not None
    )


def _threads(numel: int) -> int:
    if _forked or numel < _PAR_MIN:
        return 1
    return torch.get_num_threads()


def abs_topk_rows(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(y, mask): x with all but the k largest |x| of each last-dim vector zeroed, and the kept
    mask as uint8. `x` must pass `usable`; 0 < k < x.shape[-1]."""
    flat = x.detach().reshape(-1, x.shape[-1])
    y = torch.empty_like(flat)
    mask = torch.empty(flat.shape, dtype=torch.uint8)
    rows, n = flat.shape
    fn = _library().sc_abs_topk_bf16 if x.dtype == torch.bfloat16 else _library().sc_abs_topk
    fn(flat.data_ptr(), y.data_ptr(), mask.data_ptr(), rows, n, k, _threads(flat.numel()))
    return y.view(x.shape), mask.view(x.shape)


def mask_grad(grad: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """AbsTopK's backward, grad where `mask` (uint8, as from `abs_topk_rows`) is set, else 0, in one
    pass. `grad` must pass `usable` and have mask's shape."""
    out = torch.empty_like(grad)
    n = grad.numel()
    fn = _library().sc_mask_grad_bf16 if grad.dtype == torch.bfloat16 else _library().sc_mask_grad
    fn(grad.data_ptr(), mask.data_ptr(), out.data_ptr(), n, _threads(n))
    return out


class _Keys(threading.local):
    """The projection's key buffer, reused across calls: a fresh allocation this large is mapped
    by the OS page by page on first touch (measured ~0.3 ms per MB here)."""

    def __init__(self) -> None:
        self.buffer = torch.empty(0, dtype=torch.int32)

    def get(self, n: int) -> torch.Tensor:
        if self.buffer.numel() < n:
            self.buffer = torch.empty(n, dtype=torch.int32)
        return self.buffer


_keys = _Keys()


def project_(weight: torch.Tensor, k: int, min_row_nonzeros: int) -> None:
    """In place: keep the entries of `weight` whose |w| is at least the k-th largest, after each
    row's top `min_row_nonzeros` (2-D only) were raised to +inf. `weight` must pass `usable`."""
    w = weight.detach()
    n = w.numel()
    cols = w.shape[1] if w.dim() == 2 else n
    j = min(min_row_nonzeros, cols) if w.dim() == 2 else 0
    if j == cols:  # every entry is among its row's top j
        return
    keys = _keys.get(n)
    _library().sc_project(w.data_ptr(), keys.data_ptr(), n, cols, j, k, _threads(n))


def spmm(
    x: torch.Tensor, indptr: torch.Tensor, indices: torch.Tensor, values: torch.Tensor, d_out: int
) -> torch.Tensor:
    """x [n, d_in] times the transpose of the CSR matrix [d_out, d_in] given by int32 `indptr`,
    int32 `indices` and float32 `values`: y [n, d_out]. `x` must pass `usable`. Each output is
    summed in CSR order by one thread, so the result does not depend on the thread count."""
    n, d_in = x.shape
    y = torch.empty(n, d_out)
    work = n * max(indices.numel(), d_out)
    _library().sc_spmm(
        x.data_ptr(),
        n,
        d_in,
        indptr.data_ptr(),
        indices.data_ptr(),
        values.data_ptr(),
        d_out,
        y.data_ptr(),
        _threads(work),
    )
    return y
