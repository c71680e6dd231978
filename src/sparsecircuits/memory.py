"""Process memory: make glibc keep freed memory for reuse instead of returning it to the OS."""

from __future__ import annotations

import ctypes

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


def reuse_freed_memory() -> None:
    """Make glibc keep freed large blocks in the heap for reuse (a no-op without glibc).

    By default glibc returns every block above its mmap threshold (at most 32 MB) to the OS on
    free, and the next step maps it again, zero-filled one 4 KB page fault at a time. For CPU
    training at the paper-1x shape a dense step took 17.9 s with 2.2M page faults; with both
    thresholds raised, 11.0 s and none (benchmarks/bench_train_step.py, --malloc-defaults and
    not). Passes over frozen models allocate the same large temporaries, so the CLI calls this
    for every command. The cost: the process keeps its peak memory until it exits.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 1 << 30)
        libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
    except (OSError, AttributeError):  # not glibc (macOS, musl): their allocators differ anyway
        pass
