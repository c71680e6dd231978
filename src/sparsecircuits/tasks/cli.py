"""`sparsecircuits tasks list|show|eval|export`: browse the task suite, score a run, write task files."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from sparsecircuits.cli_types import pair_count, positive_int
from sparsecircuits.errors import UserError

if TYPE_CHECKING:
    from sparsecircuits.corpus.tokenizer import Tokenizer

TASK_HELP = "a task name (NAME__shuffled for its label-shuffled control) or a .jsonl task file"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `tasks` command and its sub-commands."""
    p = subparsers.add_parser("tasks", help="list, show and evaluate the next-token tasks")
    sub = p.add_subparsers(dest="tasks_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: p.print_help() or 2)

    ls = sub.add_parser("list", help="the twenty tasks: name, description, classes")
    ls.add_argument(
        "--tokenizer", help="also show the token pair each task uses with this tokenizer"
    )
    ls.set_defaults(func=cmd_list)

    sh = sub.add_parser("show", help="print a few pairs of one task")
    sh.add_argument("name", help=TASK_HELP)
    sh.add_argument("--n", type=pair_count, default=5, help="number of pairs (default 5)")
    sh.add_argument("--seed", type=int, default=0, help="which pairs (default 0)")
    sh.add_argument("--split", choices=["train", "heldout"], default="heldout")
    sh.add_argument(
        "--max-len",
        type=positive_int,
        default=None,
        help="longest prompt in tokens (default 32, as pruning)",
    )
    sh.add_argument("--json", action="store_true", help="one JSON object per pair")
    src = sh.add_mutually_exclusive_group(required=True)
    src.add_argument("--tokenizer", help="a tokenizer.json or a folder holding one")
    src.add_argument("--run", help="a run folder (its tokenizer is used)")
    sh.set_defaults(func=cmd_show)

    ev = sub.add_parser("eval", help="held-out task loss and accuracy of a run")
    ev.add_argument("run", help="a run folder")
    ev.add_argument(
        "--task", action="append", help=f"{TASK_HELP} (repeatable; default: all twenty)"
    )
    ev.add_argument(
        "--n", type=pair_count, default=512, help="held-out pairs per task (default 512)"
    )
    ev.add_argument("--seed", type=int, default=0, help="which pairs (default 0)")
    ev.add_argument("--batch-size", type=positive_int, default=64, help="pairs per forward pass")
    ev.add_argument(
        "--max-len",
        type=positive_int,
        default=None,
        help="longest prompt in tokens (default 32, the length pruning uses, so the losses are pruning's)",
    )
    ev.add_argument("--device", default="cpu", help="torch device (default cpu)")
    ev.add_argument("--json", action="store_true", help="one JSON object per task, then the mean")
    ev.set_defaults(func=cmd_eval)

    ex = sub.add_parser(
        "export",
        help="write a built-in task as a .jsonl task file (a start for your own)",
        description="Write N pairs of a task, a quarter of them held out, as a task file that every "
        "command accepts in place of a task name (format: docs/architecture.md, tasks).",
    )
    ex.add_argument("name", help=TASK_HELP)
    ex.add_argument("--n", type=pair_count, default=512, help="pairs in all (default 512)")
    ex.add_argument(
        "--out", required=True, type=Path, help="the .jsonl file to write (must not exist)"
    )
    ex.add_argument("--seed", type=int, default=0, help="which pairs (default 0)")
    ex.add_argument(
        "--max-len", type=positive_int, default=None, help="longest prompt in tokens (default 32)"
    )
    tsrc = ex.add_mutually_exclusive_group(required=True)
    tsrc.add_argument("--tokenizer", help="a tokenizer.json or a folder holding one")
    tsrc.add_argument("--run", help="a run folder (its tokenizer is used)")
    ex.set_defaults(func=cmd_export)

    fc = sub.add_parser(
        "from-code",
        help="cut a string-closing task from real Python files (no generator involved)",
        description="Find one-line '...' and \"...\" literals in Python files with Python's own "
        "tokenizer, cut each just before its closing quote, and pair single- with double-quoted "
        "ones that close the same way: a .jsonl task file of real code.",
    )
    fc.add_argument("source", nargs="+", help="Python files or folders (e.g. an installed package)")
    fc.add_argument(
        "--out", required=True, type=Path, help="the .jsonl file to write (must not exist)"
    )
    fc.add_argument("--n", type=pair_count, default=512, help="pairs at most (default 512)")
    fc.add_argument("--seed", type=int, default=0, help="which pairs (default 0)")
    fsrc = fc.add_mutually_exclusive_group(required=True)
    fsrc.add_argument("--tokenizer", help="a tokenizer.json or a folder holding one")
    fsrc.add_argument("--run", help="a run folder (its tokenizer is used)")
    fc.set_defaults(func=cmd_from_code)


def _load_tokenizer(path: str) -> Tokenizer:
    from sparsecircuits.corpus.tokenizer import Tokenizer

    return Tokenizer.load(path)


def cmd_list(args: argparse.Namespace) -> int:
    """Print every task with its description and classes."""
    from sparsecircuits.tasks import get_task, task_names

    tok = _load_tokenizer(args.tokenizer) if args.tokenizer else None
    for name in task_names():
        t = get_task(name)
        print(f"{name}\n    {t.description}\n    A: {t.class_pos}\n    B: {t.class_neg}")
        if tok is not None:
            try:
                print(f"    tokens: {t.token_pair(tok)}")
            except UserError as e:
                print(f"    tokens: not expressible ({e})")
    print("\nEach NAME__shuffled is the same task with labels assigned at random (a control).")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print `--n` pairs of a task, readable or as JSON lines."""
    from sparsecircuits.tasks import get_task
    from sparsecircuits.tasks.base import PROMPT_LEN
    from sparsecircuits.tasks.files import pair_texts

    task = get_task(args.name)
    tok = _load_tokenizer(args.tokenizer or args.run)
    max_len = args.max_len or PROMPT_LEN
    examples = task.examples(tok, args.n, split=args.split, seed=args.seed, max_len=max_len)
    if not args.json:
        print(f"{task.name}: {task.description}")
        print(f"A = {task.class_pos}; B = {task.class_neg}; tokens: {task.token_pair(tok)}\n")
    for i, e in enumerate(examples):
        p = e.pair
        rec = pair_texts(tok, p)
        if args.json:
            print(json.dumps(rec))
            continue
        print(f"--- pair {i} ({len(p.prompt_pos)} / {len(p.prompt_neg)} tokens)")
        for side, prompt, target in (
            ("A", rec["prompt_pos"], rec["target_pos"]),
            ("B", rec["prompt_neg"], rec["target_neg"]),
        ):
            last = prompt.split("\n")[-3:]
            print(f"  {side}: ...{chr(10).join(last)!r}  => {target!r}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Print held-out task loss and accuracy per task and their mean."""
    from sparsecircuits.core.data import prompt_length
    from sparsecircuits.core.evaluate import evaluate_task
    from sparsecircuits.tasks import get_task, task_names
    from sparsecircuits.train import load_run

    names = args.task or task_names()
    tasks = [get_task(n) for n in names]  # unknown names fail before the model loads
    run = load_run(args.run, device=args.device)
    rows = []
    for task in tasks:
        res = evaluate_task(
            run.model,
            task,
            run.tokenizer,
            n=args.n,
            split="heldout",
            seed=args.seed,
            batch_size=args.batch_size,
            max_len=args.max_len,
            progress=True,
        )
        row = {
            "task": task.name,
            "loss": res["loss"],
            "accuracy": res["accuracy"],
            "n_pairs": res["n_pairs"],
        }
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)
    mean = {
        "task": "mean",
        "loss": sum(r["loss"] for r in rows) / len(rows),
        "accuracy": sum(r["accuracy"] for r in rows) / len(rows),
        "n_pairs": sum(r["n_pairs"] for r in rows),
    }
    if args.json:
        print(json.dumps(mean))
        return 0
    width = max(len(r["task"]) for r in [*rows, mean])
    length = prompt_length(run.model, args.max_len)
    print(
        f"{'task':<{width}}  {'loss':>7}  {'acc':>6}  (held-out, {args.n} pairs each, prompts of "
        f"at most {length} tokens; chance loss {math.log(2):.3f})"
    )
    for r in [*rows, mean]:
        if r is mean:
            print("-" * (width + 17))
        print(f"{r['task']:<{width}}  {r['loss']:7.4f}  {r['accuracy']:6.3f}")
    return 0


def _new_task_file(out: Path) -> Path:
    """`out` if it can be a new task file; else UserError."""
    from sparsecircuits.tasks.files import TASK_FILE_SUFFIX

    if out.suffix != TASK_FILE_SUFFIX:
        raise UserError(
            f"--out {out} must end in {TASK_FILE_SUFFIX}, so that commands read it as a task file."
        )
    if out.exists():
        raise UserError(f"--out {out} already exists; choose a new file name or delete it.")
    return out


def cmd_export(args: argparse.Namespace) -> int:
    """Write a task's pairs as a task file."""
    from sparsecircuits.fileio import atomic_write_text
    from sparsecircuits.tasks import get_task
    from sparsecircuits.tasks.base import PROMPT_LEN
    from sparsecircuits.tasks.files import export_lines

    out = _new_task_file(args.out)
    task = get_task(args.name)
    tok = _load_tokenizer(args.tokenizer or args.run)
    lines = export_lines(task, tok, args.n, args.seed, args.max_len or PROMPT_LEN)
    atomic_write_text(out, "\n".join(lines) + "\n")
    print(f"wrote {len(lines) - 1} pairs of {task.name} to {out}")
    return 0


def cmd_from_code(args: argparse.Namespace) -> int:
    """Write a string-closing task cut from real Python files."""
    from sparsecircuits.fileio import atomic_write_text
    from sparsecircuits.tasks.from_code import python_files, quote_task_lines

    out = _new_task_file(args.out)
    files = python_files(args.source)
    tok = _load_tokenizer(args.tokenizer or args.run)
    lines = quote_task_lines(files, tok, args.n, seed=args.seed)
    atomic_write_text(out, "\n".join(lines) + "\n")
    print(f"wrote {len(lines) - 1} string-closing pairs cut from {len(files)} files to {out}")
    return 0
