"""`sparsecircuits demo`: the whole pipeline on the embedded default (what `make demo` runs)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sparsecircuits.demo.pipeline import DemoOptions
from sparsecircuits.locks import locked


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `demo` sub-command."""
    p = subparsers.add_parser(
        "demo",
        help="run the whole pipeline on the stdlib corpus and the tiny-sparse model",
        description=(
            "Build the stdlib corpus, get the tiny-sparse model (bundled, or trained), prune "
            "three tasks it can do, validate the circuits and write report.html. Each stage "
            "reuses its finished output, so an interrupted demo resumes."
        ),
    )
    p.add_argument("--out", default="demo", help="folder for every output (default: demo/)")
    p.add_argument(
        "--task",
        dest="tasks",
        action="append",
        default=None,
        metavar="NAME",
        help="prune this task instead of the automatic choice (repeatable)",
    )
    p.add_argument(
        "--n-tasks",
        type=int,
        default=DemoOptions.n_tasks,
        help=f"how many tasks to prune (default {DemoOptions.n_tasks})",
    )
    p.add_argument(
        "--train", action="store_true", help="train tiny-sparse even if a bundled model exists"
    )
    p.add_argument(
        "--checks",
        default="sufficiency,necessity,stochastic",
        help="validation checks to run (default: the fast ones; 'all' adds binarisation and the controls)",
    )
    p.set_defaults(func=_demo)


@locked("out")
def _demo(args: argparse.Namespace) -> int:
    from sparsecircuits.demo.pipeline import run_demo

    run_demo(
        DemoOptions(
            out=Path(args.out),
            tasks=args.tasks,
            n_tasks=args.n_tasks,
            force_train=args.train,
            checks=args.checks,
        )
    )
    return 0
