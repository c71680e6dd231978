"""Argument types shared by every sub-command: a bad number is refused by argparse, in one line."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

MAX_PAIRS = 100_000  # more task pairs than this is a typo, not a request (10k take minutes)


def int_in(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in [lo, hi]."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if n < lo or (hi is not None and n > hi):
            span = f"at least {lo}" if hi is None else f"between {lo} and {hi}"
            raise argparse.ArgumentTypeError(f"must be {span}, not {n}")
        return n

    return parse


def float_in(lo: float, hi: float = math.inf, open_lo: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite float in [lo, hi] (or (lo, hi] with `open_lo`)."""

    def parse(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(x) or x > hi or x < lo or (open_lo and x == lo):
            side = ">" if open_lo else ">="
            raise argparse.ArgumentTypeError(f"must be a finite number {side} {lo:g}, not {text}")
        return x

    return parse


positive_int = int_in(1)
pair_count = int_in(1, MAX_PAIRS)
