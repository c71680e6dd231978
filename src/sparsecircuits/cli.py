"""The `sparsecircuits` command: one sub-command per pipeline stage.

Each stage module `sparsecircuits.<stage>.cli` has `register(subparsers)`, which adds its
sub-command(s) and sets `func` on them. Handlers import heavy modules (torch) lazily so that
`sparsecircuits --help` and `--version` stay instant.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from sparsecircuits import __version__
from sparsecircuits.cli_types import positive_int
from sparsecircuits.errors import UserError
from sparsecircuits.memory import reuse_freed_memory

# Commands whose work is large matrix products (and the demo, run on a machine of its own) use
# every core by default; the rest (circuit work on small models: many short forward passes)
# use one thread, which does not collapse when other processes are busy on the cores
# (zoo-sparse, one task on 2 cores: 54 s on one thread and 34 s on two when idle, 136 s and
# 213 s when busy; benchmarks/results/threads.json).
ALL_CORES_COMMANDS = ("train", "sweep", "demo")
STAGES = [
    "corpus",
    "train",
    "tasks",
    "prune",
    "validate",
    "report",
    "sweep",
    "demo",
    "interop",
    "bridge",
]


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument ends in one line (no usage block) and exit code 2, like every other mistake."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {self.prog}: {message}; see `{self.prog} --help`.", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every stage's sub-commands."""
    parser = Parser(
        prog="sparsecircuits",
        description="Train weight-sparse transformers on Python code; extract, view and validate circuits.",
    )
    parser.add_argument("--version", action="version", version=f"sparsecircuits {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for stage in STAGES:
        try:
            module = importlib.import_module(f"sparsecircuits.{stage}.cli")
        except ModuleNotFoundError as e:
            if e.name == f"sparsecircuits.{stage}.cli" or e.name == f"sparsecircuits.{stage}":
                continue
            raise
        module.register(sub)
    _add_common_options(parser)
    return parser


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    """Give every sub-command (nested ones included) the same --threads and --sparse-exec."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                if not any("--threads" in a.option_strings for a in sub._actions):
                    sub.add_argument(
                        "--threads",
                        type=positive_int,
                        default=None,
                        help="CPU threads (default: all cores for train, sweep and demo, 1 for the rest; "
                        "or $OMP_NUM_THREADS)",
                    )
                    sub.add_argument(
                        "--sparse-exec",
                        choices=("auto", "on", "off"),
                        default=None,
                        help="run a loaded model's sparse matrices from compressed copies: auto "
                        "(default; those under 1/16 nonzero), on, off (docs/sparse-exec.md; or "
                        "$SPARSECIRCUITS_SPARSE_EXEC). Training always runs dense.",
                    )
                _add_common_options(sub)


def choose_threads(command: str | None, given: int | None) -> int:
    """The thread count of a command: --threads, else $OMP_NUM_THREADS, else the command's default."""
    if given:
        return given
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return (os.cpu_count() or 1) if command in ALL_CORES_COMMANDS else 1


def threads_label() -> str:
    """'1 thread' or 'N threads': torch's thread count, for progress lines."""
    import torch

    n = torch.get_num_threads()
    return f"{n} thread" + ("s" if n != 1 else "")


def _apply_threads(n: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(n)  # read by torch at import and by our C kernels
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


def main(argv: list[str] | None = None) -> None:
    """Entry point: parse, dispatch, and turn UserError into one line and exit code 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        sys.exit(2)
    # a nested command may count as another for its default (`bridge train` as `train`)
    command = getattr(args, "threads_as", None) or args.command
    _apply_threads(choose_threads(command, getattr(args, "threads", None)))
    reuse_freed_memory()
    if getattr(args, "sparse_exec", None):  # the environment: sweep and DDP workers inherit it
        os.environ["SPARSECIRCUITS_SPARSE_EXEC"] = args.sparse_exec
    try:
        code = args.func(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(
            "interrupted; finished work is kept, run the same command again to resume",
            file=sys.stderr,
        )
        sys.exit(130)
    sys.exit(code or 0)
