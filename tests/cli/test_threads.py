"""--threads: on every command, with a default that does not oversubscribe a busy machine."""

from __future__ import annotations

import os
import subprocess
import sys

from sparsecircuits.cli import build_parser, choose_threads


def test_every_command_takes_threads():
    parser = build_parser()
    for argv in (
        ["prune", "r", "--task", "x", "--out", "o"],
        ["import", "openai", "s", "--out", "o"],
        ["validate", "c.json"],
    ):
        assert parser.parse_args([*argv, "--threads", "3"]).threads == 3


def test_default_threads(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert choose_threads("prune", None) == 1
    assert choose_threads("validate", None) == 1
    assert choose_threads("train", None) == choose_threads("demo", None) == (os.cpu_count() or 1)
    assert choose_threads("prune", 2) == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert choose_threads("prune", None) == 2


def test_bad_threads_is_one_line():
    r = subprocess.run(
        [sys.executable, "-m", "sparsecircuits", "tasks", "list", "--threads", "0"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "--threads" in r.stderr and len(r.stderr.strip().splitlines()) == 1
