"""Contamination of a corpus by the tasks: how often a held-out prompt occurs verbatim in training.

Per task, the share of held-out pairs (pruning's prompt length) whose positive or negative
prompt ends in WINDOW tokens that occur verbatim somewhere in the corpus's training shards. A
share near 0 means the model cannot have memorised the task's prompts (`corpus info
--contamination` prints the table; docs/corpus.md has the zoo's). The n-grams are compared by a
64-bit polynomial hash of their tokens (sorted once, then binary-searched), so a collision could
only raise a share.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sparsecircuits import fileio
from sparsecircuits.corpus import TokenData, Tokenizer
from sparsecircuits.errors import UserError
from sparsecircuits.tasks.base import PROMPT_LEN
from sparsecircuits.tasks.registry import get_task, task_names

WINDOW = 16  # tokens at the end of a prompt that must match verbatim
PAIRS = 256  # held-out pairs per task (seed 0)
CACHE_FILE = "contamination.json"
_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier of the rolling hash


@dataclass(frozen=True)
class TaskContamination:
    """One task's row: pairs checked and how many had a prompt ending found in the training shards."""

    task: str
    pairs: int
    contaminated: int

    @property
    def share(self) -> float:
        return self.contaminated / max(self.pairs, 1)


def _ngram_hashes(tokens: np.ndarray, window: int) -> np.ndarray:
    """Hashes of every length-`window` run of `tokens` (uint64, wrapping arithmetic)."""
    t = tokens.astype(np.uint64) + np.uint64(1)  # token 0 must still move the hash
    n = len(t) - window + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(window):
            h = h * _MULT + t[j : j + n]
    return h


def training_hashes(corpus_dir: Path, window: int = WINDOW) -> np.ndarray:
    """Sorted hashes of every `window`-gram of the corpus's training split."""
    data = TokenData(corpus_dir, "train")
    hashes = _ngram_hashes(np.asarray(data.tokens(0, data.n_tokens)), window)
    hashes.sort()
    return hashes


def measure(
    corpus_dir: Path,
    pairs: int = PAIRS,
    prompt_len: int = PROMPT_LEN,
    window: int = WINDOW,
    tasks: list[str] | None = None,
) -> list[TaskContamination]:
    """The contamination row of each task (default all twenty) for the corpus in `corpus_dir`; a
    task the tokenizer cannot express gets a row of 0 pairs."""
    tokenizer = Tokenizer.load(corpus_dir / "tokenizer.json")
    table = training_hashes(corpus_dir, window)
    rows = []
    for name in tasks or task_names():
        try:
            task_pairs = get_task(name).pairs(tokenizer, pairs, "heldout", 0, prompt_len)
        except UserError:
            rows.append(TaskContamination(name, 0, 0))
            continue
        hit = 0
        for p in task_pairs:
            ends = [q[-window:] for q in (p.prompt_pos, p.prompt_neg) if len(q) >= window]
            if not ends:
                continue
            h = np.concatenate([_ngram_hashes(np.array(e, dtype=np.uint64), window) for e in ends])
            pos = np.searchsorted(table, h).clip(max=len(table) - 1)
            hit += bool(len(table) and (table[pos] == h).any())
        rows.append(TaskContamination(name, len(task_pairs), hit))
    return rows


def cached(corpus_dir: Path, compute: bool) -> list[TaskContamination] | None:
    """The table stored beside the corpus (`contamination.json`), computing it first if asked."""
    path = corpus_dir / CACHE_FILE
    tok_hash = Tokenizer.load(corpus_dir / "tokenizer.json").content_hash()
    key = {"window": WINDOW, "pairs": PAIRS, "prompt_len": PROMPT_LEN, "tokenizer": tok_hash}
    if path.is_file():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            if stored.get("key") == key:
                return [TaskContamination(**r) for r in stored["rows"]]
        except (ValueError, TypeError, KeyError, AttributeError):
            pass  # a damaged or foreign file is a stale cache: measured again when asked
    if not compute:
        return None
    rows = measure(corpus_dir)
    try:
        fileio.atomic_write_json(path, {"key": key, "rows": [asdict(r) for r in rows]})
    except OSError as e:
        raise UserError(
            f"cannot store the contamination table beside the corpus ({path}: {e.strerror}); "
            "make the corpus folder writable or copy it somewhere writable."
        ) from None
    return rows


def format_table(rows: list[TaskContamination]) -> str:
    """The table as text: one line per task and the largest share."""
    lines = [f"contamination: held-out pairs whose last {WINDOW} prompt tokens occur in train"]
    lines += [
        f"  {r.task:<28} {r.contaminated:>4}/{r.pairs:<4} {100 * r.share:5.1f}%"
        if r.pairs
        else f"  {r.task:<28} n/a (the tokenizer cannot express the task)"
        for r in rows
    ]
    worst = max(rows, key=lambda r: r.share)
    lines.append(f"  largest: {worst.task} {100 * worst.share:.1f}%")
    return "\n".join(lines)
