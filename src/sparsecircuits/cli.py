"""The `sparsecircuits` command: one sub-command per pipeline stage.

Each stage module `sparsecircuits.<stage>.cli` has `register(subparsers)`, which adds its
sub-command(s) and sets `func` on them. Handlers import heavy modules (torch) lazily so that
`sparsecircuits --help` and `--version` stay instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from sparsecircuits import __version__
from sparsecircuits.errors import UserError

# In pipeline order; a stage without a cli module yet is skipped.
STAGES = ["corpus", "train", "tasks", "prune", "validate", "report", "sweep", "demo", "interop"]


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
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point: parse, dispatch, and turn UserError into one line and exit code 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        sys.exit(2)
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
