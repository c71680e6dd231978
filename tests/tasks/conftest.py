"""Shared fixtures for the task tests: one real BPE tokenizer per session, trained on Python code."""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path

import pytest
import torch

from sparsecircuits.tasks import get_task, task_names
from sparsecircuits.tasks.base import _NAME_CANDIDATES, GenContext
from sparsecircuits.tasks.context import preamble

torch.set_num_threads(1)

STDLIB_FILES = ["argparse.py", "textwrap.py", "shutil.py", "json/encoder.py", "functools.py"]


def training_texts() -> list[str]:
    """A few hundred KB of Python: stdlib modules plus completed task prompts."""
    lib = Path(sysconfig.get_paths()["stdlib"])
    texts = [(lib / f).read_text(encoding="utf-8") for f in STDLIB_FILES if (lib / f).is_file()]
    rng = random.Random(1234)
    for name in task_names():
        task = get_task(name)
        for v in task.variants:
            ctx = GenContext(v.key, list(_NAME_CANDIDATES), list(_NAME_CANDIDATES))
            for _ in range(60):
                d = task.generate(rng, ctx)
                if d is None:
                    continue
                pre = preamble(rng, rng.randrange(400))
                texts.append(pre + d.core_pos + d.cont_pos)
                texts.append(pre + d.core_neg + d.cont_neg)
    return texts


@pytest.fixture(scope="session")
def tokenizer():
    """A byte-level BPE of vocabulary 2048 trained on Python code (cached per session)."""
    from sparsecircuits.corpus.tokenizer import Tokenizer

    return Tokenizer.train(training_texts(), vocab_size=2048)
