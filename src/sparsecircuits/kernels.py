"""Exact top-k selection kernels for CPU tensors (numba): AbsTopK's rows and the weight projection.

Why: torch.topk on a CPU sorts (value, index) pairs row by row; at our widths (128-1024) AbsTopK
was a third of a training step and the projection another tenth. Both only need a threshold:
non-negative float32s order exactly like their bit patterns read as int32, so each kernel finds
the k-th largest |x| on those integers without sorting.

- `abs_topk_rows`: per row, bisection on the bit pattern, stopping as soon as exactly k entries
  are at or above the probe. Keeps exactly k per row; at a tie the lowest indices are kept.
- `project_`: the projection rule of `train.sparsity` (each row's top-j protected, then the
  global k-th largest kept, ties at the threshold kept): a histogram of the keys' top bits
  finds the bucket holding the answer, then an exact select inside it.

Results equal the torch paths bit for bit where those are deterministic (tests/model/
test_kernels.py, tests/train/test_sparsity_select.py); where torch.topk breaks ties in its own
order, the kernels keep the lowest indices. Callers keep their torch path for tensors `usable`
rejects (GPU, other dtypes) and for installs without numba.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import torch

try:
    import numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - numba is a dependency; exotic platforms may lack a wheel
    numba = None

_forked = False  # GNU OpenMP thread pools do not survive fork(): a forked child runs serially.


def _after_fork() -> None:
    global _forked
    _forked = True


os.register_at_fork(after_in_child=_after_fork)

_ABS = 0x7FFFFFFF  # clears the sign bit of a float32 bit pattern
_INF = 0x7F800000  # +inf: a protected entry's key, above every finite |w|
_HI_SHIFT = 16  # radix select: first pass buckets keys by their top 15 bits
_NBINS = 1 << (31 - _HI_SHIFT)
_SORT_MAX = 1 << 12  # up to this many entries a sort beats the 32768-bin histogram
_PAR_MIN = 1 << 14  # below this many elements one thread is faster than starting the pool


def usable(t: torch.Tensor) -> bool:
    """Whether the kernels handle `t`: numba present, a contiguous float32 tensor on the CPU."""
    return (
        numba is not None
        and t.device.type == "cpu"
        and t.dtype == torch.float32
        and t.is_contiguous()
    )


def _threads(numel: int) -> int:
    if _forked or numel < _PAR_MIN:
        return 1
    return max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))


if numba is not None:

    @njit(nogil=True, cache=True, boundscheck=False, inline="always")
    def _count_at_least(keys, probe):  # pragma: no cover - compiled
        count = 0
        for i in range(keys.shape[0]):
            count += keys[i] >= probe
        return count

    @njit(nogil=True, cache=True, boundscheck=False)
    def _abs_topk_range(x, k, y, mask, r0, r1):  # pragma: no cover - compiled
        n = x.shape[1]
        bits = x.view(np.int32)
        keys = np.empty(n, np.int32)
        for r in range(r0, r1):
            row = bits[r]
            top = 0
            for i in range(n):
                v = row[i] & _ABS
                keys[i] = v
                top = max(top, v)
            # Invariant: count(keys >= lo) >= k > count(keys >= hi). Start lo at top / 8 (three
            # binades down), which nearly always holds k entries and saves ~5 probes; else at the
            # smallest nonzero key; with at most k nonzeros (sparse embeddings, ReLU) the answer
            # is all of them plus the first zeros (lo = 0, no search).
            hi = top + 1
            lo = max(1, top - (3 << 23))
            cnt = _count_at_least(keys, lo)
            if cnt < k:
                lo = 1
                cnt = _count_at_least(keys, lo)
                if cnt <= k:
                    lo = 0
            cut = -1  # a probe with exactly k keys at or above it
            if lo > 0 and cnt == k:
                cut = lo
            while cut < 0 and lo > 0 and hi - lo > 1:
                mid = lo + ((hi - lo) >> 1)
                cnt = _count_at_least(keys, mid)
                if cnt == k:
                    cut = mid
                elif cnt > k:
                    lo = mid
                else:
                    hi = mid
            xr = x[r]
            yr = y[r]
            mr = mask[r]
            if cut >= 0:
                for i in range(n):
                    keep = keys[i] >= cut
                    mr[i] = keep
                    yr[i] = xr[i] if keep else 0.0
            else:  # lo is the k-th largest key and ties straddle it: keep the first ones
                above = 0
                for i in range(n):
                    above += keys[i] > lo
                ties = k - above
                for i in range(n):
                    keep = keys[i] > lo
                    if keys[i] == lo and ties > 0:
                        keep = True
                        ties -= 1
                    mr[i] = keep
                    yr[i] = xr[i] if keep else 0.0

    @njit(parallel=True, cache=True, boundscheck=False)
    def _abs_topk_parallel(x, k, y, mask, parts):  # pragma: no cover - compiled
        rows = x.shape[0]
        for c in prange(parts):
            _abs_topk_range(x, k, y, mask, rows * c // parts, rows * (c + 1) // parts)

    @njit(nogil=True, cache=True, boundscheck=False)
    def _keys_range(w, keys, cols, j, r0, r1):  # pragma: no cover - compiled
        """keys = |w| bit patterns for rows r0..r1, each row's j largest raised to +inf (the first
        index wins a tie, as argmax does)."""
        top_val = np.empty(j + 1, np.int32)  # the row's j largest so far, descending
        top_at = np.empty(j + 1, np.int64)
        for r in range(r0, r1):
            row_w = w[r * cols : (r + 1) * cols]
            row = keys[r * cols : (r + 1) * cols]
            filled = 0
            for i in range(cols):
                v = row_w[i] & _ABS
                row[i] = v
                if filled < j or v > top_val[j - 1]:  # strictly: an earlier equal key stays
                    p = min(filled, j - 1)
                    while p > 0 and top_val[p - 1] < v:
                        top_val[p] = top_val[p - 1]
                        top_at[p] = top_at[p - 1]
                        p -= 1
                    top_val[p] = v
                    top_at[p] = i
                    filled = min(filled + 1, j)
            for q in range(filled):
                row[top_at[q]] = _INF

    @njit(nogil=True, cache=True, boundscheck=False)
    def _histogram(keys, hist):  # pragma: no cover - compiled
        for i in range(keys.shape[0]):
            hist[keys[i] >> _HI_SHIFT] += 1

    @njit(nogil=True, cache=True, boundscheck=False)
    def _kth_largest(keys, hist, k):  # pragma: no cover - compiled
        """The k-th largest key: the bucket that holds it from the histogram of the keys' top
        bits, then an exact selection among that bucket's keys."""
        above = 0
        bucket = hist.shape[0] - 1
        while above + hist[bucket] < k:
            above += hist[bucket]
            bucket -= 1
        cand = np.empty(hist[bucket], np.int32)
        m = 0
        for i in range(keys.shape[0]):
            if (keys[i] >> _HI_SHIFT) == bucket:
                cand[m] = keys[i]
                m += 1
        cand.sort()
        return cand[m - (k - above)]

    @njit(nogil=True, cache=True, boundscheck=False)
    def _zero_below(w, keys, cut):  # pragma: no cover - compiled
        for i in range(w.shape[0]):  # zero-based, so that LLVM vectorises it
            w[i] = w[i] if keys[i] >= cut else np.float32(0)

    @njit(nogil=True, cache=True, boundscheck=False)
    def _project_serial(w, cols, j, k, keys, hist):  # pragma: no cover - compiled
        n = w.shape[0]
        _keys_range(w.view(np.int32), keys, cols, j, 0, n // cols)
        if n <= _SORT_MAX:
            cut = np.sort(keys)[n - k]
        else:
            hist[:] = 0
            _histogram(keys, hist)
            cut = _kth_largest(keys, hist, k)
        _zero_below(w, keys, cut)

    @njit(parallel=True, cache=True, boundscheck=False)
    def _project_parallel(w, cols, j, k, keys, hists):  # pragma: no cover - compiled
        n = w.shape[0]
        rows = n // cols
        parts = hists.shape[0]
        for c in prange(parts):
            r0, r1 = rows * c // parts, rows * (c + 1) // parts
            _keys_range(w.view(np.int32), keys, cols, j, r0, r1)
            hists[c][:] = 0
            _histogram(keys[r0 * cols : r1 * cols], hists[c])
        for c in range(1, parts):
            hists[0] += hists[c]
        cut = _kth_largest(keys, hists[0], k)
        for c in prange(parts):
            i0, i1 = n * c // parts, n * (c + 1) // parts
            _zero_below(w[i0:i1], keys[i0:i1], cut)


class _Scratch(threading.local):
    """Work buffers of the projection, reused across calls: a fresh allocation this large is
    mapped by the OS page by page on first touch (measured ~0.3 ms per MB here)."""

    def __init__(self) -> None:
        self.keys = np.empty(0, np.int32)
        self.hists = np.empty((0, _NBINS), np.int64)

    def get(self, n: int, parts: int) -> tuple[np.ndarray, np.ndarray]:
        if self.keys.shape[0] < n:
            self.keys = np.empty(n, np.int32)
        if self.hists.shape[0] < parts:
            self.hists = np.empty((parts, _NBINS), np.int64)
        return self.keys[:n], self.hists[:parts]


_scratch = _Scratch()


def abs_topk_rows(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(y, mask): x with all but the k largest |x| of each last-dim vector zeroed, and the kept
    mask as uint8. `x` must pass `usable`; 0 < k < x.shape[-1]."""
    flat = x.detach().reshape(-1, x.shape[-1])
    y = torch.empty_like(flat)
    mask = torch.empty(flat.shape, dtype=torch.uint8)
    args = (flat.numpy(), k, y.numpy(), mask.numpy())
    parts = _threads(flat.numel())
    if parts == 1:
        _abs_topk_range(*args, 0, flat.shape[0])
    else:
        _abs_topk_parallel(*args, parts)
    return y.view(x.shape), mask.view(x.shape)


def project_(weight: torch.Tensor, k: int, min_row_nonzeros: int) -> None:
    """In place: keep the entries of `weight` whose |w| is at least the k-th largest, after each
    row's top `min_row_nonzeros` (2-D only) were raised to +inf. `weight` must pass `usable`."""
    w = weight.detach()
    cols = w.shape[1] if w.dim() == 2 else w.numel()
    j = min(min_row_nonzeros, cols) if w.dim() == 2 else 0
    flat = w.view(-1).numpy()
    parts = min(_threads(flat.shape[0]), flat.shape[0] // cols)
    keys, hists = _scratch.get(flat.shape[0], parts)
    if parts == 1:
        _project_serial(flat, cols, j, k, keys, hists[0])
    else:
        _project_parallel(flat, cols, j, k, keys, hists)
