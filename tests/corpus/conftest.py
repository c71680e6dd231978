"""Shared fixtures for corpus tests: one thread, tiny corpora written in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from corpus_helpers import tiny_texts

torch.set_num_threads(1)


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    """A folder of small .py files (plus one non-.py file)."""
    d = tmp_path / "src"
    (d / "pkg").mkdir(parents=True)
    for i, t in enumerate(tiny_texts()):
        (d / ("pkg" if i % 2 else "") / f"m{i}.py").write_text(t)
    (d / "notes.txt").write_text("not python\n")
    return d
