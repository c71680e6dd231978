"""Benchmark: the share of held-out pairs whose deciding context lies outside the prompt crop.

Pruning's prompts are the last 32 tokens. A pair counts as outside when the label rules of
`tests/tasks/test_labels.py` (written from the task definitions, independent of the generators)
no longer decide its label from the decoded cropped prompts (`decidable` there).

    .venv/bin/python benchmarks/deciding_context.py data/code/tokenizer.json
    # before the generators kept it (at 6b7765a):
    git worktree add /tmp/before 6b7765a
    PYTHONPATH=/tmp/before/src .venv/bin/python benchmarks/deciding_context.py data/code/tokenizer.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import sparsecircuits
from sparsecircuits.corpus.tokenizer import Tokenizer
from sparsecircuits.fileio import atomic_write_json
from sparsecircuits.tasks import get_task, task_names
from sparsecircuits.tasks.base import PROMPT_LEN, Pair

LABELS = Path(__file__).resolve().parent.parent / "tests" / "tasks" / "test_labels.py"


def load_decidable() -> Callable[[str, Tokenizer, Pair], bool]:
    """`decidable(name, tokenizer, pair)` of the label tests."""
    spec = importlib.util.spec_from_file_location("test_labels", LABELS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.decidable


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tokenizer", type=Path)
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/deciding_context.json"))
    args = ap.parse_args()
    tok = Tokenizer.load(args.tokenizer)
    decidable = load_decidable()
    # the commit of the task generators measured (a worktree of another commit may be on PYTHONPATH)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=Path(sparsecircuits.__file__).parent,
    ).stdout.strip()
    shares = {}
    for name in task_names():
        pairs = get_task(name).pairs(tok, args.pairs, "heldout", seed=0, max_len=PROMPT_LEN)
        bad = sum(not decidable(name, tok, p) for p in pairs)
        shares[name] = round(bad / len(pairs), 4)
        print(f"{name:28s} {shares[name]:.2%} of {len(pairs)} pairs outside the crop", flush=True)
    record = json.loads(args.out.read_text()) if args.out.is_file() else {"runs": []}
    record["benchmark"] = "deciding_context"
    record["command"] = f"python benchmarks/deciding_context.py {args.tokenizer}"
    record["runs"] = [r for r in record["runs"] if r["commit"] != commit]
    record["runs"].append(
        {
            "commit": commit,
            "pairs_per_task": args.pairs,
            "prompt_tokens": PROMPT_LEN,
            "share_outside": shares,
        }
    )
    atomic_write_json(args.out, record)


if __name__ == "__main__":
    main()
