"""`sparsecircuits tasks list|show|eval`: browse the task suite and score a run on it."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from sparsecircuits.errors import UserError


def register(subparsers: Any) -> None:
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
    sh.add_argument("name", help="task name (NAME__shuffled for the label-shuffled control)")
    sh.add_argument("--n", type=int, default=5, help="number of pairs (default 5)")
    sh.add_argument("--seed", type=int, default=0)
    sh.add_argument("--split", choices=["train", "heldout"], default="heldout")
    sh.add_argument("--max-len", type=int, default=256, help="context length in tokens")
    sh.add_argument("--json", action="store_true", help="one JSON object per pair")
    src = sh.add_mutually_exclusive_group(required=True)
    src.add_argument("--tokenizer", help="a tokenizer.json or a folder holding one")
    src.add_argument("--run", help="a run folder (its tokenizer is used)")
    sh.set_defaults(func=cmd_show)

    ev = sub.add_parser("eval", help="held-out task loss and accuracy of a run")
    ev.add_argument("run", help="a run folder")
    ev.add_argument("--task", action="append", help="task name (repeatable; default: all twenty)")
    ev.add_argument("--n", type=int, default=512, help="held-out pairs per task (default 512)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--batch-size", type=int, default=64, help="pairs per forward pass")
    ev.add_argument("--device", default="cpu")
    ev.add_argument("--json", action="store_true", help="one JSON object per task, then the mean")
    ev.set_defaults(func=cmd_eval)


def _load_tokenizer(path: str) -> Any:
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

    if args.n < 1:
        raise UserError(f"--n must be at least 1, not {args.n}.")
    task = get_task(args.name)
    tok = _load_tokenizer(args.tokenizer or args.run)
    examples = task.examples(tok, args.n, split=args.split, seed=args.seed, max_len=args.max_len)
    if not args.json:
        print(f"{task.name}: {task.description}")
        print(f"A = {task.class_pos}; B = {task.class_neg}; tokens: {task.token_pair(tok)}\n")
    for i, e in enumerate(examples):
        p = e.pair
        rec = {
            "prompt_pos": tok.decode(p.prompt_pos),
            "prompt_neg": tok.decode(p.prompt_neg),
            "target_pos": tok.token_text(p.target_pos),
            "target_neg": tok.token_text(p.target_neg),
        }
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
    from sparsecircuits.tasks import evaluate_task, get_task, task_names
    from sparsecircuits.train import load_run

    if args.n < 1:
        raise UserError(f"--n must be at least 1, not {args.n}.")
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
    print(
        f"{'task':<{width}}  {'loss':>7}  {'acc':>6}  (held-out, {args.n} pairs each; chance loss {math.log(2):.3f})"
    )
    for r in [*rows, mean]:
        if r is mean:
            print("-" * (width + 17))
        print(f"{r['task']:<{width}}  {r['loss']:7.4f}  {r['accuracy']:6.3f}")
    return 0
